"""Scheduled customer visits (the pre-visit card job reads these)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from store.customers import get_customer
from store.models import Customer, Member, Visit
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
