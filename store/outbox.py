"""The outbox: every outbound message is a row; a sender delivers due rows within platform limits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from store.models import OutboxMessage, OutboxStatus
from store.upsert import insert_ignore


def enqueue_outbox(
    *,
    session: Session,
    platform: str,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    member_id: int | None = None,
    chat: str | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    at: datetime,
) -> int | None:
    """Queue a message; a repeated dedupe_key is a no-op returning None (exactly-once pushes)."""
    values = {
        "platform": platform, "recipient": recipient, "member_id": member_id, "chat": chat, "kind": kind,
        "payload": payload, "dedupe_key": dedupe_key, "status": OutboxStatus.PENDING, "attempts": 0,
        "next_attempt_at": not_before, "created_at": at,  # NULL: due at once
    }
    if dedupe_key is None:
        row = OutboxMessage.model_validate(values)
        session.add(row)
        session.flush()
        return row.id
    return insert_ignore(session, OutboxMessage, values, ["dedupe_key"])


def due_outbox(*, session: Session, now: datetime, limit: int = 50) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.status) == OutboxStatus.PENDING,
                   or_(col(OutboxMessage.next_attempt_at).is_(None), col(OutboxMessage.next_attempt_at) <= now))
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        ).all()
    )


def sent_since(*, session: Session, platform: str, recipient: str, since: datetime) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.platform) == platform,
                col(OutboxMessage.recipient) == recipient,
                col(OutboxMessage.sent_at) >= since,
            )
        ).one()
    )


def oldest_sent_since(*, session: Session, platform: str, recipient: str, since: datetime) -> datetime | None:
    return session.exec(
        select(func.min(OutboxMessage.sent_at)).where(
            col(OutboxMessage.platform) == platform,
            col(OutboxMessage.recipient) == recipient,
            col(OutboxMessage.sent_at) >= since,
        )
    ).one()


def mark_outbox_sent(*, session: Session, outbox_id: int, at: datetime) -> bool:
    """Only a still-pending row is marked (another sender instance may have won)."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == outbox_id, col(OutboxMessage.status) == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENT, sent_at=at, attempts=OutboxMessage.attempts + 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def defer_outbox(*, session: Session, outbox_id: int, until: datetime, error: str | None = None,
                 count_attempt: bool = False) -> None:
    values: dict[str, Any] = {"next_attempt_at": until}
    if error is not None:
        values["last_error"] = error
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == outbox_id).values(**values))


def fail_outbox(*, session: Session, outbox_id: int, error: str) -> None:
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == outbox_id)
        .values(status=OutboxStatus.FAILED, last_error=error, attempts=OutboxMessage.attempts + 1)
    )


def merge_outbox(*, session: Session, ids: list[int], into_id: int) -> None:
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.status) == OutboxStatus.PENDING)
        .values(status=OutboxStatus.MERGED, merged_into_id=into_id)
    )


def count_outbox_by_status(*, session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {str(status): int(n) for status, n in rows}


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 5 s, 10 s, 20 s ... capped at 10 minutes."""
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))
