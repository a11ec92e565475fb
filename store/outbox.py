"""The outbox: every outbound message is a row; a sender delivers due rows within platform limits.

Exactly once on N instances: a sender claims a row with a lease (status processing, like the inbox),
delivers it, and marks it in its own short transaction right after the platform answered. Every
later state change is conditional on still holding that claim, except `sent`: a delivered row is
never recorded as failed. What remains is the window between the platform's answer and that mark;
a crash there is covered by the platform's own idempotency where it has one (bot/platforms/wecom/deliverer.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, update
from sqlmodel import Session, col, select

from store.leases import claim_next
from store.models import OutboxMessage, OutboxStatus
from store.permissions import member_may_see
from store.upsert import insert_ignore


def enqueue_outbox(
    *,
    session: Session,
    platform: str,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    member_id: int | None = None,
    customer_id: int | None = None,
    chat: str | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    at: datetime,
) -> int | None:
    """Queue a message; a repeated dedupe_key is a no-op returning None (exactly-once pushes).

    `customer_id` names the customer a push is about: the sender delivers it only while the member
    may still see that customer (a 转给 in between cancels it)."""
    values = {
        "platform": platform, "recipient": recipient, "member_id": member_id, "customer_id": customer_id,
        "chat": chat, "kind": kind,
        "payload": payload, "dedupe_key": dedupe_key, "status": OutboxStatus.PENDING, "attempts": 0,
        "next_attempt_at": not_before, "created_at": at,  # NULL: due at once
    }
    if dedupe_key is None:
        row = OutboxMessage.model_validate(values)
        session.add(row)
        session.flush()
        return row.id
    return insert_ignore(session, OutboxMessage, values, ["dedupe_key"])


def claim_next_outbox(*, session: Session, lease: timedelta, now: datetime) -> OutboxMessage | None:
    """Claim the oldest due row with a lease (store.leases): status processing, claimed_at now and
    attempts + 1. Two senders (or two instances) never both hold a row; a row whose holder died is
    claimable again once the lease has run out."""
    return claim_next(session, OutboxMessage, lease=lease, now=now)


NOT_VISIBLE = "recipient may no longer see the customer"


def may_receive(*, session: Session, row: OutboxMessage) -> bool:
    """A push about a customer goes only to a member who may see that customer at send time."""
    if row.member_id is None or row.customer_id is None:
        return True
    return member_may_see(session=session, member_id=row.member_id, customer_id=row.customer_id)


def _held(row: OutboxMessage) -> ColumnElement[bool]:
    """The row is still in the claim `row` was taken with: a claim is (claimed_at, attempts), and
    every new claim moves both, so a sender whose lease ran out cannot touch the next holder's."""
    return and_(col(OutboxMessage.id) == row.id, col(OutboxMessage.status) == OutboxStatus.PROCESSING,
                col(OutboxMessage.claimed_at) == row.claimed_at, col(OutboxMessage.attempts) == row.attempts)


def in_flight_since(*, session: Session, platform: str, recipient: str, since: datetime,
                    exclude_id: int | None = None) -> list[datetime]:
    """When each message to this recipient left, or is leaving, within the window: sent rows by
    sent_at, and rows other senders hold right now by claimed_at. Counting the claimed ones keeps N
    instances together under the platform's per-recipient limit: a claim is committed before its
    holder counts, so of two senders the later one always sees the other's message. One statement
    (one snapshot on PostgreSQL): a row that turns from held to sent in between is seen once."""
    found = session.exec(
        select(OutboxMessage.sent_at, OutboxMessage.claimed_at).where(
            col(OutboxMessage.platform) == platform, col(OutboxMessage.recipient) == recipient,
            or_(col(OutboxMessage.sent_at) >= since,
                and_(col(OutboxMessage.status) == OutboxStatus.PROCESSING, col(OutboxMessage.claimed_at) >= since,
                     col(OutboxMessage.id) != (exclude_id or 0))),
        )
    ).all()
    return sorted(t for sent_at, claimed_at in found if (t := sent_at or claimed_at) is not None)


def mark_outbox_sent(*, session: Session, row: OutboxMessage, at: datetime) -> bool:
    """The platform took the message: sent. True if this sender still held the claim.

    A delivered row ends `sent` even when the claim was lost meanwhile (a send slower than the lease,
    another sender reclaimed it, or marked it failed or cancelled): what was delivered is never
    recorded as anything else."""
    result = session.execute(update(OutboxMessage).where(_held(row)).values(status=OutboxStatus.SENT, sent_at=at))
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row.id, col(OutboxMessage.status) != OutboxStatus.SENT)
        .values(status=OutboxStatus.SENT, sent_at=at)
    )
    return False


