"""What a handler gets: the stored message, the acting member, one DB session, and a reply list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.config import Settings
from bot.models import Card, Reply
from store.models import InboundMessage, Member


@dataclass
class HandlerContext:
    session: Session
    settings: Settings
    member: Member
    inbound: InboundMessage
    now: datetime  # aware UTC; injected so tests can travel in time
    replies: list[Reply] = field(default_factory=list)

    @property
    def text(self) -> str:
        return (self.inbound.text or "").strip()

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.settings.tz)

    def reply(self, text: str) -> None:
        self.replies.append(Reply(text=text))

    def reply_card(self, card: Card) -> None:
        self.replies.append(Reply(card=card))

    def notify(self, member_id: int, text: str | None = None, card: Card | None = None,
               dedupe_key: str | None = None) -> None:
        self.replies.append(Reply(text=text, card=card, to_member_id=member_id, dedupe_key=dedupe_key))
