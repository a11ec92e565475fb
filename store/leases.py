"""Leased claims over a queue table (the inbox, transcription jobs): a row is due when pending and
past its next attempt time, or when its processing lease ran out (a crashed or killed worker)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, or_, update
from sqlmodel import Session, col, select

PENDING = "pending"
PROCESSING = "processing"

Row = TypeVar("Row")


def claimable(model: Any, now: datetime, lease: timedelta) -> ColumnElement[bool]:
    return or_(
        and_(col(model.status) == PENDING,
             or_(col(model.next_attempt_at).is_(None), col(model.next_attempt_at) <= now)),
        and_(col(model.status) == PROCESSING, col(model.claimed_at) < now - lease),
    )


def claim_next(session: Session, model: type[Row], *, lease: timedelta, now: datetime) -> Row | None:
    """Claim the oldest due row. Optimistic: the UPDATE re-checks the state, so two workers (or two
    instances on PostgreSQL) never both win the same row; the loser tries the next one."""
    table: Any = model
    for _ in range(5):
        candidate = session.exec(
            select(model).where(claimable(table, now, lease)).order_by(col(table.id)).limit(1)
        ).first()
        if candidate is None:
            return None
        result = session.execute(
            update(table)
            .where(col(table.id) == candidate.id)  # type: ignore[attr-defined]
            .where(claimable(table, now, lease))
            .values(status=PROCESSING, claimed_at=now, attempts=table.attempts + 1)
        )
        session.commit()
        if result.rowcount == 1:  # type: ignore[attr-defined]
            session.refresh(candidate)
            return candidate
    return None


def retry_delay(attempts: int) -> timedelta:
    """The one backoff policy of every leased queue (inbox, transcription jobs, outbox): after the
    n-th failed attempt wait 5 s, 10 s, 20 s ... capped at 10 minutes."""
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))
