"""Drive the bot like a platform would: insert inbound rows, run the worker, read the outbox."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from bot.app import Runtime
from bot.models import Card
from store.db import session_scope
from store.inbox import insert_inbound
from store.models import OutboxMessage

_ids = itertools.count(1)


@dataclass
class Sent:
    recipient: str
    text: str | None
    card: Card | None
    row: OutboxMessage

    @property
    def all_text(self) -> str:
        if self.card is None:
            return self.text or ""
        c = self.card
        parts = [c.title, c.subtitle or "", *(f"{f.label}:{f.value}" for f in c.fields), *c.notes]
        return "\n".join(parts)

    def field(self, label: str) -> str:
        assert self.card is not None, self.text
        return next(f.value for f in self.card.fields if f.label == label)

    def selected_tags(self) -> list[str]:
        assert self.card is not None, self.text
        return sorted(t.name for t in self.card.tags if t.selected)

    def action(self, label_or_prefix: str) -> str:
        assert self.card is not None, self.text
        for b in self.card.buttons:
            if b.label.startswith(label_or_prefix):
                return b.action
        for t in self.card.tags:
            if t.name == label_or_prefix:
                return t.action
        raise AssertionError(f"no button {label_or_prefix!r} in {self.card}")


@dataclass
class ChatDriver:
    runtime: Runtime
    platform: str = "sandbox"
    seen: int = 0
    log: list[Sent] = field(default_factory=list)

    def send(self, sender: str, text: str, *, kind: str = "text", msg_id: str | None = None,
             media_ref: str | None = None, chat: str | None = None) -> list[Sent]:
        """`chat`: the group conversation id (None: the 1:1 chat with the bot)."""
        with session_scope(self.runtime.engine) as s:
            insert_inbound(session=s, platform=self.platform, msg_id=msg_id or f"m{next(_ids)}", sender=sender,
                           kind=kind, chat=chat, text=text, media_ref=media_ref, raw=text,
                           at=self.runtime.worker.clock())
        self.runtime.worker.drain()
        return self.new_messages()

    def tap(self, sender: str, action: str) -> list[Sent]:
        return self.send(sender, action, kind="card_action")

    def new_messages(self) -> list[Sent]:
        with Session(self.runtime.engine) as s:
            rows = s.exec(select(OutboxMessage).where(col(OutboxMessage.id) > self.seen)
                          .order_by(col(OutboxMessage.id))).all()
        out = []
        for row in rows:
            self.seen = max(self.seen, row.id or 0)
            payload: dict[str, Any] = row.payload
            card = Card.model_validate(payload["card"]) if "card" in payload else None
            out.append(Sent(row.recipient, payload.get("text"), card, row))
        self.log.extend(out)
        return out

    def reply_to(self, sender: str, text: str, **kw: Any) -> Sent:
        """Exactly one message back to the sender."""
        msgs = [m for m in self.send(sender, text, **kw) if m.recipient == sender]
        assert len(msgs) == 1, [m.all_text for m in msgs]
        return msgs[0]
