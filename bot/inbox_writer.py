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

import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.models import Inbound
from store.db import session_scope
from store.models import InboundMessage, InboxStatus
from store.types import utcnow

log = structlog.get_logger("genjin.inbox_writer")

Result = int | None | BaseException


class InboxWriter:
    def __init__(self, engine: Engine, max_batch: int = 200) -> None:
        self.engine = engine
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
                return list[Result](insert_many(session, batch))
        except Exception:
            if len(batch) == 1:
                raise
            log.exception("inbox_batch_failed", size=len(batch))
        results: list[Result] = []
        for inbound in batch:
            try:
                with session_scope(self.engine) as session:
                    results.append(insert_many(session, [inbound])[0])
            except Exception as exc:
                results.append(exc)
        return results


def insert_many(session: Session, batch: list[Inbound]) -> list[int | None]:
    """store.inbox.insert_inbound for many rows in one statement (INSERT .. ON CONFLICT DO NOTHING
    RETURNING, executemany): the new id per row, None for a (platform, msg_id) already stored or
    repeated earlier in the same batch. (A candidate for store/inbox.py.)"""
    now = utcnow()
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (insert(table).on_conflict_do_nothing(index_elements=["platform", "msg_id"])
            .returning(table.c.id, table.c.platform, table.c.msg_id))
    first: dict[tuple[str, str], int] = {}
    rows = []
    for i, inbound in enumerate(batch):
        key = (inbound.platform.value, inbound.msg_id)
        if key in first:
            continue
        first[key] = i
        # The same values as store.inbox.insert_inbound (tests/test_wecom_inbox_writer.py compares them).
        text = inbound.text.replace("\x00", "\ufffd") if inbound.text is not None else None
        rows.append({"platform": key[0], "msg_id": inbound.msg_id, "sender": inbound.sender, "chat": inbound.chat,
                     "kind": inbound.kind.value, "text": text, "media_ref": inbound.media_ref,
                     "raw": inbound.raw.replace("\x00", "\\u0000"), "status": InboxStatus.PENDING.value,
                     "attempts": 0, "received_at": now, "next_attempt_at": None})
    inserted = {(platform, msg_id): int(row_id) for row_id, platform, msg_id in session.execute(stmt, rows)}
    return [inserted.get(key) if first[key] == i else None
            for i, key in enumerate((b.platform.value, b.msg_id) for b in batch)]
