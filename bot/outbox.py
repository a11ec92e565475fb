"""The outbox sender: delivers due rows through per-platform deliverers within their rate limits.

WeCom silently drops messages over 30/min or 1000/h per member per app, DingTalk robots allow about
20/min: over the limit we delay (and fold plain-text backlogs into one digest), never drop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.liveness import Heartbeat
from bot.metrics import Metrics
from bot.wakeup import wait_for_wakeup
from store.db import session_scope
from store.models import OutboxMessage, OutboxStatus
from store.outbox import (
    defer_outbox,
    due_outbox,
    enqueue_outbox,
    fail_outbox,
    mark_outbox_sent,
    merge_outbox,
    oldest_sent_since,
    retry_delay,
    sent_since,
)

log = structlog.get_logger("genjin.outbox")

DIGEST_AFTER = 5  # this many delayed text messages for one recipient become one digest


class PermanentDeliveryError(Exception):
    """The platform refused for good (bad recipient, invalid payload): retrying will not help."""


@dataclass(frozen=True)
class RateLimit:
    per_minute: int | None = None
    per_hour: int | None = None


class Deliverer(Protocol):
    @property
    def platform(self) -> str: ...

    @property
    def limit(self) -> RateLimit: ...

    async def deliver(self, row: OutboxMessage) -> None: ...


class OutboxSender:
    def __init__(self, engine: Engine, deliverers: dict[str, Deliverer], *, clock: Callable[[], datetime],
                 max_attempts: int = 6, metrics: Metrics | None = None) -> None:
        self.engine = engine
        self.deliverers = deliverers
        self.max_attempts = max_attempts
        self.clock = clock
        self.wakeup = asyncio.Event()
        self.metrics = metrics or Metrics()
        self.heartbeat = Heartbeat(1.0)  # run() sets its poll interval

    def nudge(self) -> None:
        self.wakeup.set()

    async def run(self, poll_seconds: float = 1.0) -> None:
        self.heartbeat.interval = poll_seconds
        while True:
            self.heartbeat.beat()
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("outbox_iteration_failed")
                sent = 0
            if not sent:
                await wait_for_wakeup(self.wakeup, poll_seconds)

    async def run_once(self) -> int:
        now = self.clock()
        rows = await asyncio.to_thread(self._due, now)
        delivered = 0
        for row in rows:
            self.heartbeat.beat()  # a batch of slow deliveries is progress, not a stuck loop
            if await self._send_one(row, now):
                delivered += 1
        return delivered

    def _due(self, now: datetime) -> list[OutboxMessage]:
        with Session(self.engine, expire_on_commit=False) as session:
            return due_outbox(session=session, now=now)

    async def _send_one(self, row: OutboxMessage, now: datetime) -> bool:
        assert row.id is not None
        deliverer = self.deliverers.get(row.platform)
        bound = log.bind(outbox_id=row.id, platform=row.platform, recipient=row.recipient)
        if deliverer is None:
            await asyncio.to_thread(self._defer, row.id, now + timedelta(minutes=5), "no deliverer configured")
            bound.warning("outbox_no_deliverer")
            return False
        wait_until = await asyncio.to_thread(self._rate_limited_until, row, deliverer.limit, now)
        if wait_until is not None:
            await asyncio.to_thread(self._delay_for_rate, row, wait_until)
            self.metrics.rate_limited(row.platform)
            bound.info("outbox_rate_limited", until=wait_until.isoformat())
            return False
        try:
            await deliverer.deliver(row)
        except PermanentDeliveryError as exc:
            await asyncio.to_thread(self._fail, row.id, str(exc))
            self.metrics.failed("outbox", row.platform)
            bound.error("outbox_failed_permanently", error=str(exc))
            return False
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if row.attempts + 1 >= self.max_attempts:
                await asyncio.to_thread(self._fail, row.id, error)
                self.metrics.failed("outbox", row.platform)
                bound.error("outbox_failed_after_retries", error=error, attempts=row.attempts + 1)
            else:
                until = now + retry_delay(row.attempts + 1)
                await asyncio.to_thread(self._defer, row.id, until, error, True)
                self.metrics.retried("outbox", row.platform)
                bound.warning("outbox_retry_scheduled", error=error, until=until.isoformat())
            return False
        await asyncio.to_thread(self._mark_sent, row.id, now)
        self.metrics.delivered(row.platform, row.created_at, now)
        bound.info("outbox_sent", kind=row.kind)
        return True

    def _rate_limited_until(self, row: OutboxMessage, limit: RateLimit, now: datetime) -> datetime | None:
        with Session(self.engine) as session:
            for cap, window in ((limit.per_minute, timedelta(minutes=1)), (limit.per_hour, timedelta(hours=1))):
                if cap is None:
                    continue
                since = now - window
                if sent_since(session=session, platform=row.platform, recipient=row.recipient, since=since) >= cap:
                    oldest = oldest_sent_since(session=session, platform=row.platform, recipient=row.recipient,
                                               since=since)
                    return (oldest or now) + window + timedelta(seconds=1)
        return None

    def _delay_for_rate(self, row: OutboxMessage, until: datetime) -> None:
        with session_scope(self.engine) as session:
            backlog = list(
                session.exec(
                    select(OutboxMessage).where(
                        col(OutboxMessage.platform) == row.platform,
                        col(OutboxMessage.recipient) == row.recipient,
                        col(OutboxMessage.status) == OutboxStatus.PENDING,
                        col(OutboxMessage.kind) == "text",
                    ).order_by(col(OutboxMessage.id))
                ).all()
            )
            if len(backlog) >= DIGEST_AFTER:
                lines = [str(m.payload.get("text", "")).splitlines()[0][:80] for m in backlog]
                text = f"【消息汇总】以下 {len(lines)} 条提醒合并发送：\n" + "\n".join(f"• {ln}" for ln in lines)
                digest_id = enqueue_outbox(session=session, platform=row.platform, recipient=row.recipient,
                                           member_id=row.member_id, kind="text", payload={"text": text},
                                           not_before=until, at=self.clock())
                assert digest_id is not None
                merge_outbox(session=session, ids=[m.id for m in backlog if m.id is not None], into_id=digest_id)
            else:
                defer_outbox(session=session, outbox_id=row.id or 0, until=until)

    def _defer(self, outbox_id: int, until: datetime, error: str, count_attempt: bool = False) -> None:
        with session_scope(self.engine) as session:
            defer_outbox(session=session, outbox_id=outbox_id, until=until, error=error, count_attempt=count_attempt)

    def _fail(self, outbox_id: int, error: str) -> None:
        with session_scope(self.engine) as session:
            fail_outbox(session=session, outbox_id=outbox_id, error=error)

    def _mark_sent(self, outbox_id: int, at: datetime) -> None:
        with session_scope(self.engine) as session:
            mark_outbox_sent(session=session, outbox_id=outbox_id, at=at)
