"""Scheduled customer visits (the pre-visit card job reads these)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from store.customers import get_customer
from store.models import Customer, FollowUp, Member, Visit
from store.permissions import PermissionDenied, can_see
from store.timeline import add_event
from store.types import require_id


def schedule_visit(
    *,
    session: Session,
    actor: Member,
    customer_id: int,
    when: datetime,
    goal: str,
    when_text: str,
    at: datetime,
) -> Visit:
    customer = get_customer(session=session, actor=actor, customer_id=customer_id)
    visit = Visit(customer_id=require_id(customer), rep_id=require_id(actor), scheduled_at=when, goal=goal[:500],
                  created_at=at)
    session.add(visit)
    session.flush()
    add_event(
        session=session,
        customer_id=customer.id or 0,
        actor_id=actor.id,
        kind="visit_scheduled",
        summary=f"预约拜访 {when_text}" + (f"：{goal}" if goal else ""),
        ref={"visit_id": visit.id},
        at=at,
    )
    return visit


def upcoming_visits(*, session: Session, actor: Member, after: datetime, limit: int = 10) -> list[Visit]:
    visits = session.exec(
        select(Visit)
        .where(col(Visit.rep_id) == actor.id, col(Visit.status) == "scheduled", col(Visit.scheduled_at) >= after)
        .order_by(col(Visit.scheduled_at))
        .limit(limit)
    ).all()
    return list(visits)


def get_visit(*, session: Session, actor: Member, visit_id: int, for_update: bool = False) -> Visit:
    """`for_update`: read as committed now and held to the end of the transaction (a cancel and a
    move of the same visit on two instances apply one after the other)."""
    visit = session.get(Visit, visit_id) if not for_update else session.exec(
        select(Visit).where(col(Visit.id) == visit_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if visit is None:
        raise PermissionDenied("visit not found")
    get_customer(session=session, actor=actor, customer_id=visit.customer_id)  # permission check
    return visit


def cancel_visit(*, session: Session, actor: Member, visit_id: int, at: datetime) -> Visit:
    visit = get_visit(session=session, actor=actor, visit_id=visit_id, for_update=True)
    visit.status = "cancelled"
    session.add(visit)
    add_event(
        session=session,
        customer_id=visit.customer_id,
        actor_id=actor.id,
        kind="visit_cancelled",
        summary="取消拜访",
        ref={"visit_id": visit.id},
        at=at,
    )
    return visit


def reschedule_visit(
    *, session: Session, actor: Member, visit_id: int, when: datetime, when_text: str, at: datetime
) -> Visit:
    """Moving a visit changes scheduled_at, which keys its pre-visit card: the card follows the visit."""
    visit = get_visit(session=session, actor=actor, visit_id=visit_id, for_update=True)
    visit.scheduled_at = when
    visit.status = "scheduled"
    # A moved visit is a new appointment: its post-visit note is judged against the new time.
    visit.note_in_time = visit.note_checked_at = visit.prompted_at = visit.answered_at = None
    session.add(visit)
    add_event(
        session=session,
        customer_id=visit.customer_id,
        actor_id=actor.id,
        kind="visit_moved",
        summary=f"拜访改到 {when_text}",
        ref={"visit_id": visit.id},
        at=at,
    )
    return visit


def hand_over_visits(*, session: Session, customer: Customer, at: datetime,
                     actor_id: int | None = None) -> tuple[list[int], list[int]]:
    """After an owner change: the customer's upcoming visits whose rep may no longer see the
    customer follow it — to the new owner (who then gets the pre-visit card), or, when the customer
    went back to the pool, cancelled (nobody is going). Returns (moved ids, cancelled ids).

    Moving rather than cancelling: the appointment with the customer still stands, and the new
    owner is the one who must keep it."""
    upcoming = session.exec(
        select(Visit).where(col(Visit.customer_id) == customer.id, col(Visit.status) == "scheduled",
                            col(Visit.scheduled_at) > at).with_for_update()
    ).all()
    owner = session.get(Member, customer.owner_id) if customer.owner_id is not None else None
    moved: list[int] = []
    cancelled: list[int] = []
    for visit in upcoming:
        rep = session.get(Member, visit.rep_id)
        if rep is not None and can_see(rep, customer):
            continue
        if owner is not None:
            visit.rep_id = require_id(owner)
            moved.append(require_id(visit))
            summary = f"拜访转由 {owner.display_name} 负责"
        else:
            visit.status = "cancelled"
            cancelled.append(require_id(visit))
            summary = "客户退回公海，取消拜访"
        session.add(visit)
        add_event(session=session, customer_id=require_id(customer), actor_id=actor_id, kind="visit_handed_over",
                  summary=summary, ref={"visit_id": visit.id}, at=at)
    return moved, cancelled


# ---------------------------------------------------------------- post-visit notes (scheduler/postvisit.py)


def visits_awaiting_note(*, session: Session, ended_before: datetime, limit: int = 500) -> list[Visit]:
    """Scheduled visits that started before `ended_before` whose note is not yet judged (indexed:
    ix_visit_note_pending), oldest first."""
    return list(session.exec(
        select(Visit)
        .where(col(Visit.status) == "scheduled", col(Visit.note_in_time).is_(None),
               col(Visit.scheduled_at) <= ended_before)
        .order_by(col(Visit.scheduled_at))
        .limit(limit)
    ).all())


def first_note_after(*, session: Session, visit: Visit, until: datetime) -> datetime | None:
    """When the visit's rep first recorded a memo or note about its customer from the visit's start
    up to `until` (any kind: chat, voice, note), or None."""
    return session.exec(
        select(func.min(FollowUp.created_at))
        .where(col(FollowUp.rep_id) == visit.rep_id, col(FollowUp.customer_id) == visit.customer_id,
               col(FollowUp.created_at) >= visit.scheduled_at, col(FollowUp.created_at) <= until)
    ).one()


def decide_visit_note(*, session: Session, visit: Visit, in_time: bool, prompt: bool, at: datetime) -> bool:
    """Record whether the visit got its note in time, once: an atomic conditional UPDATE that only the
    first of several sweepers (instances) wins, and only while the visit is still scheduled at the time
    it was read (a cancel or a move in between wins instead). True: this caller decided it."""
    result = session.execute(
        update(Visit)
        .where(col(Visit.id) == visit.id, col(Visit.note_in_time).is_(None), col(Visit.status) == "scheduled",
               col(Visit.scheduled_at) == visit.scheduled_at)
        .values(note_in_time=in_time, note_checked_at=at, prompted_at=at if prompt else None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def open_postvisit_prompt(*, session: Session, actor: Member, since: datetime) -> Visit | None:
    """The rep's latest post-visit card sent since `since` and not yet answered (its reply or memo
    becomes that customer's follow-up)."""
    return session.exec(
        select(Visit)
        .where(col(Visit.rep_id) == actor.id, col(Visit.prompted_at) >= since, col(Visit.answered_at).is_(None),
               col(Visit.status) == "scheduled")
        .order_by(col(Visit.prompted_at).desc(), col(Visit.id).desc())
        .limit(1)
    ).first()


