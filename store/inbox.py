"""The inbox: every inbound message is a row before it is acknowledged; the worker claims rows.

A claim is a lease: a row in `processing` whose lease ran out (crash, kill) is claimable again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from store.leases import claim_next
from store.models import InboundMessage, InboxStatus
from store.upsert import insert_ignore


def insert_inbound(
    *,
    session: Session,
    platform: str,
    msg_id: str,
    sender: str,
    kind: str,
    chat: str | None = None,
    text: str | None = None,
    media_ref: str | None = None,
    raw: str = "",
    status: str = InboxStatus.PENDING,
    at: datetime,
) -> int | None:
    """Store an inbound message; a duplicate (platform, msg_id) is a no-op returning None."""
    values = inbound_row(platform=platform, msg_id=msg_id, sender=sender, kind=kind, chat=chat, text=text,
                         media_ref=media_ref, raw=raw, status=status, now=at)
    return insert_ignore(session, InboundMessage, values, ["platform", "msg_id"])


def inbound_row(*, platform: str, msg_id: str, sender: str, kind: str, chat: str | None, text: str | None,
                media_ref: str | None, raw: str, now: datetime, status: str = InboxStatus.PENDING) -> dict[str, Any]:
    """The column values of a new inbox row.

    PostgreSQL text cannot hold NUL: in `text` it becomes U+FFFD (the handler answers binary junk),
    in `raw` it is escaped as the six characters \\u0000 so the payload stays recoverable."""
    return {
        "platform": platform, "msg_id": msg_id, "sender": sender, "chat": chat, "kind": kind,
        "text": text.replace("\x00", "\ufffd") if text is not None else None, "media_ref": media_ref,
        "raw": raw.replace("\x00", "\\u0000"), "status": str(status), "attempts": 0,
        "received_at": now, "next_attempt_at": None,  # NULL: due at once (whatever the worker's clock)
    }


def insert_inbound_batch(*, session: Session, rows: list[dict[str, Any]]) -> list[int | None]:
    """Many `inbound_row`s in one INSERT .. ON CONFLICT DO NOTHING RETURNING (executemany): the new id
    per row, None for a (platform, msg_id) already stored or repeated earlier in the same batch."""
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (insert(table).on_conflict_do_nothing(index_elements=["platform", "msg_id"])
            .returning(table.c.id, table.c.platform, table.c.msg_id))
    first: dict[tuple[str, str], int] = {}
    unique = []
    for i, row in enumerate(rows):
        key = (row["platform"], row["msg_id"])
        if key not in first:
            first[key] = i
            unique.append(row)
    inserted = {(platform, msg_id): int(row_id) for row_id, platform, msg_id in session.execute(stmt, unique)}
    return [inserted.get(key) if first[key] == i else None
            for i, key in enumerate((r["platform"], r["msg_id"]) for r in rows)]


def claim_next_inbound(*, session: Session, lease: timedelta, now: datetime) -> InboundMessage | None:
    """Claim the oldest due inbox row (see store.leases)."""
    return claim_next(session, InboundMessage, lease=lease, now=now)


def hold_inbound(*, session: Session, inbound_id: int, attempts: int) -> InboundMessage | None:
    """The row, locked to the end of the transaction, if the claim taken with `attempts` still holds
    (every claim increments attempts: the claim's token). None means the lease ran out and another
    worker took the row over: this worker must not write anything for it, or the message would be
    handled twice. The lock (PostgreSQL) keeps a reclaim from slipping in before this commits."""
    return session.exec(
        select(InboundMessage).where(col(InboundMessage.id) == inbound_id,
                                     col(InboundMessage.status) == InboxStatus.PROCESSING,
                                     col(InboundMessage.attempts) == attempts)
        .with_for_update().execution_options(populate_existing=True)
    ).first()


def finish_inbound(*, session: Session, inbound_id: int, at: datetime, status: str = InboxStatus.DONE,
                   error: str | None = None) -> None:
    row = session.get(InboundMessage, inbound_id)
    if row is None:
        return
    row.status = status
    row.error = error
    row.processed_at = at
    session.add(row)


def retry_inbound_later(*, session: Session, inbound_id: int, error: str, at: datetime) -> None:
    row = session.get(InboundMessage, inbound_id)
    if row is None:
        return
    row.status = InboxStatus.PENDING
    row.error = error
    row.next_attempt_at = at
    session.add(row)


def requeue_failed_inbound(*, session: Session, platform: str, sender: str) -> int:
    """The rep's 重试 command: failed rows of this sender go back to the queue (deferred media rows
    are fetched by bot/pipeline/media_retry.py on their own)."""
    result = session.execute(
        update(InboundMessage)
        .where(col(InboundMessage.platform) == platform, col(InboundMessage.sender) == sender)
        .where(col(InboundMessage.status).in_([InboxStatus.FAILED]))
        .values(status=InboxStatus.PENDING, attempts=0, next_attempt_at=None, error=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def count_inbound_by_status(*, session: Session) -> dict[str, int]:
    rows = session.execute(
        select(InboundMessage.status, func.count()).group_by(InboundMessage.status)
    ).all()
    return {str(status): int(n) for status, n in rows}
