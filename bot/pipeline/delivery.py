"""Turn handler replies into outbox rows (the only way anything is sent)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.models import Reply
from store.members import PLATFORM_ID_COLUMN, platform_id_of
from store.models import InboundMessage, Member
from store.outbox import enqueue_outbox


def address_of(member: Member, preferred: str | list[str]) -> tuple[str, str] | None:
    """(platform, user id) where this member can be reached, in order of preference."""
    order = [preferred] if isinstance(preferred, str) else preferred
    for platform in (*order, *PLATFORM_ID_COLUMN):
        user_id = platform_id_of(member, platform)
        if user_id:
            return platform, user_id
    return None


def enqueue_replies(*, session: Session, inbound: InboundMessage, replies: list[Reply],
                    sender: Member | None, at: datetime) -> int:
    queued = 0
    for reply in replies:
        if reply.to_member_id is None:
            platform, recipient, member_id, chat = inbound.platform, inbound.sender, (
                sender.id if sender else None), inbound.chat
        else:
            target = session.get(Member, reply.to_member_id)
            address = address_of(target, inbound.platform) if target else None
            if target is None or address is None:
                continue
            (platform, recipient), member_id, chat = address, target.id, None
        enqueue_outbox(session=session, platform=platform, recipient=recipient, member_id=member_id,
                       chat=chat, kind=reply.kind, payload=reply.payload(), dedupe_key=reply.dedupe_key, at=at)
        queued += 1
    return queued
