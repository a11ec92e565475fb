"""The transcription runner: claims job rows, transcribes in a bounded thread pool, then turns the
transcript into a follow-up and its replies in one transaction.

Like the inbox worker, the table is the queue. Each claim is a lease renewed by a heartbeat while
the (seconds-long) transcription runs; a killed process leaves the row to be reclaimed after the
lease. The job row is closed in the same transaction that writes the follow-up and the outbox
rows, so a crash never leaves half a result, and a runner that lost its lease writes nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.context import HandlerContext
from bot.extract import tag_rules
from bot.models import Reply
from bot.ops.liveness import Heartbeat
from bot.ops.metrics import Metrics
from bot.pipeline.delivery import enqueue_replies
from bot.pipeline.loop import poll_until_cancelled
from bot.transcribe.audio import AudioError
from bot.transcribe.engine import AsrOptions, prompt_token_counter, transcribe_file
from bot.transcribe.model import resolve_model_dir
from bot.understanding.book import load_book
from bot.understanding.prompt import build_prompt
from store.db import session_scope
from store.leases import retry_delay
from store.models import InboundMessage, Member, TranscriptionJob, TranscriptionStatus
from store.transcriptions import (
    claim_next_transcription,
    finish_transcription,
    renew_transcription_lease,
    retry_transcription_later,
)

log = structlog.get_logger("genjin.transcribe")

Transcribe = Callable[[Path], str]  # audio file -> final transcript text (blocking)
# The transcript's handler (bot/handlers/voice_memo.on_transcript), injected by the composition root:
# the domain never imports a handler. It runs inside the transaction that closes the job.
OnTranscript = Callable[[HandlerContext, TranscriptionJob, str], None]

# What the rep reads when a memo cannot be transcribed; the audio and the rows stay for 重试.
FAILED = "语音未能识别，原始录音已保存，发送「重试」再试"
UNREADABLE = "这段语音无法解码（文件可能已损坏或格式不支持）。原始录音已保存；请重新录一段发给我，或把要点用文字发送。"


class TranscriptionRunner:
    def __init__(self, engine: Engine, settings: Settings, *, clock: Callable[[], datetime],
                 on_transcript: OnTranscript, on_processed: Callable[[], None] | None = None,
                 transcribe: Transcribe | None = None, metrics: Metrics | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.on_transcript = on_transcript
        self.on_processed = on_processed  # e.g. wake the outbox sender so the card goes out at once
        self._transcribe = transcribe
        self.concurrency = settings.transcription_concurrency
        self.lease = timedelta(seconds=settings.transcription_lease_seconds)
        self.wakeup = asyncio.Event()
        self.processed = 0
        self.metrics = metrics or Metrics()
        self.heartbeat = Heartbeat(settings.worker_poll_seconds)
        self._executor: ThreadPoolExecutor | None = None
        self._options: AsrOptions | None = None
        self._options_lock = threading.Lock()

    # -- configuration -------------------------------------------------------------------------

    @property
    def options(self) -> AsrOptions:
        with self._options_lock:  # pool threads may ask at once; join the model files only once
            if self._options is None:
                s = self.settings
                model_dir = resolve_model_dir(s.whisper_model_dir, s.whisper_cache_dir or s.data_dir / "models")
                self._options = AsrOptions(model_dir=model_dir, beam_size=s.whisper_beam_size,
                                           cpu_threads=s.whisper_cpu_threads, workers=s.transcription_concurrency,
                                           max_audio_seconds=s.max_audio_seconds)
            return self._options

    def transcribe(self, path: Path, job: TranscriptionJob | None = None) -> str:
        if self._transcribe is not None:
            return self._transcribe(path)
        rules = tag_rules(self.settings.tags_file)
        keywords = [k for r in rules for k in (r.name, *r.keywords)]
        prompt = self.prompt_for(job) if job is not None else None
        result = transcribe_file(path, self.options, products=self.settings.products, keywords=keywords,
                                 prompt=prompt)
        log.info("memo_transcribed", audio_seconds=round(result.audio_seconds, 1),
                 elapsed=round(result.elapsed_seconds, 2), chars=len(result.text))
        return result.text

    def prompt_for(self, job: TranscriptionJob) -> str | None:
        """The biasing prompt for this memo's rep: their likeliest customers, then the products
        (bot/understanding/prompt.py). Read in its own short session, before the long decode."""
        with Session(self.engine) as session:
            member = session.get(Member, job.member_id)
            if member is None:
                return None
            book = load_book(session=session, actor=member, now=self.clock(), tz=self.settings.tz)
        prompt = build_prompt(book, self.settings.products, count_tokens=prompt_token_counter(self.options.model_dir))
        log.info("memo_prompt", customers=len(prompt.entries), products=len(prompt.products), tokens=prompt.tokens)
        return prompt.text

    # -- synchronous core (one job, on the calling thread) ---------------------------------------

    def claim(self) -> TranscriptionJob | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return claim_next_transcription(session=session, lease=self.lease, now=self.clock())

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

    def process(self, job: TranscriptionJob) -> None:
        assert job.id is not None
        bound = log.bind(job_id=job.id, inbound_id=job.inbound_id, attempt=job.attempts)
        if job.attempts > self.settings.transcription_max_attempts:
            # Claimed more often than allowed: earlier runs died mid-way (kill, OOM). Stop here.
            bound.warning("transcription_gave_up", error=job.error)
            self._give_up(job, job.error or "abandoned by earlier runs", FAILED)
            return
        text = job.transcript  # kept from an attempt that transcribed but failed afterwards
        try:
            if text is None:
                text = self.transcribe(self.settings.media_dir / job.media_ref, job)
            self._complete(job, text)
        except AudioError as exc:
            bound.warning("transcription_unreadable_audio", reason=exc.reason)
            self._give_up(job, f"unreadable audio: {exc.reason}", UNREADABLE)
        except Exception as exc:
            bound.exception("transcription_failed")
            self._record_failure(job, exc, text)

    def _complete(self, job: TranscriptionJob, text: str) -> None:
        with session_scope(self.engine) as session:
            # Close the job first: on PostgreSQL this also locks the row, so a runner that took the job
            # over after our lease ran out waits here and then finds it is no longer its own.
            if not finish_transcription(session=session, job_id=job.id or 0, attempts=job.attempts,
                                        status=TranscriptionStatus.DONE, transcript=text, now=self.clock()):
                log.warning("transcription_lease_lost", job_id=job.id)
                return
            inbound = session.get(InboundMessage, job.inbound_id)
            member = session.get(Member, job.member_id)
            assert inbound is not None
            platform = inbound.platform
            if member is not None and member.active:  # a rep who left meanwhile: keep the transcript only
                ctx = HandlerContext(session=session, settings=self.settings, member=member, inbound=inbound,
                                     now=self.clock())
                self.on_transcript(ctx, job, text)
                enqueue_replies(session=session, inbound=inbound, replies=ctx.replies, sender=member, at=ctx.now)
        self.metrics.processed("transcription", platform)

    def _give_up(self, job: TranscriptionJob, error: str, reply: str) -> None:
        """Failed for good: tell the rep; the audio file and the rows stay for 重试."""
        with session_scope(self.engine) as session:
            if not finish_transcription(session=session, job_id=job.id or 0, attempts=job.attempts,
                                        status=TranscriptionStatus.FAILED, error=error[:2000], now=self.clock()):
                return
            inbound = session.get(InboundMessage, job.inbound_id)
            member = session.get(Member, job.member_id)
            if inbound is not None and member is not None:
                enqueue_replies(session=session, inbound=inbound, replies=[Reply(text=reply)], sender=member,
                                at=self.clock())
        self.metrics.failed("transcription", inbound.platform if inbound is not None else "unknown")

    def _record_failure(self, job: TranscriptionJob, exc: Exception, transcript: str | None) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if job.attempts >= self.settings.transcription_max_attempts:
            self._give_up(job, error, FAILED)
            return
        with session_scope(self.engine) as session:
            retry_transcription_later(session=session, job_id=job.id or 0, attempts=job.attempts, error=error,
                                      at=self.clock() + retry_delay(job.attempts),
                                      transcript=transcript)
            inbound = session.get(InboundMessage, job.inbound_id)
        self.metrics.retried("transcription", inbound.platform if inbound is not None else "unknown")

    def renew(self, job: TranscriptionJob) -> bool:
        with session_scope(self.engine) as session:
            return renew_transcription_lease(session=session, job_id=job.id or 0, attempts=job.attempts,
                                             now=self.clock())

    # -- asynchronous loop (the app) -----------------------------------------------------------

    def nudge(self) -> None:
        """Called on the event loop (e.g. after the worker stored a job) so a memo need not wait a poll."""
        self.wakeup.set()

    async def run(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="asr")
        in_flight: set[asyncio.Task[None]] = set()

        async def fill_free_slots() -> bool:
            """Claim due jobs while a transcription slot is free. False: wait for a nudge or the poll
            (every slot busy, or nothing due); a finished job nudges the loop."""
            while len(in_flight) < self.concurrency:
                job = await asyncio.to_thread(self.claim)
                if job is None:
                    break
                task = asyncio.create_task(self._run_job(job), name=f"transcribe-{job.id}")
                in_flight.add(task)  # strong reference until done
                task.add_done_callback(in_flight.discard)
            return False

        try:
            await poll_until_cancelled(name="transcriber", iterate=fill_free_slots, wakeup=self.wakeup,
                                       poll_seconds=self.settings.worker_poll_seconds, heartbeat=self.heartbeat)
        finally:
            for task in in_flight:
                task.cancel()
            # Threads mid-transcription finish on their own; their lease (no longer renewed) lets
            # the next run reclaim the job if this process exits first.
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run_job(self, job: TranscriptionJob) -> None:
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

    async def _heartbeat(self, job: TranscriptionJob) -> None:
        interval = max(1.0, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                if not await asyncio.to_thread(self.renew, job):
                    return
            except Exception:
                log.exception("transcription_heartbeat_failed", job_id=job.id)
