"""Module-level job functions: each finds due work with an indexed query, so running twice, on two
instances or after downtime does nothing twice and misses nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from store.db import session_scope
from store.inbox import count_inbound_by_status
from store.models import Conversation
from store.outbox import count_outbox_by_status

log = structlog.get_logger("genjin.jobs")

CONVERSATION_TTL = timedelta(hours=24)


def expire_conversations(engine: Engine, clock: Callable[[], datetime]) -> int:
    """An unanswered question is dropped after a day so a stale prompt cannot swallow a new chat."""
    with session_scope(engine) as session:
        result = session.execute(delete(Conversation).where(col(Conversation.updated_at) < clock() - CONVERSATION_TTL))
        removed = int(result.rowcount)  # type: ignore[attr-defined]
    if removed:
        log.info("conversations_expired", count=removed)
    return removed


def log_queue_health(engine: Engine) -> dict[str, dict[str, int]]:
    """What is queued, retried and failed, for the operator's log."""
    with Session(engine) as session:
        snapshot = {
            "inbox": count_inbound_by_status(session=session),
            "outbox": count_outbox_by_status(session=session),
        }
    log.info("queue_health", **snapshot)
    return snapshot
