"""The outbox sender: delivers due rows through per-platform deliverers within their rate limits.

WeCom silently drops messages over 30/min or 1000/h per member per app, DingTalk robots allow about
20/min: over the limit we delay (and fold plain-text backlogs into one digest), never drop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.ops.liveness import Heartbeat
from bot.ops.metrics import Metrics
from bot.pipeline.loop import poll_until_cancelled
from store.db import session_scope
from store.leases import retry_delay
from store.models import OutboxMessage
from store.outbox import (
    NOT_VISIBLE,
    cancel_outbox,
    claim_next_outbox,
    fail_outbox,
    fold_into_digest,
    in_flight_since,
    mark_outbox_sent,
    may_receive,
    release_outbox,
)

log = structlog.get_logger("genjin.outbox")

DIGEST_AFTER = 5  # this many delayed text messages for one recipient become one digest
CANCEL = "cancel"
T = TypeVar("T")


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
    """Claims due rows one at a time (a lease, store.outbox.claim_next_outbox) and delivers them.

    The order per row is: claim (committed) -> may the recipient still see the customer? -> under the
    platform's limit? -> deliver -> mark sent in its own short transaction at once. Its database work
    runs on one thread of its own, so marking a delivered row never queues behind other work.
    """

    def __init__(self, engine: Engine, deliverers: dict[str, Deliverer], *, clock: Callable[[], datetime],
                 max_attempts: int = 6, metrics: Metrics | None = None, lease_seconds: float = 60.0) -> None:
        self.engine = engine
        self.deliverers = deliverers
        self.max_attempts = max_attempts
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        self.wakeup = asyncio.Event()
        self.metrics = metrics or Metrics()
        self.heartbeat = Heartbeat(1.0)  # run() sets its poll interval
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-db")

    def nudge(self) -> None:
        self.wakeup.set()

    async def run(self, poll_seconds: float = 1.0) -> None:
        self.heartbeat.interval = poll_seconds

        async def iterate() -> bool:
            return await self.run_once() > 0

        await poll_until_cancelled(name="outbox", iterate=iterate, wakeup=self.wakeup, poll_seconds=poll_seconds,
                                   heartbeat=self.heartbeat)

    async def run_once(self, limit: int = 50) -> int:
        """Claim and handle up to `limit` due rows; the number delivered."""
        delivered = 0
        for _ in range(limit):
            self.heartbeat.beat()  # a batch of slow deliveries is progress, not a stuck loop
            now = self.clock()
            row = await self._in_db(self._claim, now)
            if row is None:
                break
            if await self._send_one(row, now):
                delivered += 1
        return delivered

    async def _in_db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    def _claim(self, now: datetime) -> OutboxMessage | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return claim_next_outbox(session=session, lease=self.lease, now=now)

    async def _send_one(self, row: OutboxMessage, now: datetime) -> bool:
        assert row.id is not None
        deliverer = self.deliverers.get(row.platform)
        bound = log.bind(outbox_id=row.id, platform=row.platform, recipient=row.recipient)
        if deliverer is None:
            await self._in_db(self._release, row, now + timedelta(minutes=5), "no deliverer configured", False)
            bound.warning("outbox_no_deliverer")
            return False
        verdict = await self._in_db(self._check, row, deliverer.limit, now)
        if verdict == CANCEL:
            bound.info("outbox_cancelled_not_visible", customer_id=row.customer_id)
            return False
        if isinstance(verdict, datetime):
            await self._in_db(self._delay_for_rate, row, verdict)
            self.metrics.rate_limited(row.platform)
            bound.info("outbox_rate_limited", until=verdict.isoformat())
            return False
        try:
            await deliverer.deliver(row)
        except PermanentDeliveryError as exc:
            await self._in_db(self._fail, row, str(exc))
            self.metrics.failed("outbox", row.platform)
            bound.error("outbox_failed_permanently", error=str(exc))
            return False
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if row.attempts >= self.max_attempts:
                await self._in_db(self._fail, row, error)
                self.metrics.failed("outbox", row.platform)
                bound.error("outbox_failed_after_retries", error=error, attempts=row.attempts)
            else:
                until = now + retry_delay(row.attempts)
                await self._in_db(self._release, row, until, error, True)
                self.metrics.retried("outbox", row.platform)
                bound.warning("outbox_retry_scheduled", error=error, until=until.isoformat())
            return False
        # The window that is left: a crash from here to the commit re-sends after the lease; WeCom's
        # duplicate check absorbs that, DingTalk has none (bot/platforms/dingtalk/deliverer.py).
        held = await self._in_db(self._mark_sent, row)
        self.metrics.delivered(row.platform, row.created_at, self.clock())
        if held:
            bound.info("outbox_sent", kind=row.kind)
        else:
            bound.warning("outbox_sent_after_claim_lost", kind=row.kind)
        return True

    def _check(self, row: OutboxMessage, limit: RateLimit, now: datetime) -> str | datetime | None:
        """CANCEL (and cancelled) when the recipient may no longer see the customer; the time to wait
        until when over the platform's limit; None to send now."""
        with session_scope(self.engine) as session:
            if not may_receive(session=session, row=row):
                cancel_outbox(session=session, row=row, reason=NOT_VISIBLE)
                return CANCEL
            for cap, window in ((limit.per_minute, timedelta(minutes=1)), (limit.per_hour, timedelta(hours=1))):
                if cap is None:
                    continue
                times = in_flight_since(session=session, platform=row.platform, recipient=row.recipient,
                                        since=now - window, exclude_id=row.id)
                if len(times) >= cap:
                    return times[len(times) - cap] + window + timedelta(seconds=1)
        return None

    def _delay_for_rate(self, row: OutboxMessage, until: datetime) -> None:
        with session_scope(self.engine) as session:
            if row.kind == "text" and fold_into_digest(session=session, row=row, until=until, min_rows=DIGEST_AFTER,
                                                       title=_digest_title, line=_digest_line,
                                                       at=self.clock()) is not None:
                return
            release_outbox(session=session, row=row, until=until, attempted=False)

    def _release(self, row: OutboxMessage, until: datetime, error: str, attempted: bool) -> None:
        with session_scope(self.engine) as session:
            release_outbox(session=session, row=row, until=until, error=error, attempted=attempted)

    def _fail(self, row: OutboxMessage, error: str) -> None:
        with session_scope(self.engine) as session:
            fail_outbox(session=session, row=row, error=error)

    def _mark_sent(self, row: OutboxMessage) -> bool:
        with session_scope(self.engine) as session:
            return mark_outbox_sent(session=session, row=row, at=self.clock())


def _digest_title(count: int) -> str:
    return f"【消息汇总】以下 {count} 条提醒合并发送："


def _digest_line(row: OutboxMessage) -> str:
    first = str(row.payload.get("text", "")).splitlines()
    return f"• {first[0][:80] if first else ''}"
