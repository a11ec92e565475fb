"""Pool recycling: customers kept but not worked go back to the 公海. The owner is warned first;
both the warning and the return are taken with a conditional UPDATE on the customer row (the idle
episode it saw: last_activity_at), so two sweepers never both warn or both return one customer, and a
follow-up that lands in between wins over the sweep."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from store.leads import assign_lead
from store.models import Customer, LeadAssignment, Member


def _idle(stage: str, idle_before: datetime) -> tuple[object, ...]:
    return (col(Customer.stage) == stage, col(Customer.owner_id).is_not(None), col(Customer.draft).is_(False),
            col(Customer.merged_into_id).is_(None), col(Customer.last_activity_at) <= idle_before)


def unwarned_idle_ids(*, session: Session, stage: str, idle_before: datetime, limit: int) -> list[int]:
    """Customers of `stage` idle since `idle_before` whose owner was not warned in this idle episode."""
    ids = session.exec(select(Customer.id).where(
        *_idle(stage, idle_before),  # type: ignore[arg-type]
        or_(col(Customer.recycle_warned_at).is_(None),
            col(Customer.recycle_warned_at) < col(Customer.last_activity_at)),
    ).order_by(col(Customer.last_activity_at)).limit(limit)).all()
    return [int(i) for i in ids if i is not None]


def idle_ids(*, session: Session, stage: str, idle_before: datetime, warned_before: datetime | None,
             limit: int) -> list[int]:
    """Customers of `stage` idle since `idle_before`; with `warned_before`, only those whose owner was
    warned in this idle spell by then (a sweep that was down over the warning day warns first)."""
    stmt = select(Customer.id).where(*_idle(stage, idle_before))  # type: ignore[arg-type]
    if warned_before is not None:
        stmt = stmt.where(col(Customer.recycle_warned_at) >= col(Customer.last_activity_at),
                          col(Customer.recycle_warned_at) <= warned_before)
    ids = session.exec(stmt.order_by(col(Customer.last_activity_at)).limit(limit)).all()
    return [int(i) for i in ids if i is not None]


def claim_recycle_warning(*, session: Session, customer: Customer, now: datetime) -> bool:
    """Mark the owner warned for this idle episode; True for the one sweeper that did it."""
    result = session.execute(
        update(Customer).where(
            col(Customer.id) == customer.id, col(Customer.owner_id) == customer.owner_id,
            col(Customer.last_activity_at) == customer.last_activity_at,
            or_(col(Customer.recycle_warned_at).is_(None),
                col(Customer.recycle_warned_at) < col(Customer.last_activity_at)),
        ).values(recycle_warned_at=now)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def return_to_pool(*, session: Session, customer: Customer, days: int, now: datetime,
                   due_hours: float) -> LeadAssignment | None:
    """Take the customer from its idle owner into the team's pool with the reason logged (assignment
    log and timeline); None if another sweeper did, or a follow-up or a new owner came in between."""
    owner_id, seen = customer.owner_id, customer.last_activity_at
    result = session.execute(
        update(Customer).where(col(Customer.id) == customer.id, col(Customer.owner_id) == owner_id,
                               col(Customer.last_activity_at) == seen).values(owner_id=None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.refresh(customer)
    owner = session.get(Member, owner_id) if owner_id is not None else None
    who = owner.display_name if owner else "负责人"
    reason = f"{who} 已 {days} 天没有跟进（阶段「{customer.stage}」），自动回收到公海"
    return assign_lead(session=session, customer=customer, member=None, team_id=customer.team_id, kind="recycle",
                       reason=reason, now=now, due_hours=due_hours, previous_owner_id=owner_id,
                       details={"idle_days": days})
