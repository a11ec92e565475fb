"""The worker: claims inbox rows and runs them through the router in one transaction each.

A row is done in the same transaction that writes its records and replies, so a crash leaves
either everything or nothing; the lease lets another run reclaim an abandoned row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from sqlmodel import Session

from bot.config import Settings
from bot.context import HandlerContext
from bot.models import Reply
from bot.ops.liveness import Heartbeat
from bot.ops.metrics import Metrics
from bot.pipeline.delivery import enqueue_replies
from bot.pipeline.loop import poll_until_cancelled
from bot.router import Dispatcher
from store.db import session_scope
from store.inbox import claim_next_inbound, finish_inbound, hold_inbound, retry_inbound_later
from store.leases import retry_delay
from store.members import get_member_by_platform_id
from store.models import InboundMessage, InboxStatus

log = structlog.get_logger("genjin.worker")

NOT_A_MEMBER = "你好！你还不是 genjin 团队成员，请联系管理员在系统中添加你的账号。"
FAILED_FOR_GOOD = "这条消息处理失败，原始消息已保存。发送「重试」可以再试一次。"
BAD_INPUT = "这条消息里有无法处理的内容（例如超长的数字或特殊字符），原始消息已保存。请修改后重新发送。"


def is_bad_input(exc: Exception) -> bool:
    """Errors that the same message raises again on every retry: they come from its content, not from
    the moment (a number past a column, an unencodable character). Retrying only delays the answer."""
    return isinstance(exc, OverflowError | UnicodeError | RecursionError | DataError)


class ClaimLost(Exception):
    """The row's lease ran out and another worker holds it now: drop this attempt's work."""


class Worker:
    def __init__(self, engine: Engine, settings: Settings, dispatcher: Dispatcher,
                 clock: Callable[[], datetime], on_processed: Callable[[], None] | None = None,
                 metrics: Metrics | None = None) -> None:
        self.engine = engine
        self.on_processed = on_processed  # e.g. wake the outbox sender so replies go out at once
        self.settings = settings
        self.dispatcher = dispatcher
        self.clock = clock
        self.wakeup = asyncio.Event()
        self.processed = 0
        self.metrics = metrics or Metrics()
        self.heartbeat = Heartbeat(settings.worker_poll_seconds)

    def nudge(self) -> None:
        """Adapters call this after an insert so the reply does not wait for the next poll."""
        self.wakeup.set()

    async def run(self) -> None:
        await poll_until_cancelled(name="worker", iterate=self._iterate, wakeup=self.wakeup,
                                   poll_seconds=self.settings.worker_poll_seconds, heartbeat=self.heartbeat)

    async def _iterate(self) -> bool:
        worked = await asyncio.to_thread(self.run_once)
        if worked and self.on_processed is not None:
            self.on_processed()
        return worked

    def run_once(self) -> bool:
        """Claim and process one row; False when nothing was due."""
        lease = timedelta(seconds=self.settings.inbox_lease_seconds)
        with Session(self.engine, expire_on_commit=False) as session:
            row = claim_next_inbound(session=session, lease=lease, now=self.clock())
        if row is None:
            return False
        self.process(row)
        return True

    def drain(self, limit: int = 1000) -> int:
        """Process everything due (tests and CLI)."""
        count = 0
        while count < limit and self.run_once():
            count += 1
        return count

    def process(self, row: InboundMessage) -> None:
        assert row.id is not None
        bound = log.bind(inbound_id=row.id, platform=row.platform, kind=row.kind, attempt=row.attempts)
        try:
            with session_scope(self.engine) as session:
                handled_by = self._handle(session, row.id, row.attempts)
            self.processed += 1
            self.metrics.processed("inbox", row.platform)
            bound.info("inbound_processed", handler=handled_by)
        except ClaimLost:
            bound.warning("inbound_claim_lost")  # rolled back: the new holder handles it, once
        except Exception as exc:
            bound.exception("inbound_failed")
            self._record_failure(row, exc)

    def _handle(self, session: Session, inbound_id: int, attempts: int) -> str:
        row = hold_inbound(session=session, inbound_id=inbound_id, attempts=attempts)
        if row is None:
            raise ClaimLost(inbound_id)
        now = self.clock()
        member = get_member_by_platform_id(session=session, platform=row.platform, user_id=row.sender)
        if member is None or not member.active:
            enqueue_replies(session=session, inbound=row, replies=[Reply(text=NOT_A_MEMBER)], sender=None, at=now)
            finish_inbound(session=session, inbound_id=inbound_id, status=InboxStatus.DONE, error="unknown sender",
                           at=now)
            return "unknown_sender"
        ctx = HandlerContext(session=session, settings=self.settings, member=member, inbound=row, now=now)
        handled_by = self.dispatcher.dispatch(ctx)
        enqueue_replies(session=session, inbound=row, replies=ctx.replies, sender=member, at=now)
        if row.status == InboxStatus.PROCESSING:
            finish_inbound(session=session, inbound_id=inbound_id, at=now)
        return handled_by

    def _record_failure(self, row: InboundMessage, exc: Exception) -> None:
        assert row.id is not None
        error = f"{type(exc).__name__}: {exc}"[:2000]
        now = self.clock()
        bad_input = is_bad_input(exc)
        gave_up = bad_input or row.attempts >= self.settings.inbox_max_attempts
        with session_scope(self.engine) as session:
            if hold_inbound(session=session, inbound_id=row.id, attempts=row.attempts) is None:
                return  # taken over meanwhile: the new holder decides
            if gave_up:
                finish_inbound(session=session, inbound_id=row.id, status=InboxStatus.FAILED, error=error, at=now)
                fresh = session.get(InboundMessage, row.id)
                assert fresh is not None
                member = get_member_by_platform_id(session=session, platform=row.platform, user_id=row.sender)
                enqueue_replies(session=session, inbound=fresh,
                                replies=[Reply(text=BAD_INPUT if bad_input else FAILED_FOR_GOOD)], sender=member,
                                at=now)
            else:
                retry_inbound_later(session=session, inbound_id=row.id, error=error,
                                    at=now + retry_delay(row.attempts))
        (self.metrics.failed if gave_up else self.metrics.retried)("inbox", row.platform)
