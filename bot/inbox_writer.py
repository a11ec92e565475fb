"""Group commit for inbox inserts: callbacks that arrive together share one transaction.

A platform adapter may only acknowledge after its row is durable. One transaction per callback
makes SQLite's single writer the bottleneck under a burst (every commit waits for the previous
one); here, while one batch commits, the next callbacks queue, and the next batch writes them all
at once. Each caller still gets its own answer (new row id, or None for a duplicate) only after
the commit holding its row. A batch that fails is retried row by row so one bad row fails alone.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.models import Inbound
from store.db import session_scope
from store.inbox import insert_inbound
from store.models import InboundMessage

log = structlog.get_logger("genjin.inbox_writer")

Result = int | None | BaseException


class InboxWriter:
    def __init__(self, engine: Engine, max_batch: int = 200) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._pending: list[tuple[Inbound, asyncio.Future[int | None]]] = []
        self._flusher: asyncio.Task[None] | None = None  # strong reference while it runs

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
                results = await asyncio.to_thread(self._write, [inbound for inbound, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
                results = [exc] * len(batch)
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
                return [_insert(session, inbound) for inbound in batch]
        except Exception:
            if len(batch) == 1:
                raise
            log.exception("inbox_batch_failed", size=len(batch))
        results: list[Result] = []
        for inbound in batch:
            try:
                with session_scope(self.engine) as session:
                    results.append(_insert(session, inbound))
            except Exception as exc:
                results.append(exc)
        return results


def _insert(session: Session, inbound: Inbound) -> int | None:
    return insert_inbound(session=session, platform=inbound.platform, msg_id=inbound.msg_id,
                          sender=inbound.sender, kind=inbound.kind, chat=inbound.chat, text=inbound.text,
                          media_ref=inbound.media_ref, raw=inbound.raw)
