"""Stage hand-offs: a row per (customer, stage entry, role member), created once however many
instances try (unique key, INSERT ... ON CONFLICT DO NOTHING); accepting and escalating are
conditional UPDATEs, so a tap and the sweep, or two sweeps, never both win."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from store.models import HandOff, Member, TimelineEvent
from store.timeline import add_event
from store.upsert import insert_ignore


def latest_stage_entry(*, session: Session, customer_id: int) -> TimelineEvent | None:
    """The customer's newest stage_changed event: the entry a hand-off is keyed on."""
    return session.exec(
        select(TimelineEvent).where(col(TimelineEvent.customer_id) == customer_id,
                                    col(TimelineEvent.kind) == "stage_changed")
        .order_by(col(TimelineEvent.id).desc()).limit(1)
    ).first()


def create_handoff(*, session: Session, customer_id: int, stage: str, stage_event_id: int, member_id: int,
                   role_tag: str, due_at: datetime | None, at: datetime) -> int | None:
    """The hand-off row's id if this call created it; None if it exists (another instance, a replay)."""
    return insert_ignore(session, HandOff, {
        "customer_id": customer_id, "stage": stage, "stage_event_id": stage_event_id, "member_id": member_id,
        "role_tag": role_tag, "due_at": due_at, "created_at": at,
    }, ["customer_id", "stage_event_id", "member_id"])


def accept_handoff(*, session: Session, actor: Member, handoff_id: int, at: datetime) -> HandOff | None:
    """已接手 by the member it was for: recorded once on the timeline. None if it is not theirs or
    already accepted (a second tap)."""
    result = session.execute(
        update(HandOff).where(col(HandOff.id) == handoff_id, col(HandOff.member_id) == actor.id,
                              col(HandOff.accepted_at).is_(None))
        .values(accepted_at=at, due_at=None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = session.get(HandOff, handoff_id)
    assert row is not None
    session.refresh(row)
    add_event(session=session, customer_id=row.customer_id, actor_id=actor.id, kind="handoff_accepted",
              summary=f"{actor.display_name}（{row.role_tag}）已接手「{row.stage}」", ref={"handoff_id": row.id}, at=at)
    return row


def get_handoff(*, session: Session, handoff_id: int) -> HandOff | None:
    return session.get(HandOff, handoff_id)


def due_handoff_ids(*, session: Session, now: datetime, limit: int) -> list[int]:
    ids = session.exec(select(HandOff.id).where(col(HandOff.due_at) <= now).order_by(col(HandOff.due_at))
                       .limit(limit)).all()
    return [int(i) for i in ids if i is not None]


def claim_handoff_escalation(*, session: Session, handoff_id: int, now: datetime) -> HandOff | None:
    """Take the overdue, unaccepted hand-off for escalating: only one sweep wins it."""
    result = session.execute(
        update(HandOff).where(col(HandOff.id) == handoff_id, col(HandOff.due_at) <= now,
                              col(HandOff.accepted_at).is_(None), col(HandOff.escalated_at).is_(None))
        .values(escalated_at=now, due_at=None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = session.get(HandOff, handoff_id)
    if row is not None:
        session.refresh(row)
    return row