def release_outbox(*, session: Session, row: OutboxMessage, until: datetime, error: str | None = None,
                   attempted: bool = True) -> bool:
    """Give the claim back: pending again from `until`. `attempted` False (held back by a rate
    limit, no deliverer) takes back the attempt the claim counted, so waiting never exhausts the
    retries. False if the claim was lost (nothing changed)."""
    values: dict[str, Any] = {"status": OutboxStatus.PENDING, "next_attempt_at": until}
    if error is not None:
        values["last_error"] = error
    if not attempted:
        values["attempts"] = OutboxMessage.attempts - 1
    result = session.execute(update(OutboxMessage).where(_held(row)).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def fail_outbox(*, session: Session, row: OutboxMessage, error: str) -> bool:
    """Failed for good — only while still holding the claim, so a row another sender delivered
    meanwhile is never turned into a failure."""
    result = session.execute(
        update(OutboxMessage).where(_held(row)).values(status=OutboxStatus.FAILED, last_error=error)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def cancel_outbox(*, session: Session, row: OutboxMessage, reason: str) -> bool:
    result = session.execute(
        update(OutboxMessage).where(_held(row)).values(status=OutboxStatus.CANCELLED, last_error=reason)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def fold_into_digest(*, session: Session, row: OutboxMessage, until: datetime, min_rows: int,
                     title: Callable[[int], str], line: Callable[[OutboxMessage], str], at: datetime) -> int | None:
    """Fold the recipient's waiting plain-text backlog (the held `row` and every pending text row to
    the same recipient) into one digest row due at `until`; None (nothing changed) below `min_rows`.

    Rows another sender has claimed are left alone: each backlog row is taken by a conditional
    UPDATE (pending, or `row` in our claim), and the digest is written from the rows actually taken,
    so a line is never both in a digest and sent on its own."""
    same = (col(OutboxMessage.platform) == row.platform, col(OutboxMessage.recipient) == row.recipient,
            col(OutboxMessage.kind) == "text")
    waiting = or_(col(OutboxMessage.status) == OutboxStatus.PENDING, _held(row))
    backlog = session.exec(select(OutboxMessage).where(*same, waiting).order_by(col(OutboxMessage.id))).all()
    if len(backlog) < min_rows:
        return None
    visible = [m.id for m in backlog if may_receive(session=session, row=m)]
    hidden = [m.id for m in backlog if m.id not in visible]
    if hidden:
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(hidden), waiting)
                        .values(status=OutboxStatus.CANCELLED, last_error=NOT_VISIBLE))
    digest_id = enqueue_outbox(session=session, platform=row.platform, recipient=row.recipient, member_id=row.member_id,
                               kind="text", payload={"text": ""}, not_before=until, at=at)
    assert digest_id is not None
    session.execute(
        update(OutboxMessage).where(col(OutboxMessage.id).in_(visible), waiting)
        .values(status=OutboxStatus.MERGED, merged_into_id=digest_id)
    )
    folded = list(session.exec(
        select(OutboxMessage).where(col(OutboxMessage.merged_into_id) == digest_id)
        .order_by(col(OutboxMessage.id))
    ).all())
    if not folded:  # every line went elsewhere meanwhile (claimed by others, or cancelled)
        session.execute(delete(OutboxMessage).where(col(OutboxMessage.id) == digest_id))
        return None
    text = title(len(folded)) + "\n" + "\n".join(line(m) for m in folded)
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == digest_id).values(payload={"text": text}))
    return digest_id


def fold_held_rows(*, session: Session, row_ids: list[int], dedupe_key: str, min_rows: int,
                   payload_of: Callable[[list[OutboxMessage]], dict[str, Any]], at: datetime) -> int | None:
    """Fold rows queued held back (`not_before`) for one recipient into one card row keyed
    `dedupe_key`, due at once; None (the rows released to go on their own, at once) below `min_rows`.

    One transaction; every row is taken by a conditional UPDATE (still pending), so a row a sender
    took meanwhile (its hold ran out) is never also in the digest; rows the recipient may no longer
    see are cancelled, as the sender would."""
    waiting = col(OutboxMessage.status) == OutboxStatus.PENDING
    rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(row_ids), waiting)
                        .order_by(col(OutboxMessage.id))).all()
    visible = [m.id for m in rows if may_receive(session=session, row=m)]
    hidden = [m.id for m in rows if m.id not in visible]
    if hidden:
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(hidden), waiting)
                        .values(status=OutboxStatus.CANCELLED, last_error=NOT_VISIBLE))
    first = next((m for m in rows if m.id in visible), None)
    digest_id = None
    if first is not None and len(visible) >= min_rows:
        digest_id = enqueue_outbox(session=session, platform=first.platform, recipient=first.recipient,
                                   member_id=first.member_id, kind="card", payload={}, dedupe_key=dedupe_key, at=at)
    if digest_id is None:  # too few, or this digest exists already: each row goes on its own, now
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(visible), waiting)
                        .values(next_attempt_at=None))
        return None
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(visible), waiting)
                    .values(status=OutboxStatus.MERGED, merged_into_id=digest_id))
    folded = list(session.exec(select(OutboxMessage).where(col(OutboxMessage.merged_into_id) == digest_id)
                               .order_by(col(OutboxMessage.id))).all())
    if not folded:  # every row went on its own meanwhile
        session.execute(delete(OutboxMessage).where(col(OutboxMessage.id) == digest_id))
        return None
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == digest_id)
                    .values(payload=payload_of(folded)))
    return digest_id


def count_outbox_by_status(*, session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {str(status): int(n) for status, n in rows}
