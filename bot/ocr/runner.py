"""The OCR runner: claims OCR job rows, reads the file in a bounded thread pool, then hands the text
to the image handler in the transaction that closes the job. The transcription runner's shape
(bot/transcribe/runner.py): the table is the queue, the lease is renewed while the file is read, a
killed process leaves the row to be reclaimed, and a runner that lost its lease writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.context import HandlerContext
from bot.models import Reply
from bot.ocr.engine import OcrUnreadable, read_file
from bot.ops.liveness import Heartbeat
from bot.ops.metrics import Metrics
from bot.pipeline.delivery import enqueue_replies
from bot.pipeline.loop import poll_until_cancelled
from store.db import session_scope
from store.leases import retry_delay
from store.models import InboundMessage, Member, OcrJob, OcrStatus
from store.ocr_jobs import claim_next_ocr, finish_ocr, renew_ocr_lease, retry_ocr_later

log = structlog.get_logger("genjin.ocr")

ReadFile = Callable[[OcrJob, Path], str]  # job, file -> the lines read (blocking)
# The text's handler (bot/handlers/evidence.on_ocr_text), injected by the composition root.
OnOcrText = Callable[[HandlerContext, OcrJob, str], None]

FAILED = "图片/文件未能识别，原文件已保存，发送「重试」再试"
UNREADABLE = ("这个文件无法读取（可能已损坏、加密或格式不支持）。原文件已保存；请重新拍照或导出后再发，"
              "或把要点用文字发给我。")


class OcrRunner:
    def __init__(self, engine: Engine, settings: Settings, *, clock: Callable[[], datetime],
                 on_text: OnOcrText, on_processed: Callable[[], None] | None = None,
                 read: ReadFile | None = None, metrics: Metrics | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.on_text = on_text
        self.on_processed = on_processed
        self._read = read
        self.lease = timedelta(seconds=settings.ocr.lease_seconds)
        self.wakeup = asyncio.Event()
        self.processed = 0
        self.metrics = metrics or Metrics()
        self.heartbeat = Heartbeat(settings.worker_poll_seconds)
        self._executor: ThreadPoolExecutor | None = None

    def read(self, job: OcrJob) -> str:
        path = self.settings.media_dir / job.media_ref
        if self._read is not None:
            return self._read(job, path)
        ocr = self.settings.ocr
        return read_file(path, kind=job.media_kind, pages=job.pages, threads=ocr.cpu_threads,
                         pdf_scale=ocr.pdf_scale, max_pixels=ocr.max_pixels, det_max_side=ocr.det_max_side)

    # -- synchronous core ----------------------------------------------------------------------

    def claim(self) -> OcrJob | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return claim_next_ocr(session=session, lease=self.lease, now=self.clock())

    def run_once(self) -> bool:
        job = self.claim()
        if job is None:
            return False
        self.process(job)
        return True

    def drain(self, limit: int = 100) -> int:
        count = 0
        while count < limit and self.run_once():
            count += 1
        return count

    def process(self, job: OcrJob) -> None:
        bound = log.bind(job_id=job.id, inbound_id=job.inbound_id, attempt=job.attempts, kind=job.media_kind)
        if job.attempts > self.settings.ocr.max_attempts:
            bound.warning("ocr_gave_up", error=job.error)  # earlier runs died mid-way (kill, OOM)
            self._give_up(job, job.error or "abandoned by earlier runs", FAILED)
            return
        text = job.text  # kept from an attempt that read the file but failed afterwards
        try:
            if text is None:
                text = self.read(job)
                bound.info("ocr_read", pages=job.pages, chars=len(text))
            self._complete(job, text)
        except OcrUnreadable as exc:
            bound.warning("ocr_unreadable", reason=exc.reason)
            self._give_up(job, f"unreadable: {exc.reason}", UNREADABLE)
        except Exception as exc:
            bound.exception("ocr_failed")
            self._record_failure(job, exc, text)

    def _complete(self, job: OcrJob, text: str) -> None:
        with session_scope(self.engine) as session:
            # Closing first also locks the row on PostgreSQL: a runner that took over waits, then loses.
            if not finish_ocr(session=session, job_id=job.id or 0, attempts=job.attempts, status=OcrStatus.DONE,
                              text=text, now=self.clock()):
                log.warning("ocr_lease_lost", job_id=job.id)
                return
            inbound = session.get(InboundMessage, job.inbound_id)
            member = session.get(Member, job.member_id)
            assert inbound is not None
            platform = inbound.platform
            if member is not None and member.active:  # a rep who left meanwhile: keep the text only
                ctx = HandlerContext(session=session, settings=self.settings, member=member, inbound=inbound,
                                     now=self.clock())
                self.on_text(ctx, job, text)
                enqueue_replies(session=session, inbound=inbound, replies=ctx.replies, sender=member, at=ctx.now)
        self.metrics.processed("ocr", platform)

    def _give_up(self, job: OcrJob, error: str, reply: str) -> None:
        """Failed for good: tell the rep; the file and the rows stay for 重试."""
        platform = "unknown"
        with session_scope(self.engine) as session:
            if not finish_ocr(session=session, job_id=job.id or 0, attempts=job.attempts, status=OcrStatus.FAILED,
                              error=error[:2000], now=self.clock()):
                return
            inbound = session.get(InboundMessage, job.inbound_id)
            member = session.get(Member, job.member_id)
            if inbound is not None and member is not None:
                platform = inbound.platform
                enqueue_replies(session=session, inbound=inbound, replies=[Reply(text=reply)], sender=member,
                                at=self.clock())
        self.metrics.failed("ocr", platform)

    def _record_failure(self, job: OcrJob, exc: Exception, text: str | None) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if job.attempts >= self.settings.ocr.max_attempts:
            self._give_up(job, error, FAILED)
            return
        with session_scope(self.engine) as session:
            retry_ocr_later(session=session, job_id=job.id or 0, attempts=job.attempts, error=error,
                            at=self.clock() + retry_delay(job.attempts), text=text)
            inbound = session.get(InboundMessage, job.inbound_id)
        self.metrics.retried("ocr", inbound.platform if inbound is not None else "unknown")

    def renew(self, job: OcrJob) -> bool:
        with session_scope(self.engine) as session:
            return renew_ocr_lease(session=session, job_id=job.id or 0, attempts=job.attempts, now=self.clock())

    # -- asynchronous loop (the app) -----------------------------------------------------------

    def nudge(self) -> None:
        self.wakeup.set()

    async def run(self) -> None:
        concurrency = self.settings.ocr.concurrency
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ocr")
        in_flight: set[asyncio.Task[None]] = set()

        async def fill_free_slots() -> bool:
            while len(in_flight) < concurrency:
                job = await asyncio.to_thread(self.claim)
                if job is None:
                    break
                task = asyncio.create_task(self._run_job(job), name=f"ocr-{job.id}")
                in_flight.add(task)  # strong reference until done
                task.add_done_callback(in_flight.discard)
            return False

        try:
            await poll_until_cancelled(name="ocr", iterate=fill_free_slots, wakeup=self.wakeup,
                                       poll_seconds=self.settings.worker_poll_seconds, heartbeat=self.heartbeat)
        finally:
            for task in in_flight:
                task.cancel()
            # A file mid-read finishes on its own; its lease (no longer renewed) lets the next run reclaim it.
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run_job(self, job: OcrJob) -> None:
        assert self._executor is not None
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self.process, job)
            self.processed += 1
            if self.on_processed is not None:
                self.on_processed()
        finally:
            heartbeat.cancel()
            self.wakeup.set()

    async def _heartbeat(self, job: OcrJob) -> None:
        interval = max(1.0, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                if not await asyncio.to_thread(self.renew, job):
                    return
            except Exception:
                log.exception("ocr_heartbeat_failed", job_id=job.id)
