"""A scripted conversation through the real pipeline (inbox -> worker -> router -> store -> outbox)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from bot.app import build_runtime
from store.models import Customer, FollowUp, InboundMessage, InboxStatus, MergeAudit, Visit
from tests.factories import T0, make_org
from tests.harness import ChatDriver

CHAT = """许志强 11/16 09:15
小王，你们的报价我看了，43万比我们预期高了不少。我手机 13812345678
王芳 11/16 09:18
许总，这个价格包含了三年的运维服务，性价比其实很高的
许志强 11/16 09:22
东软给的方案也差不多，价格低一截。你们要是能再降一些，我们可以考虑
王芳 11/16 09:25
我跟领导争取一下，周四上午给您答复"""


@pytest.fixture
def chat(settings, engine, clock):
    runtime = build_runtime(settings, clock=clock, engine=engine)
    org = make_org(engine)
    driver = ChatDriver(runtime)
    driver.org = org  # type: ignore[attr-defined]
    return driver


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_pasted_chat_becomes_card_and_confirm_saves(chat, engine):
    card = chat.reply_to("rep-a", CHAT)
    assert card.card is not None
    assert card.field("客户").startswith("许志强")
    assert card.field("电话") == "+8613812345678"
    assert card.field("金额") == "43万元"
    assert card.field("下次联系") == "周四 11月19日"  # the rep checks dates at a glance
    assert card.selected_tags() == ["价格异议", "竞品对比"]
    # toggle a tag on, then off again, then confirm
    card2 = chat.reply_to("rep-a", card.action("要报价"), kind="card_action")
    assert card2.selected_tags() == ["价格异议", "竞品对比", "要报价"]
    card3 = chat.reply_to("rep-a", card2.action("要报价"), kind="card_action")
    assert card3.selected_tags() == ["价格异议", "竞品对比"]
    done = chat.reply_to("rep-a", card3.action("确认"), kind="card_action")
    assert "已保存 许志强" in done.text
    with Session(engine) as s:
        f = s.exec(select(FollowUp)).one()
        assert f.confirmed and f.tags == ["价格异议", "竞品对比"] and f.amount_cny == 430000
        c = s.get(Customer, f.customer_id)
        assert c.next_contact_at is not None and c.owner_id == chat.org.rep_a.id
    again = chat.reply_to("rep-a", card3.action("确认"), kind="card_action")
    assert "已经确认过" in again.text


def test_same_msg_id_three_times_gives_one_record(chat, engine):
    for _ in range(3):
        chat.send("rep-a", CHAT, msg_id="wecom-msg-42")
    assert count(engine, FollowUp) == 1
    assert count(engine, InboundMessage) == 1
    assert len([m for m in chat.log if m.card]) == 1


def test_history_snippet_shows_last_three_events(chat):
    chat.reply_to("rep-a", CHAT)
    chat.reply_to("rep-a", "跟进 许志强 电话沟通，客户要求重新报价")
    chat.reply_to("rep-a", "跟进 许志强 发了新报价单")
    card = chat.reply_to("rep-a", "跟进 许志强 客户说下周三来公司看演示")
    notes = "\n".join(card.card.notes)
    assert "发了新报价单" in notes and "重新报价" in notes
    assert notes.count("· ") == 3


def test_rep_cannot_read_or_change_another_reps_customer(chat, engine):
    card = chat.reply_to("rep-a", CHAT)
    with Session(engine) as s:
        cid = s.exec(select(Customer)).one().id
    assert "没有找到" in chat.reply_to("rep-b", f"历史 #{cid}").text
    assert "没有找到" in chat.reply_to("rep-b", "查 许志强").text
    assert "没有权限" in chat.reply_to("rep-b", card.action("确认"), kind="card_action").text
    assert "没有权限" in chat.reply_to("rep-b", card.action("要报价"), kind="card_action").text
    with Session(engine) as s:
        f = s.exec(select(FollowUp)).one()
        assert not f.confirmed and "要报价" not in f.tags
    # the supervisor of the same team can see it, another team's supervisor cannot
    assert "许志强" in chat.reply_to("sup", f"历史 #{cid}").text
    assert "没有找到" in chat.reply_to("sup2", f"历史 #{cid}").text


@pytest.mark.parametrize("text, expected", [
    ("", "空消息"),
    ("   \n ", "空消息"),
    ("😀😀🎉🎉", "没有看到文字"),
    ("\x00\x01\x02binary\xff\xfe junk", "没有看到文字"),
    ("x" * 100_000, "消息太长"),
    ("'; DROP TABLE customer; -- ", "没有从这段话里找到"),
    ("你好", "没有从这段话里找到"),
])
def test_bad_input_gets_clear_reply_and_stores_nothing(chat, engine, text, expected):
    reply = chat.reply_to("rep-a", text)
    assert expected in reply.text
    assert count(engine, FollowUp) == 0 and count(engine, Customer) == 0
    with Session(engine) as s:
        assert s.exec(select(InboundMessage)).one().status == InboxStatus.DONE  # raw kept, processed


def test_new_customer_keeps_a_next_contact_beyond_the_window_the_rep_typed(chat, engine):
    chat.reply_to("rep-a", "新客户 王芳 13900139000")
    chat.reply_to("rep-a", "跳过")  # product
    chat.reply_to("rep-a", "初步接触")
    done = chat.reply_to("rep-a", "12月15号下午三点")  # the customer asked for then: kept, not refused
    assert "已新建客户" in done.text and "12月15日 15:00" in done.text
    with Session(engine) as s:
        c = s.exec(select(Customer).where(Customer.name == "王芳")).one()
        assert c.next_contact_at == datetime(2026, 12, 15, 7, 0, tzinfo=UTC)


def test_unknown_command_gets_help_and_unknown_sender_is_told(chat):
    assert "不认识的命令「/frobnicate」" in chat.reply_to("rep-a", "/frobnicate now").text
    assert "genjin 跟进助手" in chat.reply_to("rep-a", "/help").text
    assert "不是 genjin 团队成员" in chat.reply_to("stranger", "你好").text


def test_minimal_entry_asks_only_for_missing_fields(chat, engine):
    assert "电话" in chat.reply_to("rep-a", "新客户 张伟").text
    assert "没认出这个电话" in chat.reply_to("rep-a", "不清楚的号码").text
    assert "产品" in chat.reply_to("rep-a", "138 0013 8000").text
    assert "阶段" in chat.reply_to("rep-a", "跳过").text
    assert "请从这些阶段" in chat.reply_to("rep-a", "差不多了").text
    assert "下次什么时候" in chat.reply_to("rep-a", "需求确认").text
    assert "已经过去" in chat.reply_to("rep-a", "昨天下午三点").text
    done = chat.reply_to("rep-a", "明天下午三点")
    assert "已新建客户" in done.text and "周二 11月17日 15:00" in done.text
    with Session(engine) as s:
        c = s.exec(select(Customer)).one()
        assert (c.name, c.phone, c.product, c.stage) == ("张伟", "+8613800138000", None, "需求确认")
    # asking stops once everything is known: the next text is a chat again
    assert chat.reply_to("rep-a", "新客户 李雷 13900139000").text.startswith("客户关注哪个产品")
    assert "已取消" in chat.reply_to("rep-a", "取消").text


def test_name_cannot_be_skipped(chat):
    chat.reply_to("rep-a", "新客户")
    assert "不能跳过" in chat.reply_to("rep-a", "跳过").text


def test_next_contact_beyond_limit_is_kept_and_asked(chat, engine):
    # What the customer said stays on the record; the card asks (保留 / 改约) instead of dropping it.
    card = chat.reply_to("rep-a", "今天拜访了万通物流的朱总，他说12月20号再联系")
    assert any("超过 7 天" in n and n.startswith("❓") for n in card.card.notes)
    assert card.field("下次联系") == "周日 12月20日"
    assert card.action("保留").startswith("keep_date:") and card.action("改约").startswith("redate:")


def test_redate_answer_after_the_record_was_confirmed_is_refused(chat, engine):
    card = chat.reply_to("rep-a", "今天拜访了万通物流的朱总，他说12月20号再联系")
    assert "新的下次联系时间" in chat.reply_to("rep-a", card.action("改约"), kind="card_action").text
    chat.reply_to("rep-a", card.action("确认"), kind="card_action")
    with Session(engine) as s:
        kept = s.exec(select(FollowUp)).one()
        assert kept.confirmed
        before = kept.next_contact_at
    answer = chat.reply_to("rep-a", "下周一上午十点")
    assert "已确认" in answer.text
    with Session(engine) as s:
        assert s.exec(select(FollowUp)).one().next_contact_at == before
    assert chat.reply_to("rep-a", "下周一上午十点").text != answer.text  # the question is closed


def test_chat_without_customer_asks_who(chat, engine):
    msg = chat.reply_to("rep-a", "客户说价格太贵了，想要打个折")
    assert "跟哪位客户" in msg.text
    card = chat.reply_to("rep-a", "周总")
    assert card.field("客户").startswith("周总")
    with Session(engine) as s:
        f = s.exec(select(FollowUp)).one()
        first = s.exec(select(InboundMessage).order_by(InboundMessage.id)).first()
        assert f.source_inbound_id == first.id and "价格异议" in f.tags


def test_duplicates_same_phone_pinyin_and_taken(chat, engine):
    chat.reply_to("rep-a", "今天拜访了华康医疗的张伟，电话13800138000，他要报价")
    # same phone in another chat: the same customer, no second record
    chat.reply_to("rep-a", "13800138000 这位客户说下周二可以来公司看演示")
    assert count(engine, Customer) == 1 and count(engine, FollowUp) == 2
    # same person spelled in Latin letters at the same company: ask, don't guess
    dup = chat.reply_to("rep-a", "Zhang Wei（华康医疗）说预算有限，要再便宜点")
    assert dup.card.title == "可能是重复客户"
    card = chat.reply_to("rep-a", dup.action("是同一客户"), kind="card_action")
    assert card.field("客户").startswith("张伟")
    assert count(engine, Customer) == 1 and count(engine, FollowUp) == 3
    # another rep with the same phone: 撞单, supervisor told, nothing revealed
    msgs = chat.send("rep-b", "客户张先生电话13800138000，想了解一下产品")
    to_b = [m for m in msgs if m.recipient == "rep-b"]
    to_sup = [m for m in msgs if m.recipient == "sup"]
    assert len(to_b) == 1 and "撞单" in to_b[0].text and "王芳" not in to_b[0].text
    assert len(to_sup) == 1 and "撞单" in to_sup[0].all_text
    assert count(engine, Customer) == 1


def test_duplicate_choice_new_customer(chat, engine):
    chat.reply_to("rep-a", "今天拜访了华康医疗的张伟，他要报价")
    dup = chat.reply_to("rep-a", "Zhang Wei（华康医疗）说要看演示")
    chat.reply_to("rep-a", dup.action("不是，新建"), kind="card_action")
    assert count(engine, Customer) == 2


def test_merge_by_supervisor_audited_and_undone(chat, engine):
    chat.reply_to("rep-a", "今天拜访了华康医疗的张伟，电话13800138000，他要报价")
    dup = chat.reply_to("rep-a", "Zhang Wei（华康医疗）说预算有限，要再便宜点")
    chat.reply_to("rep-a", dup.action("不是，新建"), kind="card_action")
    with Session(engine) as s:
        a, b = (c.id for c in s.exec(select(Customer).order_by(Customer.id)).all())
    assert "只有主管" in chat.reply_to("rep-a", f"合并 #{a} #{b}").text
    merged = chat.reply_to("sup", f"合并 #{a} #{b}")
    assert "已把" in merged.text
    with Session(engine) as s:
        audit = s.exec(select(MergeAudit)).one()
        assert audit.actor_id == chat.org.supervisor.id
    assert "撤销合并" in chat.reply_to("sup", f"撤销合并 {audit.id}").text
    with Session(engine) as s:
        assert s.get(Customer, b).merged_into_id is None


def test_stage_skip_refused_with_missing_list(chat, engine):
    chat.reply_to("rep-a", "新客户 张伟 13800138000")
    for answer in ("跳过", "跳过", "跳过"):
        chat.reply_to("rep-a", answer)
    refused = chat.reply_to("rep-a", "阶段 张伟 合同洽谈")
    assert "不能把" in refused.text and "需求确认" in refused.text and "方案演示" in refused.text
    assert "已把" in chat.reply_to("rep-a", "阶段 张伟 需求确认").text
    no_evidence = chat.reply_to("rep-a", "阶段 张伟 方案演示")
    assert "要演示" in no_evidence.text
    card = chat.reply_to("rep-a", "跟进 张伟 客户希望下周安排产品演示")
    # confirming a record whose stage hint now has its evidence moves the stage one step
    assert "需求确认 → 方案演示" in chat.reply_to("rep-a", card.action("确认"), kind="card_action").text
    assert "已处于" in chat.reply_to("rep-a", "阶段 张伟 方案演示").text
    assert "已把" in chat.reply_to("rep-a", "阶段 张伟 已流失").text
    with Session(engine) as s:
        assert s.exec(select(Customer)).one().stage == "已流失"


def test_visit_command_schedules_a_visit(chat, engine):
    chat.reply_to("rep-a", "和万通物流的朱总聊了，他要报价")
    reply = chat.reply_to("rep-a", "拜访 朱总 明天下午3点 演示运输管理系统")
    assert "已安排拜访 朱总" in reply.text and "周二 11月17日 15:00" in reply.text
    with Session(engine) as s:
        v = s.exec(select(Visit)).one()
        assert v.goal == "演示运输管理系统" and v.scheduled_at.hour == 7  # 15:00 Shanghai = 07:00 UTC
    assert "过去" in chat.reply_to("rep-a", "拜访 朱总 昨天上午10点 复盘").text


def test_crash_between_claim_and_done_is_reclaimed(chat, engine, clock):
    from store.db import session_scope
    from store.inbox import claim_next_inbound, insert_inbound

    with session_scope(engine) as s:
        insert_inbound(session=s, platform="sandbox", msg_id="crash-1", sender="rep-a", kind="text", text=CHAT, at=T0)
    with Session(engine, expire_on_commit=False) as s:
        assert claim_next_inbound(session=s, lease=timedelta(seconds=120), now=clock()) is not None
    # the process dies here; after restart, nothing is due until the lease runs out
    assert chat.runtime.worker.drain() == 0
    clock.now += timedelta(seconds=121)
    assert chat.runtime.worker.drain() == 1
    assert count(engine, FollowUp) == 1


def test_failure_after_retries_tells_rep_and_retry_requeues(chat, engine, clock, monkeypatch):
    import bot.handlers.chat_capture as cc

    def boom(*_a, **_k):
        raise RuntimeError("extractor exploded")

    monkeypatch.setattr(cc, "understand_text", boom)
    chat.send("rep-a", CHAT)
    for _ in range(3):
        clock.now += timedelta(seconds=10)
        chat.runtime.worker.drain()
    msgs = chat.new_messages()
    assert any("处理失败，原始消息已保存" in (m.text or "") for m in msgs)
    with Session(engine) as s:
        row = s.exec(select(InboundMessage)).one()
        assert row.status == InboxStatus.FAILED and "extractor exploded" in row.error
    monkeypatch.undo()
    msgs = chat.send("rep-a", "重试")
    assert "已重新排队 1 条" in msgs[0].text
    assert msgs[1].card is not None  # the failed message was processed again
    assert count(engine, FollowUp) == 1


def test_attachment_goes_on_the_recent_customers_timeline(chat, engine, clock):
    from store.models import TimelineEvent

    chat.reply_to("rep-a", CHAT)
    reply = chat.reply_to("rep-a", "", kind="image", media_ref="ab/abcd.jpg")
    assert "已归档到 许志强" in reply.text
    clock.now += timedelta(hours=2)  # nothing recent: the bot asks which customer
    assert "是哪位客户的" in chat.reply_to("rep-a", "报价单.pdf", kind="link").text
    assert "没有找到" in chat.reply_to("rep-a", "不存在的人").text  # the question stays open
    assert "已归档到 许志强" in chat.reply_to("rep-a", "许志强").text
    assert "是哪位客户的" in chat.reply_to("rep-a", "", kind="image").text
    assert "未归档" in chat.reply_to("rep-a", "跳过").text
    with Session(engine) as s:
        events = s.exec(select(TimelineEvent).where(TimelineEvent.kind == "attachment")).all()
        assert [e.summary for e in events] == ["附件：图片", "附件：报价单.pdf"]
        assert events[0].ref["media_ref"] == "ab/abcd.jpg"
    assert chat.send("rep-a", "enter_chat", kind="event") == []
