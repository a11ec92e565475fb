"""The customer timeline: what happened, newest first; feeds history snippets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from store.models import Customer, Member, TimelineEvent
from store.permissions import PermissionDenied, can_see
from store.privacy import mask_contacts


def stored_summary(summary: str) -> str:
    """What a timeline row keeps: summaries quote what reps typed and show in history snippets,
    cards and pushes to other members, so phones and e-mails are masked, never stored in full."""
    return mask_contacts(summary)[:500]


def add_event(
    *,
    session: Session,
    customer_id: int,
    kind: str,
    summary: str,
    actor_id: int | None = None,
    ref: dict[str, Any] | None = None,
    at: datetime,
) -> TimelineEvent:
    event = TimelineEvent(
        customer_id=customer_id,
        actor_id=actor_id,
        kind=kind,
        summary=stored_summary(summary),
        ref=ref or {},
        created_at=at,
    )
    session.add(event)
    session.flush()
    return event


def recent_events(
    *, session: Session, actor: Member, customer_id: int, limit: int = 3, exclude_id: int | None = None
) -> list[TimelineEvent]:
    customer = session.get(Customer, customer_id)
    if customer is None or not can_see(actor, customer):
        raise PermissionDenied("customer not visible")
    stmt = select(TimelineEvent).where(col(TimelineEvent.customer_id) == customer_id)
    if exclude_id is not None:
        stmt = stmt.where(col(TimelineEvent.id) != exclude_id)
    stmt = stmt.order_by(col(TimelineEvent.created_at).desc(), col(TimelineEvent.id).desc()).limit(limit)
    return list(session.exec(stmt).all())
