"""Group commit for inbox inserts: callbacks that arrive together share one transaction.

A platform adapter may only acknowledge after its row is durable. One transaction per callback
makes SQLite's single writer the bottleneck under a burst (every commit waits for the previous
one); here, while one batch commits, the next callbacks queue, and the next batch writes them all
at once. Each caller still gets its own answer (new row id, or None for a duplicate) only after
the commit holding its row. A batch that fails is retried row by row so one bad row fails alone.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.models import Inbound
from store.db import session_scope
from store.inbox import inbound_row, insert_inbound_batch
from store.models import InboundMessage

log = structlog.get_logger("genjin.inbox_writer")

Result = int | None | BaseException


class InboxWriter:
    def __init__(self, engine: Engine, clock: Clock, max_batch: int = 200) -> None:
        self.engine = engine
        self.clock = clock
        self.max_batch = max_batch
        self._pending: list[tuple[Inbound, asyncio.Future[int | None]]] = []
        self._flusher: asyncio.Task[None] | None = None  # strong reference while it runs
        # One thread of its own: batches are serial anyway (one writer), and the ack path must not
        # queue behind the worker's or the sender's jobs in the default executor.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")

    async def insert(self, inbound: Inbound) -> int | None:
        """The new inbox row id once committed, or None when (platform, msg_id) was already stored."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._pending.append((inbound, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="inbox-writer")
        return await future

    async def exists(self, platform: str, msg_id: str) -> bool:
        def probe() -> bool:
            with Session(self.engine) as session:
                found = session.exec(select(InboundMessage.id).where(
                    col(InboundMessage.platform) == platform, col(InboundMessage.msg_id) == msg_id)).first()
                return found is not None

        return await asyncio.to_thread(probe)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                results = await asyncio.get_running_loop().run_in_executor(
                    self._thread, self._write, [inbound for inbound, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
                results = [exc] * len(batch)
            log.info("inbox_batch", size=len(batch), new=[i.msg_id for (i, _), r in zip(batch, results, strict=True)
                                                         if isinstance(r, int)],
                     duplicates=sum(r is None for r in results),
                     failed=sum(isinstance(r, BaseException) for r in results))
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # the caller went away; the row is stored anyway
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _write(self, batch: list[Inbound]) -> list[Result]:
        try:
            with session_scope(self.engine) as session:
                return list[Result](insert_many(session, batch, self.clock()))
        except Exception:
            if len(batch) == 1:
                raise
            log.exception("inbox_batch_failed", size=len(batch))
        results: list[Result] = []
        for inbound in batch:
            try:
                with session_scope(self.engine) as session:
                    results.append(insert_many(session, [inbound], self.clock())[0])
            except Exception as exc:
                results.append(exc)
        return results


def insert_many(session: Session, batch: list[Inbound], now: datetime) -> list[int | None]:
    """store.inbox.insert_inbound for a batch of neutral messages, in one statement."""
    rows = [inbound_row(platform=b.platform.value, msg_id=b.msg_id, sender=b.sender, kind=b.kind.value, chat=b.chat,
                        text=b.text, media_ref=b.media_ref, raw=b.raw, now=now) for b in batch]
    return insert_inbound_batch(session=session, rows=rows)
