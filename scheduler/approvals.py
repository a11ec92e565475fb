"""Approvals that don't stall: a pending approval nobody decided within `approvals.escalate_hours`
working hours goes one level up the chain (主管 → 总监, store/roles.escalates_to) with a new card;
at the top, or after `max_levels`, it stays with the last approver.

due_at starts at the request: the sweep turns it into the level-0 deadline (working hours from the
request); an escalation sets the next level's deadline itself. Escalating is a conditional UPDATE on
(status, level), so of two sweeps one escalates and the other finds nothing to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.leads.approvals import send_approval_card
from scheduler.stale import working_hours
from store.approvals import due_approval_ids, escalate_approval, set_approval_due
from store.db import session_scope
from store.models import Approval, ApprovalStatus, Member
from store.roles import escalates_to
from store.timeline import add_event

log = structlog.get_logger("genjin.approvals")
BATCH = 500


def sweep_approvals(engine: Engine, settings: Settings, now: datetime) -> int:
    with Session(engine) as session:
        due = due_approval_ids(session=session, now=now, limit=BATCH)
    escalated = 0
    for approval_id in due:
        with session_scope(engine) as session:
            escalated += _look(session, settings, approval_id, now)
    return escalated


def _look(session: Session, settings: Settings, approval_id: int, now: datetime) -> int:
    row = session.get(Approval, approval_id)
    if row is None or row.status != ApprovalStatus.PENDING or row.due_at is None or row.due_at > now:
        return 0
    wh = working_hours(settings)
    hours = timedelta(hours=settings.approvals.escalate_hours)
    deadline = wh.add(row.created_at, hours) if row.level == 0 else row.due_at
    if deadline > now:
        set_approval_due(session=session, approval=row, due_at=deadline)
        return 0
    current = session.get(Member, row.approver_id)
    up = escalates_to(session=session, member=current) if current is not None else None
    if up is None or row.level >= settings.approvals.max_levels:
        if set_approval_due(session=session, approval=row, due_at=None):
            add_event(session=session, customer_id=row.customer_id, kind="approval_stalled", at=now,
                      summary=f"审批超时，已无上级可升级，仍由 {current.display_name if current else '原审批人'} 处理",
                      ref={"approval_id": row.id})
        return 0
    before = current.display_name if current is not None else "审批人"
    next_due = wh.add(now, hours)
    if not escalate_approval(session=session, approval=row, to=up, due_at=next_due, at=now):
        return 0
    send_approval_card(session=session, settings=settings, approval=row, approver=up, escalated_from=before,
                       decide_by=next_due, at=now)
    log.info("approval_escalated", approval_id=row.id, level=row.level)
    return 1
