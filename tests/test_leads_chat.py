"""Leads in chat: the new-lead card's 认领/退回, the pool with its daily claim cap, a supervisor's 转给,
分配原因; every change leaves a log row and a timeline event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bot.app import build_runtime
from store.models import Customer, TimelineEvent
from tests.factories import make_org
from tests.harness import ChatDriver
from tests.test_leads_support import lead_settings, log_rows, phone, post


@pytest.fixture
def bot(settings, engine, clock, tmp_path):
    s = lead_settings(settings, tmp_path, pool_daily_claim_cap=2)
    driver = ChatDriver(build_runtime(s, clock=clock, engine=engine))
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    return driver


def lead(bot, clock, **kw) -> int:
    kw.setdefault("channel", "dy")
    kw.setdefault("region", "华东")
    r = post(bot.runtime.engine, bot.runtime.settings, clock.now, phone=phone(), **kw)
    return r.customer_id


def customer(bot, cid: int) -> Customer:
    with Session(bot.runtime.engine) as s:
        return s.get(Customer, cid)


def events(bot, cid: int) -> list[str]:
    with Session(bot.runtime.engine) as s:
        rows = s.exec(select(TimelineEvent).where(col(TimelineEvent.customer_id) == cid)
                      .order_by(col(TimelineEvent.id)))
        return [f"{e.kind}:{e.summary}" for e in rows]


def test_card_accept_return_and_claim_from_the_pool(bot, clock):
    cid = lead(bot, clock, action="预约演示")
    [card] = bot.new_messages()
    assert card.recipient == "rep-a" and card.card.title == "新线索：张伟"
    assert card.field("渠道") == "抖音" and "今天在抖音预约演示" in card.all_text

    assert "由你跟进" in bot.reply_to("rep-a", card.action("认领"), kind="card_action").text
    returned = bot.reply_to("rep-a", card.action("退回"), kind="card_action")
    assert returned.text == "已把 张伟 退回公海，同组同事可以认领。"
    c = customer(bot, cid)
    assert c.owner_id is None and c.lead_due_at == clock.now + timedelta(hours=2) and c.stale_due_at is None

    pool = bot.reply_to("rep-b", "公海")
    assert pool.card.title == "公海线索（共 1 条）" and pool.card.subtitle == "今日已认领 0/2"
    assert "·" in pool.card.notes[0] and "139****" in pool.card.notes[0]  # phones masked in the pool
    out = bot.tap("rep-b", pool.action(f"认领 #{cid}"))
    assert [m.text for m in out if m.text] == ["已认领 张伟，请在 2 小时内联系。"]
    assert next(m for m in out if m.card).field("电话") == customer(bot, cid).phone  # the owner sees the number
    assert customer(bot, cid).owner_id == bot.org.rep_b.id
    assert [r.kind for r in log_rows(bot.runtime.engine, cid)] == ["auto", "release", "claim"]
    assert log_rows(bot.runtime.engine, cid)[2].reason == "李明 从公海认领（今日第 1/2 条）"
    assert [e.split(":")[0] for e in events(bot, cid)] == [
        "lead_in", "lead_auto", "lead_accepted", "lead_release", "lead_claim"]
    # Someone else's lead, or another team's pool, cannot be claimed (nor seen).
    assert bot.reply_to("rep-a", f"认领 #{cid}").text == "没有找到这条线索，或你没有权限认领。"
    bot.reply_to("rep-b", f"退回 #{cid} 客户暂无预算")
    assert "没有权限" in bot.reply_to("rep-c", f"认领 #{cid}").text
    assert log_rows(bot.runtime.engine, cid)[-1].reason == "李明 退回公海：客户暂无预算"


def test_daily_claim_cap_resets_the_next_day(bot, clock):
    ids = [lead(bot, clock, region="华南") for _ in range(3)]  # no rule: straight to the pool
    assert [customer(bot, i).owner_id for i in ids] == [None] * 3
    for i in ids[:2]:
        assert [m.text for m in bot.tap("rep-a", f"lead_claim:{i}") if m.text][0].startswith("已认领")
    assert bot.reply_to("rep-a", f"认领 #{ids[2]}").text == "今天已认领 2 条，达到每日上限 2 条，明天再来吧。"
    assert bot.reply_to("sup", f"认领 #{ids[2]}").text.startswith("公海线索由销售认领")
    clock.now += timedelta(days=1)
    assert [m.text for m in bot.send("rep-a", f"认领 #{ids[2]}") if m.text][0].startswith("已认领")


def test_supervisor_reassigns_in_chat_and_new_owner_gets_the_card(bot, clock):
    cid = lead(bot, clock)
    bot.new_messages()
    assert bot.reply_to("rep-a", f"转给 #{cid} 李明").text.startswith("只有主管可以转给其他销售")
    out = bot.send("sup", f"转给 #{cid} 李明")
    assert [m.text for m in out if m.recipient == "sup"] == ["已把 张伟 转给 李明。"]
    [card] = [m for m in out if m.recipient == "rep-b"]
    assert card.card.notes[0] == "分配原因：陈主管 把线索从王芳转给 李明"
    c = customer(bot, cid)
    assert c.owner_id == bot.org.rep_b.id and c.assigned_at == clock.now and c.lead_due_at is not None
    assert log_rows(bot.runtime.engine, cid)[-1].kind == "reassign"
    assert events(bot, cid)[-1] == "lead_reassign:陈主管 把线索从王芳转给 李明"
    assert bot.reply_to("sup", f"转给 #{cid} 李明").text == "这位客户已经由 李明 负责。"
    assert bot.reply_to("sup", f"转给 #{cid} 赵强").text == "团队里没有「赵强」。"


def test_bare_transfer_uses_the_lead_the_supervisor_looked_at(bot, clock):
    cid = lead(bot, clock)
    bot.new_messages()
    assert bot.reply_to("sup", "转给 李明").text == "要把哪位客户转给 李明？请写成：转给 #编号 李明"
    why = bot.reply_to("sup", f"分配原因 #{cid}").text
    assert why.startswith(f"#{cid} 张伟 的分配记录：") and "A组轮流分配，本次轮到王芳，分配给王芳" in why
    assert bot.reply_to("sup", "转给李明").text == "已把 张伟 转给 李明。"  # no space needed either
    assert customer(bot, cid).owner_id == bot.org.rep_b.id


def test_pool_lead_picker_for_supervisors(bot, clock):
    cid = lead(bot, clock, region="华南")
    picker = bot.reply_to("sup", f"lead_assign:{cid}", kind="card_action")
    assert [b.label for b in picker.card.buttons] == ["王芳", "李明"]
    out = bot.tap("sup", picker.action("王芳"))
    assert any(m.recipient == "rep-a" and m.card for m in out)
    assert log_rows(bot.runtime.engine, cid)[-1].reason == "陈主管 把线索从公海转给 王芳"
    assert "只有主管" in bot.reply_to("rep-a", f"lead_assign:{cid}", kind="card_action").text


def test_help_lists_the_lead_commands(bot):
    text = bot.reply_to("rep-a", "帮助").text
    assert "公海 / 认领 #编号" in text and "分配原因" in text and "转给" not in text  # 转给 is a supervisor's
    assert "转给 #编号 成员" in bot.reply_to("sup", "帮助").text
