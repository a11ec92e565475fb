"""Issue #13's failure classes, in our own wording (no corpus sentence): names and companies next to
phones and e-mails, tag phrasings outside the keyword lists, negation, stage from evidence,
deadlines that are not contacts, dates against the send time, dictated phones, money vs quantity,
pinyin correction that must not fire, an empty book, and the team tagger that learns and resets."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from pytest_socket import SocketConnectBlockedError
from sqlmodel import Session, select

from bot.app import build_runtime
from bot.extract import extract
from bot.extract.when import SHANGHAI
from bot.understanding import embedder
from bot.understanding.memo import understand_memo
from bot.understanding.pinyin import Term, correct_near_misses, sound_score
from bot.understanding.team_exemplars import learn_team_exemplars
from bot.understanding.text import understand_text
from store.customers import create_customer
from store.db import session_scope
from store.followups import create_followup
from store.inbox import insert_inbound
from store.models import Member, TagExemplar
from store.tag_exemplars import add_tag_exemplar, reset_tag_exemplars, team_exemplars
from tests.factories import make_org
from tests.harness import ChatDriver

SENT = datetime(2026, 11, 18, 10, 0, tzinfo=SHANGHAI)  # a Wednesday


def understand(text: str, **kw):  # type: ignore[no-untyped-def]
    return understand_text(text, sent_at=SENT, **kw)


# -- people and companies ----------------------------------------------------------------------


def test_a_named_person_next_to_a_phone_or_email_is_the_customer_not_the_number():
    r = understand("启明物流的钱立新说下周想要一份报价，手机13922334455")
    assert (r.customer_name, r.company, r.phone) == ("钱立新", "启明物流", "+8613922334455")
    r = understand("客户孙晓梅要一份报价单，周四前发到 sunxm@example.cn")
    assert r.customer_name == "孙晓梅" and r.email == "sunxm@example.cn"


def test_self_introduction_keeps_the_company_and_a_bare_name_is_found():
    r = understand("你好，我是宏远机电的冯涛，想了解一下你们的设备")
    assert (r.customer_name, r.company) == ("冯涛", "宏远机电")
    assert understand("周建华说还想再看一次系统演示").customer_name == "周建华"


def test_a_company_after_jiao_or_shi_does_not_keep_the_verb():
    assert understand("新客户叫鑫盛物流，负责人是韩经理").company == "鑫盛物流"


def test_a_titled_surname_becomes_the_full_name_the_text_gives():
    assert understand("采购部的许文博 许经理说报价有点高").customer_name == "许文博"


def test_traditional_names_and_companies_are_filed_as_written():
    r = understand("跟進：鴻興貿易的採購黃淑芬說想要一份報價。")
    assert (r.customer_name, r.company) == ("黃淑芬", "鴻興貿易")


def test_the_reps_own_company_is_neither_the_customer_company_nor_a_competitor():
    r = understand("我是云帆科技的小吴，上次给您演示的系统，您看有什么问题吗？")
    assert "竞品对比" not in r.tags


# -- tags: phrasings outside the lists, and negation ---------------------------------------------


@pytest.mark.parametrize(("text", "tag"), [
    ("月报一直导不出来，客户催了好几次", "技术问题"),
    ("库存数跟系统里的对不上", "技术问题"),
    ("他们在拿我们跟阿里云的方案比", "竞品对比"),
    ("以后这个项目的对接人换成了他们财务部的周总", "决策链变更"),
    ("让我们先出一版运输模块的价格", "要报价"),
    ("今年预算被砍了，续费的事要再考虑", "流失风险"),
])
def test_tag_phrasings_outside_the_keyword_lists(text, tag):
    assert tag in understand(text).tags


def test_a_technical_problem_about_reports_is_not_a_payment_tag():
    tags = understand("财务的对账报表一直导不出来").tags
    assert "技术问题" in tags and "付款回款" not in tags


def test_negated_and_declined_clauses_fire_nothing():
    assert "价格异议" not in understand("聊了交期和付款方式，他没提降价的事").tags
    assert "要演示" not in understand("他说演示以后再说，先看资料").tags


# -- stage from evidence --------------------------------------------------------------------------


def test_price_talk_alone_is_not_negotiation_and_a_new_contacts_complaint_is_not_a_sale():
    r = understand("第一次见面，他说价格有点高，想便宜点", learned=False)  # the rules; the learned layer: below
    assert "价格异议" in r.tags and r.stage_hint not in ("合同洽谈", "已成交")
    r = understand("刚加了微信的新客户，说系统老是报错")
    assert "技术问题" in r.tags and r.stage_hint not in ("合同洽谈", "已成交")


def test_price_talk_alone_is_not_negotiation_with_the_learned_layer():
    assert understand("第一次见面，他说价格有点高，想便宜点").stage_hint not in ("合同洽谈", "已成交")


# A strict xfail from the 44-author retrain to round 10 (the learned stage model read it as 合同洽谈); the
# round-11 and round-12 retrains read it as the rules do; the round-13 retrain on 107 authors reads 合同洽谈 again.
# Measured and not shipped: a bound making a contract the rules read as signed a sale whatever the weights say
# changed 7 records of the 7 training authors the data-only weights never saw, all 7 right before and wrong after
# (the rules' signed-contract pattern also fires on "盖好章了吗", "争取下周一盖章，盖好章把原件…", and authors file a
# contract the customer stamped before the vendor countersigns as 合同洽谈; tests/data/FINAL_FIELDS.md, round 13).
# The round-17 retrain on 144 authors reads it as a sale again, so the xfail is lifted; like every single sentence
# here it may flip with a retrain.
def test_a_contract_stamped_and_returned_is_a_sale():
    assert understand("他们那边的合同昨天已经盖章寄回来了").stage_hint == "已成交"


def test_a_new_customer_starts_at_first_contact():
    assert understand("展会上认识了新客户万达印务的林经理，留了电话", learned=False).stage_hint == "初步接触"


def test_a_new_customer_starts_at_first_contact_with_the_learned_layer():
    assert understand("展会上认识了新客户万达印务的林经理，留了电话").stage_hint == "初步接触"


# -- dates ------------------------------------------------------------------------------------------


def test_a_payment_deadline_is_not_the_next_contact_when_a_visit_is_planned():
    r = understand("尾款让他们周五前付清，下周二下午我去他们厂里开会")
    assert r.next_contact is not None and r.next_contact.date() == datetime(2026, 11, 24).date()


def test_dates_resolve_against_the_send_time_not_the_processing_time(settings, engine, clock):
    """A note sent on Monday but processed on Tuesday: 明天 is Tuesday, not Wednesday."""
    runtime = build_runtime(settings, clock=clock, engine=engine)
    make_org(engine)
    driver = ChatDriver(runtime)
    sent = clock.now  # Monday 2026-11-16 10:00 Shanghai
    with session_scope(engine) as s:
        insert_inbound(session=s, platform="sandbox", msg_id="late-1", sender="rep-a", kind="text",
                       text="见了东港物流的秦海涛，明天下午三点再去他们公司当面谈", media_ref=None, raw="", at=sent)
    clock.now = sent + timedelta(days=1)  # the worker gets to it a day late (Tuesday 10:00)
    runtime.worker.drain()
    card = next(m for m in driver.new_messages() if m.card is not None)
    assert card.field("下次联系").startswith("周二 11月17日 15:00"), card.all_text


def test_voice_memo_dates_use_the_memo_send_time():
    sent_monday = datetime(2026, 11, 16, 10, 0, tzinfo=SHANGHAI)
    u = understand_memo("嗯 今天见了华洋机械的邓总 明天上午再过去一趟", book=[], ref_time=sent_monday, tz=SHANGHAI,
                        tag_rules=(), semantic=False)
    assert u.extraction.next_contact is not None
    assert u.extraction.next_contact.date() == datetime(2026, 11, 17).date()


# -- deterministic parsers ------------------------------------------------------------------------


@pytest.mark.parametrize("said", [
    "手机139、2245、6708", "电话一三九，二二四五，六七零八", "号码幺三九 二二四五 六七零八",
])
def test_phones_dictated_in_groups(said):
    assert extract(said, ref_time=SENT).phone == "+8613922456708"


def test_a_counted_quantity_is_not_money():
    assert extract("他们要三十块屏，预算二十万", ref_time=SENT).amount_cny == 200_000
    assert extract("先订三十块展板", ref_time=SENT).amount_cny is None


# -- pinyin correction ----------------------------------------------------------------------------


def test_an_ordinary_word_with_a_second_reading_is_not_turned_into_a_name():
    # 长 reads both cháng and zhǎng: "长期" sounds exactly like a customer 张琪 (zhang qi).
    assert sound_score("长期", "张琪") == 100.0
    assert correct_near_misses("这个合同签的是长期的", [Term("张琪", "name")]).text == "这个合同签的是长期的"
    # The same sound where a name is expected is corrected.
    assert correct_near_misses("见了张奇说要报价", [Term("张琪", "name")]).text == "见了张琪说要报价"


def test_a_filler_at_the_start_of_a_memo_is_never_a_name():
    assert correct_near_misses("那个今天去了一趟客户那边", [Term("纳戈", "name")]).fixes == ()


def test_an_empty_book_still_yields_company_and_person_from_titles_and_suffixes():
    u = understand_memo("嗯 那个 今天去了宏远包装 见了他们的采购经理邱志刚 邱经理说下个月要扩产", book=[],
                        ref_time=SENT, tz=SHANGHAI, tag_rules=())
    assert (u.extraction.customer_name, u.extraction.company) == ("邱志刚", "宏远包装")


# -- the model and the team tagger ----------------------------------------------------------------


def test_the_bundled_model_embeds_offline():
    with pytest.raises(SocketConnectBlockedError):  # nothing may open a socket to the outside
        socket.create_connection(("198.51.100.1", 80), timeout=0.1)
    vectors = embedder.embed(["系统老是报错", "系统经常出错", "下周二去拜访"])
    assert vectors.shape == (3, 384)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])


def _team_and_rep(engine) -> tuple[int, Member]:
    make_org(engine)
    with Session(engine) as s:
        rep = s.exec(select(Member).where(Member.sandbox_id == "rep-a")).one()
    return rep.team_id, rep


def test_the_tagger_learns_a_teams_phrasing_from_confirmed_records_and_can_reset(engine):
    team_id, rep = _team_and_rep(engine)
    at = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
    # Only the slang: since the round-17 retrain the built-in tagger reads "产线停着" (the line stands still) as
    # 技术问题 by itself, so that clause would no longer show what the team's exemplar adds.
    phrase = "那台贴标机昨天趴窝了"
    assert "技术问题" not in understand(phrase).tags  # the built-in tagger does not know the slang
    with session_scope(engine) as s:
        customer = create_customer(session=s, actor=rep, name="石磊", at=at)
        record = create_followup(session=s, actor=rep, customer_id=customer.id or 0, kind="chat",
                                 text="嗯，他们的封箱机又趴窝了", tags=["技术问题"], at=at)
        record.extracted_tags = []  # the rep added the tag: a correction
        record.confirmed = True
        s.add(record)
        s.flush()
        assert learn_team_exemplars(session=s, team_id=team_id, at=at) == 1
        learned = team_exemplars(session=s, team_id=team_id)
    assert learned == {"技术问题": ["他们的封箱机又趴窝了"]}
    assert "技术问题" in understand(phrase, team_exemplars=learned).tags
    with session_scope(engine) as s:
        assert reset_tag_exemplars(session=s, team_id=team_id, at=at) == 1
        assert team_exemplars(session=s, team_id=team_id) == {}
        assert learn_team_exemplars(session=s, team_id=team_id, at=at) == 0  # not learned again


def test_learned_exemplars_are_capped_per_tag(engine):
    team_id, _ = _team_and_rep(engine)
    at = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        for i in range(5):
            add_tag_exemplar(session=s, team_id=team_id, tag="要报价", text=f"说法{i}", source="corrected",
                             at=at + timedelta(minutes=i), cap=3)
        assert team_exemplars(session=s, team_id=team_id) == {"要报价": ["说法2", "说法3", "说法4"]}
        assert len(s.exec(select(TagExemplar)).all()) == 3


def test_genjin_tags_lists_and_resets_a_teams_learned_phrasings(tmp_path, monkeypatch, capsys):
    from bot.cli import main
    from store.db import make_engine

    url = f"sqlite:///{tmp_path}/g.db"
    monkeypatch.setenv("GENJIN_DATABASE_URL", url)
    assert main(["members", "add", "--name", "王芳", "--team", "华东一组", "--wecom-userid", "wangfang"]) == 0
    with session_scope(make_engine(url)) as s:
        add_tag_exemplar(session=s, team_id=1, tag="技术问题", text="封箱机又趴窝了", source="corrected",
                         at=datetime(2026, 11, 18, 2, 0, tzinfo=UTC))
    assert main(["tags", "list", "--team-id", "1"]) == 0
    assert "封箱机又趴窝了" in capsys.readouterr().out
    assert main(["tags", "reset", "--team-id", "1", "--tag", "技术问题"]) == 0
    assert "已清除团队 #1 学到的 1 条标签说法（技术问题）" in capsys.readouterr().out
    with session_scope(make_engine(url)) as s:
        assert team_exemplars(session=s, team_id=1) == {}
