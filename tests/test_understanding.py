"""Understanding without the model: biasing selection, pinyin correction (and what it must leave
alone), spoken numbers, the extraction misses it fixes, and learning tag weights from corrections."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.extract import DEFAULT_TAGS, TagRule, extract, normalize_phone, parse_amount
from bot.extract.numbers import spoken_numbers_to_digits
from bot.understanding.book import DUE_NOW, OTHER, RECENT, STALE, BookEntry, load_book, rank_entries
from bot.understanding.learning import keyword_weights, team_weights
from bot.understanding.memo import correct_transcript, understand_memo
from bot.understanding.pinyin import Term, correct_near_misses, sound_score, terms_for
from bot.understanding.prompt import PREFIX, PROMPT_TOKEN_BUDGET, build_prompt, utf8_upper_bound
from scheduler.weekly import tag_correction_rates
from store.customers import create_customer
from store.db import session_scope
from store.followups import create_followup, fix_field, toggle_tag
from store.models import Correction, Customer, Member
from store.visits import schedule_visit
from tests.factories import T0, make_org

SH = ZoneInfo("Asia/Shanghai")
REF = datetime(2026, 11, 23, 18, 0, tzinfo=SH)  # a Monday evening
NOW = REF.astimezone(UTC)


# -- biasing selection ---------------------------------------------------------------------------


def test_book_ranks_visits_due_then_recent_then_stale_and_stays_within_permissions(engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        rep = s.get(Member, org.rep_a.id)
        old = create_customer(session=s, actor=rep, name="陈刚", company="诚信汽修", at=T0)
        old.last_activity_at = NOW - timedelta(days=90)
        stale = create_customer(session=s, actor=rep, name="陈晓东", company="汇通科技", at=T0)
        stale.last_activity_at, stale.stale_rung = NOW - timedelta(days=40), 2
        recent = create_customer(session=s, actor=rep, name="马超", company="天成机械", at=T0)
        recent.last_activity_at = NOW - timedelta(days=1)
        older_recent = create_customer(session=s, actor=rep, name="郑华", company="永安物业", at=T0)
        older_recent.last_activity_at = NOW - timedelta(days=5)
        visit = create_customer(session=s, actor=rep, name="孙丽", company="瑞丰食品", at=T0)
        visit.last_activity_at = NOW - timedelta(days=30)
        s.flush()
        schedule_visit(session=s, actor=rep, customer_id=visit.id, when=NOW + timedelta(hours=16), goal="演示",
                       when_text="明天上午", at=T0)
        create_customer(session=s, actor=s.get(Member, org.rep_b.id), name="李强", company="华兴物流", at=T0)
    with Session(engine) as s:
        book = load_book(session=s, actor=s.get(Member, org.rep_a.id), now=NOW, tz=SH)
    assert [(e.name, e.priority) for e in book] == [
        ("孙丽", DUE_NOW), ("马超", RECENT), ("郑华", RECENT), ("陈晓东", STALE), ("陈刚", OTHER),
    ]  # 李强 is rep B's customer: never in rep A's prompt


def test_prompt_puts_likeliest_first_and_never_exceeds_the_budget():
    entries = rank_entries([
        BookEntry("王芳", "远景科技", OTHER),
        BookEntry("孙丽", "瑞丰食品", DUE_NOW),
        BookEntry("马超", "天成机械", RECENT, NOW - timedelta(days=1)),
        BookEntry("郑华", "永安物业", RECENT, NOW - timedelta(days=5)),
    ])
    prompt = build_prompt(entries, ["运输管理系统"])
    assert prompt.text == PREFIX + "瑞丰食品孙丽、天成机械马超、永安物业郑华、远景科技王芳。运输管理系统。"
    assert prompt.tokens <= PROMPT_TOKEN_BUDGET

    many = [BookEntry(f"客户{i:02d}", f"公司{i:02d}物流", RECENT) for i in range(60)]
    fitted = build_prompt(many, ["运输管理系统"], count_tokens=utf8_upper_bound)
    assert fitted.tokens == utf8_upper_bound(fitted.text) <= PROMPT_TOKEN_BUDGET
    assert fitted.entries == tuple(many[: len(fitted.entries)])  # a prefix of the ranking: most likely kept
    assert 0 < len(fitted.entries) < 60 and fitted.text.startswith(PREFIX)


def test_prompt_fits_a_short_item_after_a_long_one_that_did_not():
    def count(text: str) -> int:
        return len(text)

    entries = [BookEntry("甲", "公司", RECENT), BookEntry("很长很长很长的名字", "很长很长的公司", RECENT),
               BookEntry("乙", None, RECENT)]
    prompt = build_prompt(entries, ["ERP"], count_tokens=count, budget=len(PREFIX) + 8)
    assert [e.name for e in prompt.entries] == ["甲", "乙"] and prompt.products == ()
    assert len(prompt.text) <= len(PREFIX) + 8


# -- pinyin near-miss correction -------------------------------------------------------------------

BOOK = [BookEntry("张伟", "华信物流", RECENT), BookEntry("周武", "远东建设", RECENT),
        BookEntry("黄立军", "康泰药业", RECENT), BookEntry("郑华", "永安物业", RECENT),
        BookEntry("王建国", "鼎盛物流", DUE_NOW)]


def test_near_homophones_of_known_names_are_corrected_and_the_original_kept():
    fixed = correct_transcript("今天拜访了华新物流的张为张总，还去了顶盛物流", BOOK)
    assert fixed.text == "今天拜访了华信物流的张伟张总，还去了鼎盛物流"
    assert fixed.original == "今天拜访了华新物流的张为张总，还去了顶盛物流"
    assert [(f.original, f.corrected, f.kind) for f in fixed.fixes] == [
        ("华新物流", "华信物流", "company"), ("张为", "张伟", "name"), ("顶盛物流", "鼎盛物流", "company")]


def test_what_correction_must_not_touch():
    # A weekday that sounds like a customer's name stays a date.
    assert correct_transcript("周五上午再过去", BOOK).text == "周五上午再过去"
    # A new customer whose name and company differ by one real syllable from known ones.
    said = "见了新客户康宁药业的黄丽娟黄经理"
    assert correct_transcript(said, BOOK).text == said
    assert sound_score("康宁药业", "康泰药业") < 90 and sound_score("黄丽娟", "黄立军") < 90
    # A correct spelling elsewhere locks its characters; digits are never names.
    assert correct_near_misses("华信物流和华新物流", [Term("华信物流", "company")]).text == "华信物流和华信物流"
    assert correct_near_misses("预算十五万", [Term("石屋万", "name")]).fixes == ()


def test_context_lowers_the_bar_for_the_named_customers_company_only():
    assert correct_transcript("给有安物业的郑华打了电话", BOOK).text == "给永安物业的郑华打了电话"
    assert correct_transcript("去了有安物业看看", BOOK).text == "去了有安物业看看"  # no 郑华: too far


def test_clock_words_heard_as_homophones_next_to_a_date():
    assert correct_transcript("下周一上五过去，周武上午再打电话", BOOK).text == "下周一上午过去，周五上午再打电话"
    assert correct_transcript("目前尚无进展，周武说再看看", BOOK).text == "目前尚无进展，周武说再看看"


def test_terms_for_marks_context_companies():
    terms = {t.text: t for t in terms_for(["张伟"], ["华信物流", "永安物业"], [], context_companies=["永安物业"])}
    assert terms["永安物业"].threshold < terms["华信物流"].threshold


# -- spoken numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("said", "e164"), [
    ("电话一三六 一一二七 八八五零", "+8613611278850"),
    ("手机幺三六一一二七八八五零", "+8613611278850"),
    ("一三九两两三四五六七八", "+8613922345678"),  # 两 inside a digit run
    ("一三八零零一三八零就零", "+8613800138090"),  # 就 heard for 九
    ("她的手机是要三六一一二七八八五零。", "+8613611278850"),  # 要 heard for 幺
    ("座机零五七一 八八八八 六六六六", "+8657188886666"),
])
def test_spoken_phone_numbers(said, e164):
    assert normalize_phone(said) == e164


def test_homophones_outside_a_number_are_words():
    assert spoken_numbers_to_digits("我就吧就吧就吧就吧") == "我就吧就吧就吧就吧"
    assert spoken_numbers_to_digits("就是一三九一二三四五六七八吧") == "就是13912345678吧"
    assert spoken_numbers_to_digits("日期2026-11-23，预算十五万") == "日期2026-11-23，预算十五万"


@pytest.mark.parametrize(("said", "yuan"), [
    ("四十五万", 450_000), ("三点九八万", 39_800), ("两百万", 2_000_000), ("三万九千八", 39_800),
    ("预算一百二十万左右", 1_200_000), ("幺万二", 12_000),
])
def test_spoken_amounts(said, yuan):
    assert parse_amount(said) == yuan


# -- extraction misses fixed in general ------------------------------------------------------------


@pytest.mark.parametrize(("text", "name", "company"), [
    ("刚拜访完华信物流的张伟张总。他们对运输管理系统很感兴趣", "张伟", "华信物流"),
    # Round 6: the company ranker retrained on 34 authors kept the preposition (和华康医疗), a known miss until the
    # round-10 retrain on 75 authors; a rule dropping a clause-initial 和/跟/与/同 lost four real companies on the
    # pool (和美妇产医院, 和顺堂大药房).
    ("和华康医疗的张伟聊了，挺顺利", "张伟", "华康医疗"),
    ("今天见了张 伟，华信物流的", "张伟", "华信物流"),
    ("刚见完祥和超市的周敏周店长", "周敏", "祥和超市"),
    ("见了新客户康宁药业的黄丽娟黄经理", "黄丽娟", "康宁药业"),
    ("完美日化的王总说要报价", "王总", "完美日化"),
])
def test_names_and_companies_in_memos(text, name, company):
    ext = extract(text, ref_time=REF)
    assert (ext.customer_name, ext.company) == (name, company)


def test_known_book_spellings_beat_guesses_but_not_a_new_full_name():
    known = [("何志强", "金桥电子"), ("孙丽", "瑞丰食品"), ("林美玲", "星河酒店")]
    assert extract("去了金桥电子，何志强和经理谈了条款", ref_time=REF, known=known).customer_name == "何志强"
    ext = extract("拜访了瑞丰食品的资历深总，预算三点九八万", ref_time=REF, known=known)
    assert (ext.customer_name, ext.company) == ("孙丽", "瑞丰食品")  # the company's only contact
    assert extract("核星河酒店的林美玲玲经历见了面", ref_time=REF, known=known).company == "星河酒店"
    new = extract("见了新客户黄丽娟，何志强介绍的", ref_time=REF, known=known)
    assert new.customer_name == "黄丽娟"


def test_understand_memo_offers_dingtalk_readings_and_the_words_as_heard():
    u = understand_memo("今天拜访了华新物流的张伟张总，预算大概十五万，周四上午再打电话", book=BOOK, ref_time=REF,
                        tz=SH, tag_rules=DEFAULT_TAGS,
                        recognition="今天拜访了华信物流的张伟张总，预算大概五十万，周五上午再打电话")
    assert u.text.startswith("今天拜访了华信物流") and u.heard.startswith("今天拜访了华新物流")
    assert u.extraction.company == "华信物流" and u.extraction.amount_cny == 150_000
    assert ("周四上午", "周四 11月26日") in u.times
    fields = {(a["field"], a["value"]) for a in u.alternatives}
    assert ("company", "华新物流") in fields and ("amount_cny", "500000") in fields
    assert any(a["field"] == "next_contact_at" and "钉钉" in a["label"] and "周五 11月27日" in a["label"]
               for a in u.alternatives)
    assert len(u.alternatives) <= 3


# -- learning from corrections -------------------------------------------------------------------

RULES = (TagRule("价格异议", ("预算有限", "太贵")), TagRule("要报价", ("报价单",)))
TEXT = "客户说今年预算有限，先看看"


def _records(engine, member_id: int, n: int, remove: int, text: str = TEXT) -> None:
    with session_scope(engine) as s:
        rep = s.get(Member, member_id)
        customer = create_customer(session=s, actor=rep, name=f"客户{member_id}", at=T0)
        for i in range(n):
            tags = list(extract(text, ref_time=REF, tag_rules=RULES).tags)
            f = create_followup(session=s, actor=rep, customer_id=customer.id, kind="chat", text=text, tags=tags,
                                at=NOW - timedelta(days=1))
            if i < remove:
                toggle_tag(session=s, actor=rep, followup_id=f.id, tag="价格异议", at=NOW - timedelta(hours=1))


def test_a_team_that_keeps_removing_a_tag_teaches_the_tagger(engine):
    org = make_org(engine)
    _records(engine, org.rep_a.id, n=4, remove=4)
    _records(engine, org.other_team_rep.id, n=4, remove=0)
    with Session(engine) as s:
        team = team_weights(session=s, team_id=org.rep_a.team_id, rules=RULES, now=NOW)
        other = team_weights(session=s, team_id=org.other_team_rep.team_id, rules=RULES, now=NOW)
    assert team == {("价格异议", "预算有限"): pytest.approx(1 - 4 / 6, abs=1e-3)}
    assert other == {}
    assert extract(TEXT, ref_time=REF, tag_rules=RULES, tag_weights=team).tags == ()
    assert extract(TEXT, ref_time=REF, tag_rules=RULES, tag_weights=other).tags == ("价格异议",)
    # A second, trusted keyword still proposes the tag.
    both = "预算有限，而且太贵了"
    assert extract(both, ref_time=REF, tag_rules=RULES, tag_weights=team).tags == ("价格异议",)


def test_one_or_two_removals_teach_nothing_and_put_back_tags_do_not_count(engine):
    assert keyword_weights(Counter({("t", "k"): 2}), Counter({("t", "k"): 2})) == {("t", "k"): 0.5}
    org = make_org(engine)
    _records(engine, org.rep_a.id, n=2, remove=2)
    with Session(engine) as s:
        weights = team_weights(session=s, team_id=org.rep_a.team_id, rules=RULES, now=NOW)
    assert extract(TEXT, ref_time=REF, tag_rules=RULES, tag_weights=weights).tags == ("价格异议",)
    with session_scope(engine) as s:  # a rep who removes and puts back did not reject the tag
        rep = s.get(Member, org.rep_b.id)
        customer = create_customer(session=s, actor=rep, name="回退", at=T0)
        for _ in range(3):
            f = create_followup(session=s, actor=rep, customer_id=customer.id, kind="chat", text=TEXT,
                                tags=["价格异议"], at=NOW - timedelta(days=1))
            toggle_tag(session=s, actor=rep, followup_id=f.id, tag="价格异议", at=NOW)
            toggle_tag(session=s, actor=rep, followup_id=f.id, tag="价格异议", at=NOW)
    with Session(engine) as s:
        again = team_weights(session=s, team_id=org.rep_a.team_id, rules=RULES, now=NOW)
    # Three more uses of the keyword that stood: the team trusts it more, not less.
    assert again[("价格异议", "预算有限")] > weights[("价格异议", "预算有限")]


def test_field_fixes_are_corrections_and_the_weekly_tag_rate_ignores_them(engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        rep = s.get(Member, org.rep_a.id)
        customer = create_customer(session=s, actor=rep, name="张伟", company="华新物流", at=T0)
        f = create_followup(session=s, actor=rep, customer_id=customer.id, kind="voice", text="…",
                            tags=["价格异议"], amount_cny=150_000, at=NOW)
        fix_field(session=s, actor=rep, followup_id=f.id, field="amount_cny", value="500000", at=NOW)
        fix_field(session=s, actor=rep, followup_id=f.id, field="company", value="华信物流", at=NOW)
        toggle_tag(session=s, actor=rep, followup_id=f.id, tag="价格异议", at=NOW)
        with pytest.raises(ValueError):
            fix_field(session=s, actor=rep, followup_id=f.id, field="tags", value="x", at=NOW)
        fid, cid = f.id, customer.id
    with Session(engine) as s:
        rows = s.exec(select(Correction).where(Correction.followup_id == fid).order_by(Correction.id)).all()
        assert [(c.field, c.before, c.after) for c in rows] == [
            ("amount_cny", "150000", "500000"), ("company", "华新物流", "华信物流"), ("tag", "价格异议", None)]
        assert s.get(Customer, cid).company == "华信物流"
        rates = tag_correction_rates(s, org.rep_a.team_id, NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert rates == [("价格异议", 1.0)]
