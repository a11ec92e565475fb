"""Approvals that don't stall, in time-travel: a rule with `approval = true` holds the lead for the
picked rep's supervisor (批准 / 驳回 with a reason), escalates one level (主管 → 总监) after the
configured working hours, once even with two sweepers, and logs whoever decided with the reason."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_runtime
from bot.config import ApprovalSettings, Settings
from scheduler.approvals import sweep_approvals
from store.db import session_scope
from store.models import Approval, Customer, Member, OutboxMessage, Role, Team, TimelineEvent
from store.roles import set_escalation
from tests.factories import EPOCH, make_org
from tests.harness import ChatDriver
from tests.instances import on_instances
from tests.test_leads_support import lead_settings, phone, post

TZ = ZoneInfo("Asia/Shanghai")
RULES = """
pool_team = "一组"

[groups."A组"]
members = ["王芳"]

[[rules]]
name = "华北跨区"
region = "华北"
groups = ["A组"]
approval = true

[[rules]]
name = "华东"
region = "华东"
groups = ["A组"]
"""


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


@pytest.fixture
def bot(settings: Settings, engine, clock, tmp_path):
    configured = lead_settings(settings, tmp_path, RULES).model_copy(
        update={"approvals": ApprovalSettings(escalate_hours=4, max_levels=1)})
    runtime = build_runtime(configured, clock=clock, engine=engine)
    driver = ChatDriver(runtime)
    org = make_org(engine)
    driver.org = org  # type: ignore[attr-defined]
    with session_scope(engine) as s:
        top = Team(name="管理层", created_at=EPOCH)
        s.add(top)
        s.flush()
        director = Member(team_id=top.id, display_name="周总监", role=Role.SUPERVISOR, sandbox_id="director",
                          created_at=EPOCH)
        s.add(director)
        s.flush()
        set_escalation(session=s, member_id=org.supervisor.id, escalates_to_id=director.id, at=EPOCH)
    return driver


def cards(msgs: list, prefix: str) -> list:
    return [m for m in msgs if m.card and m.card.title.startswith(prefix)]


def events(engine, kind: str) -> list[str]:
    with Session(engine) as s:
        return [e.summary for e in s.exec(select(TimelineEvent).where(col(TimelineEvent.kind) == kind)
                                          .order_by(col(TimelineEvent.id)))]


def intake(bot, at: datetime, region: str = "华北"):
    return post(bot.runtime.engine, bot.runtime.settings, at, channel="抖音", region=region, phone=phone())


def test_cross_region_lead_waits_for_the_supervisor_and_is_assigned_on_approval(bot, clock):
    clock.now = local(2026, 11, 16, 10)
    result = intake(bot, clock.now)
    assert result.owner_id is None and result.reason.endswith("（待审批）")
    msgs = bot.new_messages()
    (card,) = cards(msgs, "待审批")
    assert card.recipient == "sup" and card.field("拟分配给") == "王芳" and card.field("区域") == "华北"
    assert not [m for m in msgs if m.recipient == "rep-a"]
    with Session(bot.runtime.engine) as s:
        assert s.get(Customer, result.customer_id).lead_due_at is None  # the approval's timer, not the pool's
    # Waiting: nobody can claim it from the pool meanwhile.
    assert "等待审批" in bot.send("rep-b", f"认领 #{result.customer_id}")[0].text
    # Only an approver decides.
    assert "不归你处理" in bot.tap("rep-b", card.action("批准"))[0].text
    out = bot.tap("sup", card.action("批准"))
    assert [m.text for m in out if m.recipient == "sup"] == ["已批准：张伟 分配给 王芳。"]
    assert [m.card.title for m in out if m.recipient == "rep-a" and m.card][0].startswith("新线索")
    with Session(bot.runtime.engine) as s:
        assert s.get(Customer, result.customer_id).owner_id == bot.org.rep_a.id
    assert events(bot.runtime.engine, "approval_decided") == ["陈主管 批准：同意"]
    assert "已经处理过了" in bot.tap("sup", card.action("批准"))[0].text
    # A rule without approval assigns at once.
    assert intake(bot, clock.now, region="华东").owner_id == bot.org.rep_a.id


def test_nobody_acts_so_it_escalates_once_and_the_first_approver_may_still_reject_with_a_reason(bot, clock):
    clock.now = local(2026, 11, 20, 16)  # Friday 16:00
    result = intake(bot, clock.now)
    (first,) = cards(bot.new_messages(), "待审批")
    engine, settings = bot.runtime.engine, bot.runtime.settings
    assert sweep_approvals(engine, settings, local(2026, 11, 20, 17)) == 0
    assert sweep_approvals(engine, settings, local(2026, 11, 23, 10, 59)) == 0  # Monday: 3h59m of work
    assert sweep_approvals(engine, settings, local(2026, 11, 23, 11)) == 1
    (escalated,) = cards(bot.new_messages(), "待审批")
    assert escalated.recipient == "director"
    assert "陈主管 未在时限内处理，已升级给你。" in escalated.card.notes
    assert events(engine, "approval_escalated") == ["陈主管 未在时限内处理，升级给 周总监"]
    assert sweep_approvals(engine, settings, local(2026, 11, 23, 12)) == 0  # once
    # max_levels = 1: after the director's four hours it stays with the director.
    assert sweep_approvals(engine, settings, local(2026, 11, 23, 15, 0)) == 0
    assert events(engine, "approval_stalled") == ["审批超时，已无上级可升级，仍由 周总监 处理"]
    assert cards(bot.new_messages(), "待审批") == []
    # Whoever decides: the first supervisor rejects on the older card, with a reason.
    clock.now = local(2026, 11, 23, 15, 30)
    assert "请回复驳回原因" in bot.tap("sup", first.action("驳回"))[0].text
    assert bot.send("sup", "区域不符，请分给华北的同事")[0].text == "已驳回：张伟 留在公海，原因已记录。"
    assert events(engine, "approval_decided") == ["陈主管 驳回：区域不符，请分给华北的同事"]
    assert "已经处理过了" in bot.tap("director", escalated.action("批准"))[0].text
    with Session(engine) as s:
        held = s.get(Customer, result.customer_id)
        assert held.owner_id is None and held.lead_due_at == local(2026, 11, 23, 17, 30)  # claimable: clock on
    assert bot.send("rep-b", f"认领 #{result.customer_id}")[0].text.startswith("已认领 张伟")


def test_two_sweepers_escalate_exactly_once(bot, clock, db_url):
    clock.now = local(2026, 11, 20, 16)
    for _ in range(3):
        intake(bot, clock.now)

    def instance(engine: Engine) -> None:
        for minute in range(0, 240, 20):
            sweep_approvals(engine, bot.runtime.settings, local(2026, 11, 23, 10, 40 + minute % 20)
                            if minute < 20 else local(2026, 11, 23, 11 + minute // 60, minute % 60))

    on_instances(db_url, instance)
    with Session(bot.runtime.engine) as s:
        levels = [a.level for a in s.exec(select(Approval)).all()]
        keys = [r.dedupe_key or "" for r in s.exec(select(OutboxMessage)).all()]
    assert levels == [1, 1, 1]
    assert len(events(bot.runtime.engine, "approval_escalated")) == 3
    assert sum(k.startswith("approval:") and k.endswith(":1") for k in keys) == 3


def test_an_approval_racing_a_transfer_does_not_overwrite_it(bot, clock):
    """批准 by the director on one instance while the supervisor's 转给 李明 is being written on another:
    the approval sees the new owner and leaves the customer alone. (Before apply_decision locked the
    customer this held only because decide_approval's timeline insert, a foreign-key check on the
    customer, happened to wait for the transfer's FOR UPDATE; the lock makes it not depend on that.)"""
    from bot.leads.approvals import apply_decision
    from store.leads import reassign_lead
    from tests.test_atomic_writes import contended

    clock.now = local(2026, 11, 16, 10)
    cid = intake(bot, clock.now).customer_id
    engine, settings = bot.runtime.engine, bot.runtime.settings
    with Session(engine) as s:
        approval_id = s.exec(select(Approval.id)).one()

    def transfer(s: Session) -> object:
        return reassign_lead(session=s, actor=s.get(Member, bot.org.supervisor.id), customer_id=cid,
                             new_owner=s.get(Member, bot.org.rep_b.id), now=clock.now, due_hours=2)

    def approve(s: Session) -> object:
        return apply_decision(session=s, settings=settings, actor=s.get(Member, bot.org.supervisor.id),
                              approval_id=approval_id, approve=True, reason="同意", now=clock.now)[1]

    assert contended(engine, transfer, approve) == "已批准，但 张伟 已有负责人或拟分配的销售已停用，未改动。"
    with Session(engine) as s:
        assert s.get(Customer, cid).owner_id == bot.org.rep_b.id
