"""Check-then-write on a shared row is atomic on both databases: two transactions on one customer
(two reps claiming one pool lead, a release racing a 转给, two merges of one pair, two confirms of
one record) apply one after the other. The first transaction is held open while the second starts,
so the second really runs while the first's write is uncommitted (on PostgreSQL it waits on the row
lock; on SQLite on the database's single writer)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from store.customers import StageChange, change_stage
from store.db import session_scope
from store.followups import confirm_followup, create_followup, discard_followup, get_followup
from store.leads import LeadError, claim_lead, reassign_lead, release_lead
from store.merges import merge_customers
from store.models import Correction, Customer, FollowUp, LeadAssignment, Member, TimelineEvent
from store.permissions import PermissionDenied
from store.stages import check_stage_change
from tests.factories import Org, make_org

NOW = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")


def contended(engine: Engine, first: Callable[[Session], Any], second: Callable[[Session], Any]) -> Any:
    """Run `first` in a transaction and keep it open while `second` runs in another; commit the first
    after a moment. Returns what `second` returned, or the exception it raised."""
    outcome: dict[str, Any] = {}
    with session_scope(engine) as s1:
        first(s1)

        def run_second() -> None:
            try:
                with session_scope(engine) as s2:
                    outcome["value"] = second(s2)
            except Exception as exc:
                outcome["value"] = exc

        thread = threading.Thread(target=run_second)
        thread.start()
        time.sleep(0.4)  # the second is now waiting (with the fix) or already done (without)
    thread.join(timeout=15)
    assert not thread.is_alive()
    return outcome["value"]


def pool_lead(engine: Engine, org: Org, name: str = "张伟") -> int:
    with session_scope(engine) as s:
        c = Customer(name=name, team_id=org.rep_a.team_id, owner_id=None, created_at=NOW)
        s.add(c)
        s.flush()
        return c.id or 0


def claim(member: Member, customer_id: int, cap: int = 5) -> Callable[[Session], Any]:
    def run(s: Session) -> Any:
        return claim_lead(session=s, actor=s.get(Member, member.id), customer_id=customer_id, now=NOW,
                          daily_cap=cap, tz=TZ, due_hours=2)
    return run


def claims(engine: Engine, customer_id: int | None = None) -> list[LeadAssignment]:
    with Session(engine) as s:
        stmt = select(LeadAssignment).where(col(LeadAssignment.kind) == "claim")
        if customer_id is not None:
            stmt = stmt.where(col(LeadAssignment.customer_id) == customer_id)
        return list(s.exec(stmt).all())


def test_two_reps_claiming_one_lead_one_wins(engine):
    org = make_org(engine)
    cid = pool_lead(engine, org)
    loser = contended(engine, claim(org.rep_a, cid), claim(org.rep_b, cid))
    assert isinstance(loser, LeadError) and str(loser) == "这条线索已被其他同事认领。"
    [won] = claims(engine, cid)
    assert won.member_id == org.rep_a.id
    with Session(engine) as s:
        assert s.get(Customer, cid).owner_id == org.rep_a.id


def test_concurrent_claims_cannot_pass_the_daily_cap(engine):
    org = make_org(engine)
    first, second = pool_lead(engine, org, "张伟"), pool_lead(engine, org, "李娜")
    refused = contended(engine, claim(org.rep_a, first, cap=1), claim(org.rep_a, second, cap=1))
    assert isinstance(refused, LeadError) and "达到每日上限 1 条" in str(refused)
    assert len(claims(engine)) == 1


def test_a_release_racing_a_transfer_applies_one_after_the_other(engine):
    org = make_org(engine)
    cid = pool_lead(engine, org)
    with session_scope(engine) as s:
        claim(org.rep_a, cid)(s)

    def transfer(s: Session) -> Any:
        return reassign_lead(session=s, actor=s.get(Member, org.supervisor.id), customer_id=cid,
                             new_owner=s.get(Member, org.rep_b.id), now=NOW, due_hours=2)

    def release(s: Session) -> Any:
        return release_lead(session=s, actor=s.get(Member, org.rep_a.id), customer_id=cid, now=NOW, due_hours=2)

    refused = contended(engine, transfer, release)  # the rep's 退回 comes in while 转给 is being written
    assert isinstance(refused, PermissionDenied)  # by then it is 李明's customer, not hers to release
    with Session(engine) as s:
        assert s.get(Customer, cid).owner_id == org.rep_b.id


def test_merging_a_pair_both_ways_at_once_merges_once(engine):
    org = make_org(engine)
    a, b = pool_lead(engine, org, "张伟"), pool_lead(engine, org, "张 伟")

    def merge(kept: int, merged: int) -> Callable[[Session], Any]:
        return lambda s: merge_customers(session=s, actor=s.get(Member, org.supervisor.id), kept_id=kept,
                                         merged_id=merged, at=NOW)

    refused = contended(engine, merge(a, b), merge(b, a))
    assert isinstance(refused, PermissionDenied)
    with Session(engine) as s:
        assert (s.get(Customer, a).merged_into_id, s.get(Customer, b).merged_into_id) == (None, a)


def test_two_confirms_of_one_record_confirm_once(engine):
    org = make_org(engine)
    cid = pool_lead(engine, org)
    with session_scope(engine) as s:
        claim(org.rep_a, cid)(s)
        fid = create_followup(session=s, actor=s.get(Member, org.rep_a.id), customer_id=cid, kind="chat",
                              text="许总要报价", tags=["要报价"], at=NOW).id

    def confirm(s: Session) -> Any:
        return confirm_followup(session=s, actor=s.get(Member, org.rep_a.id), followup_id=fid, at=NOW)[2]

    assert contended(engine, confirm, confirm) is False  # the second tap sees the first's confirm
    with Session(engine) as s:
        kinds = s.exec(select(TimelineEvent.kind).where(col(TimelineEvent.customer_id) == cid)).all()
    assert kinds.count("followup_confirmed") == 1


@pytest.fixture(autouse=True)
def _only_sqlite_and_postgres(engine):
    assert engine.dialect.name in ("sqlite", "postgresql")


def test_a_worker_whose_lease_was_taken_over_writes_nothing(settings, engine):
    """A worker stalls past its lease; another takes the message over and answers it. When the
    first one finally gets to it, it must not answer (or record) a second time."""
    from datetime import timedelta

    from bot.app import build_runtime
    from store.inbox import claim_next_inbound, insert_inbound
    from store.models import InboundMessage, OutboxMessage

    make_org(engine)
    worker = build_runtime(settings, engine=engine, clock=lambda: NOW).worker
    with session_scope(engine) as s:
        insert_inbound(session=s, platform="sandbox", msg_id="m1", sender="rep-a", kind="text", text="帮助",
                       at=NOW)
    lease = timedelta(seconds=settings.inbox_lease_seconds)
    with Session(engine, expire_on_commit=False) as s:
        stalled = claim_next_inbound(session=s, lease=lease, now=NOW)
        taken_over = claim_next_inbound(session=s, lease=lease, now=NOW + lease + timedelta(seconds=1))
    assert stalled is not None and taken_over is not None and taken_over.attempts == 2
    worker.process(taken_over)
    worker.process(stalled)
    with Session(engine) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1
        assert s.exec(select(InboundMessage.status)).one() == "done"


def owned_lead(engine: Engine, org: Org) -> int:
    cid = pool_lead(engine, org)
    with session_scope(engine) as s:
        claim(org.rep_a, cid)(s)
    return cid


def move(member: Member, customer_id: int, stage: str, *, rules: bool = False) -> Callable[[Session], Any]:
    """The customer is loaded first (as a handler has it, from before any lock), then moved."""
    def run(s: Session) -> StageChange:
        customer = s.get(Customer, customer_id)
        check = (lambda current: check_stage_change(current, stage, [], {})) if rules else None
        return change_stage(session=s, actor=s.get(Member, member.id), customer=customer, stage=stage, at=NOW,
                            check=check)
    return run


def stage_events(engine: Engine, customer_id: int) -> list[str]:
    with Session(engine) as s:
        return list(s.exec(select(TimelineEvent.summary).where(col(TimelineEvent.customer_id) == customer_id,
                                                               col(TimelineEvent.kind) == "stage_changed")).all())


def test_two_moves_of_one_customer_to_one_stage_record_one_change(engine):
    org = make_org(engine)
    cid = owned_lead(engine, org)
    second = contended(engine, move(org.rep_a, cid, "需求确认"), move(org.supervisor, cid, "需求确认"))
    assert second == StageChange(before="需求确认")  # already there: not changed, nothing recorded
    assert stage_events(engine, cid) == ["阶段 初步接触 → 需求确认"]


def test_a_move_checks_the_rules_against_the_stage_another_move_just_wrote(engine):
    org = make_org(engine)
    cid = owned_lead(engine, org)
    # 已流失 is written while the second still believes the customer is 初步接触 (→ 需求确认 allowed).
    second = contended(engine, move(org.rep_a, cid, "已流失"), move(org.supervisor, cid, "需求确认", rules=True))
    assert second.before == "已流失" and not second.changed
    assert second.refused == ["已流失客户需先回到「初步接触」"]
    assert stage_events(engine, cid) == ["阶段 初步接触 → 已流失"]
    with Session(engine) as s:
        assert s.get(Customer, cid).stage == "已流失"


def draft_record(engine: Engine, org: Org) -> tuple[int, int]:
    cid = owned_lead(engine, org)
    with session_scope(engine) as s:
        fid = create_followup(session=s, actor=s.get(Member, org.rep_a.id), customer_id=cid, kind="chat",
                              text="许总要报价", tags=["要报价"], at=NOW).id
    return cid, fid or 0


def test_a_discard_racing_a_confirm_never_deletes_the_confirmed_record(engine):
    org = make_org(engine)
    _cid, fid = draft_record(engine, org)

    def confirm(s: Session) -> Any:
        return confirm_followup(session=s, actor=s.get(Member, org.rep_a.id), followup_id=fid, at=NOW)

    def discard(s: Session) -> Any:
        return discard_followup(session=s, actor=s.get(Member, org.rep_a.id), followup_id=fid)

    refused = contended(engine, confirm, discard)  # 丢弃 on one instance while 确认 is written on another
    assert isinstance(refused, ValueError)
    with Session(engine) as s:
        kept = s.get(FollowUp, fid)
        assert kept is not None and kept.confirmed


def test_a_tag_tap_racing_a_confirm_does_not_change_the_confirmed_record(settings, engine):
    """The card's tag tap checks `confirmed` and then writes: handled by a worker while 确认 is being
    written, it must see the confirm (and say so), not toggle a tag on a confirmed record."""
    from bot.app import build_runtime
    from tests.harness import ChatDriver

    org = make_org(engine)
    _cid, fid = draft_record(engine, org)
    driver = ChatDriver(build_runtime(settings, clock=lambda: NOW, engine=engine))

    def confirm(s: Session) -> Any:
        return confirm_followup(session=s, actor=s.get(Member, org.rep_a.id), followup_id=fid, at=NOW)

    answers = contended(engine, confirm, lambda _s: driver.tap("rep-a", f"tag:{fid}:要报价"))
    assert [m.text for m in answers] == ["这条记录已确认，标签不能再改。"]
    with Session(engine) as s:
        assert s.get(FollowUp, fid).tags == ["要报价"]
        assert s.exec(select(Correction)).all() == []


def test_a_snooze_racing_a_transfer_is_refused_to_the_former_owner(settings, engine):
    """The rep answers 暂缓's reason while the supervisor's 转给 李明 is being written: the snooze is
    decided on the customer as it is after the transfer (no longer hers), not on the old owner."""
    from bot.app import build_runtime
    from store.conversations import set_conversation
    from tests.harness import ChatDriver

    org = make_org(engine)
    cid = owned_lead(engine, org)
    driver = ChatDriver(build_runtime(settings, clock=lambda: NOW, engine=engine))
    with session_scope(engine) as s:
        set_conversation(session=s, member_id=org.rep_a.id, state="snooze_reason", data={"customer_id": cid}, at=NOW)

    def transfer(s: Session) -> Any:
        return reassign_lead(session=s, actor=s.get(Member, org.supervisor.id), customer_id=cid,
                             new_owner=s.get(Member, org.rep_b.id), now=NOW, due_hours=2)

    answers = contended(engine, transfer, lambda _s: driver.send("rep-a", "客户出差两周"))
    assert [m.text for m in answers] == ["这个客户已不在你的权限范围内。"]
    with Session(engine) as s:
        moved = s.get(Customer, cid)
        assert moved.owner_id == org.rep_b.id and moved.snoozed_until is None


def test_two_taps_of_one_visit_button_book_one_visit(settings, engine):
    """安排拜访 checks for a visit at that time and then books one: the second tap, handled while the
    first's booking is being written, sees it."""
    from datetime import timedelta

    from bot.app import build_runtime
    from store.models import Visit
    from store.visits import schedule_visit
    from tests.harness import ChatDriver

    org = make_org(engine)
    cid = owned_lead(engine, org)
    when = NOW + timedelta(days=2)
    with session_scope(engine) as s:
        fid = create_followup(session=s, actor=s.get(Member, org.rep_a.id), customer_id=cid, kind="chat",
                              text="周四上午10点来公司聊方案", tags=[], next_contact_at=when, at=NOW).id
    driver = ChatDriver(build_runtime(settings, clock=lambda: NOW, engine=engine))

    def first_tap(s: Session) -> Any:  # what the other instance's tap writes, held open
        get_followup(session=s, actor=s.get(Member, org.rep_a.id), followup_id=fid, for_update=True)
        return schedule_visit(session=s, actor=s.get(Member, org.rep_a.id), customer_id=cid, when=when,
                              goal="聊方案", when_text="周四上午10点", at=NOW)

    answers = contended(engine, first_tap, lambda _s: driver.tap("rep-a", f"visit:{fid}"))
    assert [m.text for m in answers] == ["这个拜访已经安排过了，或时间已过。"]
    with Session(engine) as s:
        assert len(s.exec(select(Visit)).all()) == 1
