"""Fetch platform media that could not be downloaded before the ack.

The WeCom and DingTalk adapters download a voice memo (an image, a file) while the platform waits for the ack; past
their time budget they store the row with media_ref "wecom:<MediaId>" / "dingtalk:<downloadCode>"
and the voice (image) handler defers it. This loop fetches those files later (WeCom media ids live 3
days), stores them content-addressed and puts the row back in the queue; after the platform's
window it gives the row up as failed, with the reason, so the rep's 重试 is the last resort.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.models import InboundKind
from bot.ops.liveness import Heartbeat
from bot.pipeline.media import media_extension, store_media
from bot.pipeline.wakeup import wait_for_wakeup
from store.db import session_scope
from store.models import InboundMessage, InboxStatus

log = structlog.get_logger("genjin.media_retry")

Fetcher = Callable[[str], Awaitable[bytes]]
MEDIA_LIFETIME = timedelta(days=3)
BATCH = 20


class DeferredMediaFetcher:
    def __init__(self, engine: Engine, media_dir: Path, fetchers: dict[str, Fetcher],
                 clock: Callable[[], datetime], on_requeued: Callable[[], None]) -> None:
        self.engine = engine
        self.media_dir = media_dir
        self.fetchers = fetchers  # media_ref prefix ("wecom:") -> download by id/code
        self.clock = clock
        self.on_requeued = on_requeued
        self.wakeup = asyncio.Event()
        self.heartbeat = Heartbeat(60.0)  # run() sets its poll interval

    def _deferred(self) -> list[InboundMessage]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(InboundMessage).where(col(InboundMessage.status) == InboxStatus.DEFERRED,
                                             col(InboundMessage.kind).in_(("voice", "image", "file")))
                .order_by(col(InboundMessage.id)).limit(BATCH)
            ).all()
        return [r for r in rows if r.media_ref and any(r.media_ref.startswith(p) for p in self.fetchers)]

    async def run_once(self) -> int:
        requeued = 0
        for row in await asyncio.to_thread(self._deferred):
            assert row.media_ref is not None and row.id is not None
            prefix = next(p for p in self.fetchers if row.media_ref.startswith(p))
            if self.clock() - row.received_at > MEDIA_LIFETIME:
                await asyncio.to_thread(self._finish, row.id, None, "platform media expired before download")
                continue
            try:
                data = await self.fetchers[prefix](row.media_ref[len(prefix):])
            except Exception as exc:  # network or platform refusal: try again next round
                log.warning("deferred_media_fetch_failed", inbound_id=row.id, error=str(exc))
                continue
            rel = await asyncio.to_thread(store_media, data, self.media_dir,
                                        media_extension(data, InboundKind(row.kind)))
            await asyncio.to_thread(self._finish, row.id, rel, None)
            requeued += 1
        if requeued:
            self.on_requeued()
            log.info("deferred_media_fetched", count=requeued)
        return requeued

    def _finish(self, inbound_id: int, media_ref: str | None, error: str | None) -> None:
        with session_scope(self.engine) as session:
            row = session.get(InboundMessage, inbound_id)
            if row is None or row.status != InboxStatus.DEFERRED:
                return
            if media_ref is None:
                row.status, row.error = InboxStatus.FAILED, error
            else:  # back to the queue: the voice/image handler now finds a stored file
                row.media_ref, row.status, row.error, row.attempts = media_ref, InboxStatus.PENDING, None, 0
                row.next_attempt_at = None
            session.add(row)

    async def run(self, poll_seconds: float = 60.0) -> None:
        self.heartbeat.interval = poll_seconds
        while True:
            self.heartbeat.beat()
            try:
                await self.run_once()
            except Exception:
                log.exception("deferred_media_iteration_failed")
            await wait_for_wakeup(self.wakeup, poll_seconds)
