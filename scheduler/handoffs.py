"""Hand-off timer: a role member who has not tapped 已接手 within `handoffs.accept_hours` working
hours -> their supervisors are told, once.

A hand-off row carries due_at (indexed), first the instant it was created: the sweep computes the
working-time deadline from there and either moves due_at forward to it or, once passed, takes the
row with a conditional UPDATE (escalated_at still empty) — of two sweeps only one wins it, and the
pushes are keyed on the hand-off besides.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.cards.playbook import build_handoff_late_card
from bot.config import Settings
from bot.pipeline.push import push_to_member
from scheduler.stale import working_hours
from store.db import session_scope
from store.handoffs import claim_handoff_escalation, due_handoff_ids
from store.members import supervisors_of
from store.models import Customer, HandOff, Member
from store.timeline import add_event

log = structlog.get_logger("genjin.handoffs")
BATCH = 500


def sweep_handoffs(engine: Engine, settings: Settings, now: datetime) -> int:
    with Session(engine) as session:
        due = due_handoff_ids(session=session, now=now, limit=BATCH)
    sent = 0
    wh = working_hours(settings)
    hours = settings.handoffs.accept_hours
    for handoff_id in due:
        with session_scope(engine) as session:
            row = session.get(HandOff, handoff_id)
            if row is None or row.due_at is None or row.due_at > now or row.accepted_at is not None:
                continue  # accepted or handled by another instance meanwhile
            deadline = wh.add(row.created_at, timedelta(hours=hours))
            if deadline > now:
                session.execute(update(HandOff).where(col(HandOff.id) == row.id, col(HandOff.due_at) == row.due_at)
                                .values(due_at=deadline))
                continue
            claimed = claim_handoff_escalation(session=session, handoff_id=handoff_id, now=now)
            if claimed is not None:
                sent += _tell_supervisors(session, settings, claimed, now)
    return sent


def _tell_supervisors(session: Session, settings: Settings, row: HandOff, now: datetime) -> int:
    member = session.get(Member, row.member_id)
    customer = session.get(Customer, row.customer_id)
    if member is None or customer is None:
        return 0
    hours = settings.handoffs.accept_hours
    card = build_handoff_late_card(handoff=row, customer=customer, member_name=member.display_name, hours=hours)
    sups = [s for s in supervisors_of(session=session, member=member) if s.id != member.id]
    sent = sum(push_to_member(session=session, member=s, dedupe_key=f"handoff_late:{row.id}:sup{s.id}",
                              platforms=settings.enabled_platforms, card=card, at=now) for s in sups)
    add_event(session=session, customer_id=row.customer_id, kind="handoff_late", at=now,
              summary=f"{member.display_name}（{row.role_tag}）{hours:g} 个工作小时内未接手「{row.stage}」，已告知主管",
              ref={"handoff_id": row.id})
    log.info("handoff_escalated", handoff_id=row.id, supervisors=len(sups))
    return sent
