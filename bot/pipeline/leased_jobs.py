"""The leased-job loop shared by the slow media runners (bot/transcribe/runner.py, bot/ocr/runner.py).

The table is the queue. Each claim is a lease renewed by a heartbeat while the (seconds-long) engine
call runs on a bounded thread pool; a killed process leaves the row to be reclaimed after the lease.
The job row is closed in the same transaction that runs the result's handler and writes the outbox
rows, so a crash never leaves half a result, and a runner that lost its lease writes nothing.
A job that fails is retried with backoff (store/leases.retry_delay) up to the runner's attempt
limit, then given up with a reply to the rep; a file that cannot be read at all is given up at once.

A subclass supplies only what differs: its store functions, its engine call, its reply texts and
its names (metrics label, log events, thread and task names).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.context import HandlerContext
from bot.models import Reply
from bot.ops.liveness import Heartbeat
from bot.ops.metrics import Metrics
from bot.pipeline.delivery import enqueue_replies
from bot.pipeline.loop import poll_until_cancelled
from store.db import session_scope
from store.leases import retry_delay
from store.models import InboundMessage, Member


class LeasedJob(Protocol):
    """What the loop reads of a job row (TranscriptionJob, OcrJob)."""

    @property
    def id(self) -> int | None: ...
    @property
    def inbound_id(self) -> int: ...
    @property
    def member_id(self) -> int: ...
    @property
    def attempts(self) -> int: ...
    @property
    def error(self) -> str | None: ...


J = TypeVar("J", bound=LeasedJob)


class LeasedJobRunner(ABC, Generic[J]):
    kind: ClassVar[str]  # metrics label and log-event prefix: "transcription", "ocr"
    loop_name: ClassVar[str]  # the poll loop's name (liveness, logs)
    thread_prefix: ClassVar[str]  # the pool threads' name prefix
    task_prefix: ClassVar[str]  # the asyncio task per job: f"{task_prefix}-{job.id}"
    failed_reply: ClassVar[str]  # what the rep reads when the job failed for good (重试 stays possible)
    unreadable_reply: ClassVar[str]  # ... when the file itself cannot be read
    unreadable_event: ClassVar[str]  # log event for an unreadable file
    unreadable_error: ClassVar[str]  # prefix of the stored error for an unreadable file

    def __init__(self, engine: Engine, settings: Settings, *, clock: Callable[[], datetime],
                 on_result: Callable[[HandlerContext, J, str], None], on_processed: Callable[[], None] | None,
                 metrics: Metrics | None, lease: timedelta, log: Any) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.on_result = on_result  # the handler, injected by the composition root; runs in the closing transaction
        self.on_processed = on_processed  # e.g. wake the outbox sender so the card goes out at once
        self.lease = lease
        self.log = log
        self.wakeup = asyncio.Event()
        self.processed = 0
        self.metrics = metrics or Metrics()
        self.heartbeat = Heartbeat(settings.worker_poll_seconds)
        self._executor: ThreadPoolExecutor | None = None

    # -- what a subclass supplies --------------------------------------------------------------

    # Read from the settings on each use, not fixed at construction (tests lower them on a live runner).
    @property
    @abstractmethod
    def concurrency(self) -> int: ...

    @property
    @abstractmethod
    def max_attempts(self) -> int: ...

    @abstractmethod
    def work(self, job: J, bound: Any) -> str:
        """The blocking engine call (on a pool thread): the job's file -> its text."""

    @abstractmethod
    def unreadable_reason(self, exc: Exception) -> str | None:
        """The reason when `exc` says the file cannot be read at all (retrying will not help)."""

    @abstractmethod
    def kept_text(self, job: J) -> str | None:
        """Text kept from an attempt that got it but failed afterwards (not worked out again)."""

    @abstractmethod
    def claim_job(self, session: Session, now: datetime) -> J | None: ...

    @abstractmethod
    def finish_job(self, session: Session, job: J, *, done: bool, text: str | None = None,
                   error: str | None = None, now: datetime) -> bool:
        """Close the job (done or failed) if it is still ours; False when the lease was lost."""

    @abstractmethod
    def retry_job_later(self, session: Session, job: J, *, error: str, at: datetime, text: str | None) -> None: ...

    @abstractmethod
    def renew_job_lease(self, session: Session, job: J, *, now: datetime) -> bool: ...

    def bind_log(self, job: J) -> Any:
        return self.log.bind(job_id=job.id, inbound_id=job.inbound_id, attempt=job.attempts)

    # -- synchronous core (one job, on the calling thread) ---------------------------------------

    def claim(self) -> J | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return self.claim_job(session, self.clock())

    def run_once(self) -> bool:
        """Claim and fully process one job on this thread; False when nothing was due."""
        job = self.claim()
        if job is None:
            return False
        self.process(job)
        return True

    def drain(self, limit: int = 100) -> int:
        """Process everything due (tests and CLI)."""
        count = 0
        while count < limit and self.run_once():
            count += 1
        return count

    def process(self, job: J) -> None:
        assert job.id is not None
        bound = self.bind_log(job)
        if job.attempts > self.max_attempts:
            # Claimed more often than allowed: earlier runs died mid-way (kill, OOM). Stop here.
            bound.warning(f"{self.kind}_gave_up", error=job.error)
            self._give_up(job, job.error or "abandoned by earlier runs", self.failed_reply)
            return
        text = self.kept_text(job)
        try:
            if text is None:
                text = self.work(job, bound)
            self._complete(job, text)
        except Exception as exc:
            reason = self.unreadable_reason(exc)
            if reason is not None:
                bound.warning(self.unreadable_event, reason=reason)
                self._give_up(job, f"{self.unreadable_error}: {reason}", self.unreadable_reply)
                return
            bound.exception(f"{self.kind}_failed")
            self._record_failure(job, exc, text)

    def _complete(self, job: J, text: str) -> None:
        with session_scope(self.engine) as session:
            # Close the job first: on PostgreSQL this also locks the row, so a runner that took the job
            # over after our lease ran out waits here and then finds it is no longer its own.
            if not self.finish_job(session, job, done=True, text=text, now=self.clock()):
                self.log.warning(f"{self.kind}_lease_lost", job_id=job.id)
                return
            inbound = session.get(InboundMessage, job.inbound_id)
            member = session.get(Member, job.member_id)
            assert inbound is not None
            platform = inbound.platform
            if member is not None and member.active:  # a rep who left meanwhile: keep the text only
                ctx = HandlerContext(session=session, settings=self.settings, member=member, inbound=inbound,
                                     now=self.clock())
                self.on_result(ctx, job, text)
                enqueue_replies(session=session, inbound=inbound, replies=ctx.replies, sender=member, at=ctx.now)
        self.metrics.processed(self.kind, platform)

    def _give_up(self, job: J, error: str, reply: str) -> None:
        """Failed for good: tell the rep; the file and the rows stay for 重试."""
        with session_scope(self.engine) as session:
            if not self.finish_job(session, job, done=False, error=error[:2000], now=self.clock()):
                return
            inbound = session.get(InboundMessage, job.inbound_id)
            member = session.get(Member, job.member_id)
            if inbound is not None and member is not None:
                enqueue_replies(session=session, inbound=inbound, replies=[Reply(text=reply)], sender=member,
                                at=self.clock())
        self.metrics.failed(self.kind, inbound.platform if inbound is not None else "unknown")

    def _record_failure(self, job: J, exc: Exception, text: str | None) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if job.attempts >= self.max_attempts:
            self._give_up(job, error, self.failed_reply)
            return
        with session_scope(self.engine) as session:
            self.retry_job_later(session, job, error=error, at=self.clock() + retry_delay(job.attempts), text=text)
            inbound = session.get(InboundMessage, job.inbound_id)
        self.metrics.retried(self.kind, inbound.platform if inbound is not None else "unknown")

    def renew(self, job: J) -> bool:
        with session_scope(self.engine) as session:
            return self.renew_job_lease(session, job, now=self.clock())

    # -- asynchronous loop (the app) -----------------------------------------------------------

    def nudge(self) -> None:
        """Called on the event loop (e.g. after the worker stored a job) so a job need not wait a poll."""
        self.wakeup.set()

    async def run(self) -> None:
        concurrency = self.concurrency
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=self.thread_prefix)
        in_flight: set[asyncio.Task[None]] = set()

        async def fill_free_slots() -> bool:
            """Claim due jobs while a slot is free. False: wait for a nudge or the poll (every slot
            busy, or nothing due); a finished job nudges the loop."""
            while len(in_flight) < concurrency:
                job = await asyncio.to_thread(self.claim)
                if job is None:
                    break
                task = asyncio.create_task(self._run_job(job), name=f"{self.task_prefix}-{job.id}")
                in_flight.add(task)  # strong reference until done
                task.add_done_callback(in_flight.discard)
            return False

        try:
            await poll_until_cancelled(name=self.loop_name, iterate=fill_free_slots, wakeup=self.wakeup,
                                       poll_seconds=self.settings.worker_poll_seconds, heartbeat=self.heartbeat)
        finally:
            for task in in_flight:
                task.cancel()
            # Threads mid-job finish on their own; their lease (no longer renewed) lets the next
            # run reclaim the job if this process exits first.
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run_job(self, job: J) -> None:
        assert self._executor is not None
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self.process, job)
            self.processed += 1
            if self.on_processed is not None:
                self.on_processed()
        finally:
            heartbeat.cancel()
            self.wakeup.set()  # a slot is free: claim the next job at once

    async def _heartbeat(self, job: J) -> None:
        interval = max(1.0, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                if not await asyncio.to_thread(self.renew, job):
                    return
            except Exception:
                self.log.exception(f"{self.kind}_heartbeat_failed", job_id=job.id)