def mark_visit_answered(*, session: Session, visit_id: int, at: datetime) -> None:
    session.execute(update(Visit).where(col(Visit.id) == visit_id, col(Visit.answered_at).is_(None))
                    .values(answered_at=at))


def mark_visit_missed(*, session: Session, actor: Member, visit_id: int, at: datetime) -> Visit:
    """今天没去: the visit did not happen (kept, status missed, on the timeline)."""
    visit = get_visit(session=session, actor=actor, visit_id=visit_id, for_update=True)
    visit.status = "missed"
    visit.answered_at = visit.answered_at or at
    visit.note_in_time = None  # no visit, no note owed: data health does not count it
    session.add(visit)
    add_event(session=session, customer_id=visit.customer_id, actor_id=actor.id, kind="visit_missed",
              summary="拜访未成行（今天没去）", ref={"visit_id": visit.id}, at=at)
    return visit


def visit_note_health(*, session: Session, team_id: int | None, start: datetime, end: datetime) -> tuple[int, int]:
    """Data health: (visits with their note in time, visits judged) among visits that started in
    [start, end), for one team (None: all). Cancelled, moved-away and missed visits are not judged."""
    query = (select(Visit.note_in_time, func.count())
             .where(col(Visit.note_in_time).is_not(None), col(Visit.scheduled_at) >= start,
                    col(Visit.scheduled_at) < end)
             .group_by(col(Visit.note_in_time)))
    if team_id is not None:
        query = query.join(Member, col(Member.id) == col(Visit.rep_id)).where(col(Member.team_id) == team_id)
    counts = {bool(flag): int(n) for flag, n in session.exec(query).all()}
    return counts.get(True, 0), counts.get(True, 0) + counts.get(False, 0)
