"""The per-member open question (one at a time) for the minimal-entry conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from store.models import Conversation


def get_conversation(*, session: Session, member_id: int) -> Conversation | None:
    return session.get(Conversation, member_id)


def set_conversation(*, session: Session, member_id: int, state: str, data: dict[str, Any], at: datetime) -> None:
    conv = session.get(Conversation, member_id) or Conversation(member_id=member_id, state=state, updated_at=at)
    conv.state = state
    conv.data = dict(data)
    conv.updated_at = at
    session.add(conv)


def clear_conversation(*, session: Session, member_id: int) -> None:
    conv = session.get(Conversation, member_id)
    if conv is not None:
        session.delete(conv)
