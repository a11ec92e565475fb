"""Queue a scheduled push for a member: always an outbox row, keyed for exactly-once delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.models import Card
from bot.pipeline.delivery import address_of
from store.models import Member
from store.outbox import enqueue_outbox


def push_to_member(
    *,
    session: Session,
    member: Member,
    dedupe_key: str,
    platforms: list[str],
    text: str | None = None,
    card: Card | None = None,
    customer_id: int | None = None,
    at: datetime,
) -> bool:
    """True if queued now; False if this key was already queued (another run or instance) or the
    member has no id on any enabled platform (in `platforms`, most preferred first). A push about one
    customer names it (`customer_id`): the sender checks again at send time that the member may
    still see that customer, and cancels it otherwise (a 转给 in between)."""
    return queue_for_member(session=session, member=member, dedupe_key=dedupe_key, platforms=platforms, text=text,
                            card=card, customer_id=customer_id, at=at) is not None


def queue_for_member(
    *,
    session: Session,
    member: Member,
    dedupe_key: str,
    platforms: list[str],
    text: str | None = None,
    card: Card | None = None,
    customer_id: int | None = None,
    extra: dict[str, Any] | None = None,
    not_before: datetime | None = None,
    at: datetime,
) -> int | None:
    """push_to_member, returning the new row's id; `not_before` holds the row back (the stale sweep
    folds held alerts into one digest, and a held row nobody folded is still sent); `extra` rides
    along in the payload for whoever folds it."""
    address = address_of(member, platforms)
    if address is None or address[0] not in platforms or not member.active:
        return None
    platform, recipient = address
    payload: dict[str, Any] = {"card": card.model_dump()} if card is not None else {"text": text or ""}
    payload.update(extra or {})
    queued = enqueue_outbox(
        session=session,
        platform=platform,
        recipient=recipient,
        member_id=member.id,
        customer_id=customer_id,
        kind="card" if card is not None else "text",
        payload=payload,
        dedupe_key=dedupe_key,
        not_before=not_before,
        at=at,
    )
    return queued
