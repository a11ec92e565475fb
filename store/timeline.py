"""The customer timeline: what happened, newest first; feeds history snippets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from store.models import Customer, FollowUp, Member, TimelineEvent
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


def snippet_candidates(
    *, session: Session, actor: Member, customer_id: int, limit: int = 40
) -> list[tuple[TimelineEvent, FollowUp | None, str | None]]:
    """The newest `limit` timeline rows with the follow-up each names and that record's rep's name:
    what the history snippet (bot/cards/snippet.py) ranks. Three indexed queries."""
    events = recent_events(session=session, actor=actor, customer_id=customer_id, limit=limit)
    ids = {int(f) for e in events if isinstance(f := (e.ref or {}).get("followup_id"), int)}
    followups = {f.id: f for f in session.exec(select(FollowUp).where(col(FollowUp.id).in_(ids)))} if ids else {}
    rep_ids = {f.rep_id for f in followups.values()}
    names = dict(session.exec(select(Member.id, Member.display_name).where(col(Member.id).in_(rep_ids))).all()
                 ) if rep_ids else {}
    out: list[tuple[TimelineEvent, FollowUp | None, str | None]] = []
    for e in events:
        f = followups.get((e.ref or {}).get("followup_id"))
        out.append((e, f, names.get(f.rep_id) if f is not None else None))
    return out
