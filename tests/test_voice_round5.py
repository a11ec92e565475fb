"""Voice, round 5: what a new rep with an empty book still gets right.

- a weekday, day part or contact verb the recogniser heard one syllable off is put back where the
  words around it leave no other reading, and left alone where they do;
- the recogniser's prompt for an empty book closes with a sentence in the memo genre, without
  digits or names, and a full book keeps its names instead;
- a rep whose own book is empty is prompted with the team's customers (prompt only: never another
  team's, and the correction and the card keep to the rep's own book).

Sentences are written for these tests, not taken from a corpus.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.extract import DEFAULT_TAGS
from bot.extract.when import SHANGHAI
from bot.handlers.voice_memo import on_transcript
from bot.transcribe.runner import TranscriptionRunner
from bot.understanding.book import BookEntry, load_book, load_team_prompt_book
from bot.understanding.heard import correct_heard_suffixes, correct_heard_titles, correct_spoken_dates
from bot.understanding.memo import correct_transcript, understand_memo
from bot.understanding.prompt import GENRE, PREFIX, build_prompt, utf8_upper_bound
from store.customers import create_customer
from store.db import session_scope
from store.models import Member
from tests.factories import T0, make_org
from tests.test_voice_pipeline import Voice, amr_head

REF = datetime(2026, 3, 9, 17, 30, tzinfo=SHANGHAI)  # a Monday
NOW = REF.astimezone(UTC)


# -- dates and contact verbs heard one syllable off ---------------------------------------------------


@pytest.mark.parametrize(("heard", "meant"), [
    ("中四上午去他们仓库看看", "周四上午去他们仓库看看"),  # zhong for zhou, before a day part
    ("明天剩五去一趟", "明天上午去一趟"),  # sheng (also read xing) is far closer to shang than to xia
    ("下周二下午再沟桶一下", "下周二下午再沟通一下"),  # an exact homophone after 再
    ("周五晚上八点回付他", "周五晚上八点回复他"),  # ... and after a clock time
    ("中一剩五回房", "周一上午回访"),  # each pass sees the one before
    ("欧天下午过去一趟", "后天下午过去一趟"),  # a day word heard one syllable off before a day part
    ("下周二上午再给他们切认", "下周二上午再给他们确认"),  # 再 + its person, one near syllable, no word
])
def test_a_date_or_contact_verb_heard_one_syllable_off_is_put_back(heard, meant):
    assert correct_spoken_dates(heard).text == meant


@pytest.mark.parametrize("said", [
    "中午下午都可以",  # 中午 is a word, not a misheard weekday
    "他们在中四路有个门店",  # no day part after it
    "周三向五点前给答复",  # xiang is as close to xia as to shang: left as heard
    "我们一起练习一下流程",  # 练习 with no 再 or time before it is practice
    "周三生物课",  # an ordinary word after a day
    "每天下午都在店里",  # 每天 is a word
    "下周再跟她沟通",  # the person after 再跟 is not a misheard verb (她 also reads jie, near 进)
    "我们再考虑一下",  # a verb after 再 that sounds like no contact verb
])
def test_words_that_only_sound_like_a_date_stay(said):
    assert correct_spoken_dates(said).text == said


def test_an_empty_book_memo_gets_its_next_contact():
    u = understand_memo("和客户公司的李经理谈了方案。中四下午再练习一次。", book=[], ref_time=REF, tz=SHANGHAI,
                        tag_rules=DEFAULT_TAGS)
    assert u.extraction.next_contact is not None and u.extraction.next_contact.date().isoformat() == "2026-03-12"
    fixes = [(f.original, f.corrected, f.kind) for f in u.fixes]
    assert fixes == [("中四", "周四", "time"), ("练习", "联系", "contact")]


def test_the_book_pass_still_runs_after_the_date_pass():
    book = [BookEntry("邵雯", "立信会计", 1)]
    fixed = correct_transcript("见了立信会计的邵文，中五剩五再见面", book)
    assert fixed.text == "见了立信会计的邵雯，周五上午再见面"


@pytest.mark.parametrize(("heard", "meant"), [
    ("上周去了德鑫化妆频的李经理那里", "上周去了德鑫化妆品的李经理那里"),
    ("拜访了远方无流，见了王总", "拜访了远方物流，见了王总"),
    ("和青山汝业的两位老板吃了饭", "和青山乳业的两位老板吃了饭"),
])
def test_a_trade_word_heard_as_a_homophone_after_a_brand_is_the_suffix(heard, meant):
    assert correct_heard_suffixes(heard).text == meant


@pytest.mark.parametrize("said", [
    "他们的事业的发展很快",  # 事业 is a word of its own
    "买了五斤的苹果",  # a quantity, not 五金
    "就是物流的问题",  # spelled right already
    "我说无流的",  # no brand before it
])
def test_words_that_only_sound_like_a_trade_stay(said):
    assert correct_heard_suffixes(said).text == said


def test_an_empty_book_memo_gets_the_company_with_its_trade_word_put_back():
    u = understand_memo("去了青山汝业的仓库，见了吕总。", book=[], ref_time=REF, tz=SHANGHAI, tag_rules=DEFAULT_TAGS)
    assert u.extraction.company == "青山乳业"


@pytest.mark.parametrize(("heard", "meant"), [
    ("约了苏明苏经历明天见", "约了苏明苏经理明天见"),  # full name, its surname again, the title
    ("仓库的邱主认说货到了", "仓库的邱主任说货到了"),  # 的 + surname + title
    ("见了范伟范殿长", "见了范伟范店长"),
])
def test_a_title_heard_as_a_homophone_after_a_surname_is_the_title(heard, meant):
    assert correct_heard_titles(heard).text == meant


@pytest.mark.parametrize("said", ["他的经历很丰富", "老王经历了很多事", "小组主认为可以"])
def test_a_word_that_only_sounds_like_a_title_stays(said):
    assert correct_heard_titles(said).text == said


def test_an_empty_book_memo_does_not_keep_the_repeated_surname_in_the_name():
    u = understand_memo("去了仓库，见了苏明苏经历。", book=[], ref_time=REF, tz=SHANGHAI, tag_rules=DEFAULT_TAGS)
    assert u.extraction.customer_name == "苏明"


# -- the prompt of an empty book --------------------------------------------------------------------


def test_an_empty_book_prompt_closes_with_the_genre_sentence_without_digits_or_names():
    prompt = build_prompt([], ["仓储管理系统"])
    assert prompt.text == PREFIX + "仓储管理系统。" + GENRE and prompt.genre
    assert not re.search(r"[0-9零〇一二三四五六七八九十百千万]", GENRE.replace("周四", ""))


def test_a_full_book_keeps_its_names_and_drops_the_genre_sentence():
    many = [BookEntry(f"客户{i:02d}", f"公司{i:02d}物流", 1) for i in range(60)]
    prompt = build_prompt(many, [], count_tokens=utf8_upper_bound)
    assert not prompt.genre and GENRE not in prompt.text and len(prompt.entries) > 0
    small = build_prompt(many[:2], [], count_tokens=utf8_upper_bound)
    assert small.genre and small.text.endswith(GENRE)


# -- the team's customers for a new rep's prompt -----------------------------------------------------


def test_a_new_rep_is_prompted_with_the_teams_customers_only(engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        colleague = s.get(Member, org.rep_a.id)
        recent = create_customer(session=s, actor=colleague, name="邵雯", company="立信会计", at=T0)
        recent.last_activity_at = NOW - timedelta(days=2)
        old = create_customer(session=s, actor=colleague, name="甘露", company="青禾农业", at=T0)
        old.last_activity_at = NOW - timedelta(days=200)
        create_customer(session=s, actor=s.get(Member, org.other_team_rep.id), name="蒲阳", company="蓝海货代", at=T0)
    with Session(engine) as s:
        new_rep = s.get(Member, org.rep_b.id)
        assert load_book(session=s, actor=new_rep, now=NOW, tz=SHANGHAI) == []  # the card's book stays empty
        team = load_team_prompt_book(session=s, actor=new_rep, now=NOW, tz=SHANGHAI)
    assert [(e.name, e.company) for e in team] == [("邵雯", "立信会计"), ("甘露", "青禾农业")]  # likeliest first


def test_an_inactive_member_gets_no_team_prompt(engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        create_customer(session=s, actor=s.get(Member, org.rep_a.id), name="邵雯", company="立信会计", at=T0)
        s.get(Member, org.rep_b.id).active = False
    with Session(engine) as s:
        assert load_team_prompt_book(session=s, actor=s.get(Member, org.rep_b.id), now=NOW, tz=SHANGHAI) == []


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "whisper-cache"  # the directory test_voice_asr.py uses


def test_the_runner_prompts_a_new_rep_with_the_team_and_a_rep_with_a_book_with_it(settings, engine, clock,
                                                                                   model_cache):
    settings.whisper_cache_dir = model_cache
    v = Voice(settings, engine, clock)
    with session_scope(engine) as s:
        create_customer(session=s, actor=s.get(Member, v.org.rep_a.id), name="邵雯", company="立信会计", at=T0)
        create_customer(session=s, actor=s.get(Member, v.org.other_team_rep.id), name="蒲阳", company="蓝海货代",
                        at=T0)
    runner = TranscriptionRunner(engine, settings, clock=clock, on_transcript=on_transcript)
    v.send(amr_head(3.0), sender="rep-b")  # rep B has no customer of their own
    prompt = runner.prompt_for(v.job())
    assert prompt is not None and "立信会计邵雯" in prompt and "蒲阳" not in prompt and prompt.endswith(GENRE)
    with Session(engine) as s:
        s.delete(v.job())
        s.commit()
    v.send(amr_head(3.0), sender="rep-a")
    assert "立信会计邵雯" in (runner.prompt_for(v.job()) or "")
