"""The transcription runner: claims job rows, transcribes in a bounded thread pool, then turns the
transcript into a follow-up and its replies in one transaction.

The leased-job loop (lease, heartbeat, backoff, give-up, late writes dropped) is
bot/pipeline/leased_jobs.py, shared with the OCR runner; this module holds what is the
transcription's own: the store functions, the ASR call with its biasing prompt, the reply texts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.context import HandlerContext
from bot.extract import tag_rules
from bot.ops.metrics import Metrics
from bot.pipeline.leased_jobs import LeasedJobRunner
from bot.transcribe.audio import AudioError
from bot.transcribe.engine import AsrOptions, prompt_token_counter, transcribe_file
from bot.transcribe.model import resolve_model_dir
from bot.understanding.book import load_book, load_team_prompt_book
from bot.understanding.prompt import build_prompt
from store.models import Member, TranscriptionJob, TranscriptionStatus
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


class TranscriptionRunner(LeasedJobRunner[TranscriptionJob]):
    kind = "transcription"
    loop_name = "transcriber"
    thread_prefix = "asr"
    task_prefix = "transcribe"
    failed_reply = FAILED
    unreadable_reply = UNREADABLE
    unreadable_event = "transcription_unreadable_audio"
    unreadable_error = "unreadable audio"

    def __init__(self, engine: Engine, settings: Settings, *, clock: Callable[[], datetime],
                 on_transcript: OnTranscript, on_processed: Callable[[], None] | None = None,
                 transcribe: Transcribe | None = None, metrics: Metrics | None = None) -> None:
        super().__init__(engine, settings, clock=clock, on_result=on_transcript, on_processed=on_processed,
                         metrics=metrics, lease=timedelta(seconds=settings.transcription_lease_seconds),
                         log=log)
        self._transcribe = transcribe
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
            now, tz = self.clock(), self.settings.tz
            book = load_book(session=session, actor=member, now=now, tz=tz)
            # A new rep's empty book: the team's customers steer the spelling (prompt only; the
            # correction and the card keep to the rep's own book, see load_team_prompt_book).
            team = not book
            if team:
                book = load_team_prompt_book(session=session, actor=member, now=now, tz=tz)
        prompt = build_prompt(book, self.settings.products, count_tokens=prompt_token_counter(self.options.model_dir))
        log.info("memo_prompt", customers=len(prompt.entries), products=len(prompt.products), tokens=prompt.tokens,
                 team_book=team, genre=prompt.genre)
        return prompt.text

    # -- the leased-job loop's hooks (bot/pipeline/leased_jobs.py) --------------------------------

    @property
    def concurrency(self) -> int:
        return self.settings.transcription_concurrency

    @property
    def max_attempts(self) -> int:
        return self.settings.transcription_max_attempts

    def work(self, job: TranscriptionJob, bound: Any) -> str:
        return self.transcribe(self.settings.media_dir / job.media_ref, job)

    def unreadable_reason(self, exc: Exception) -> str | None:
        return exc.reason if isinstance(exc, AudioError) else None

    def kept_text(self, job: TranscriptionJob) -> str | None:
        return job.transcript  # kept from an attempt that transcribed but failed afterwards

    def claim_job(self, session: Session, now: datetime) -> TranscriptionJob | None:
        return claim_next_transcription(session=session, lease=self.lease, now=now)

    def finish_job(self, session: Session, job: TranscriptionJob, *, done: bool, text: str | None = None,
                   error: str | None = None, now: datetime) -> bool:
        status = TranscriptionStatus.DONE if done else TranscriptionStatus.FAILED
        return finish_transcription(session=session, job_id=job.id or 0, attempts=job.attempts, status=status,
                                    transcript=text, error=error, now=now)

    def retry_job_later(self, session: Session, job: TranscriptionJob, *, error: str, at: datetime,
                        text: str | None) -> None:
        retry_transcription_later(session=session, job_id=job.id or 0, attempts=job.attempts, error=error, at=at,
                                  transcript=text)

    def renew_job_lease(self, session: Session, job: TranscriptionJob, *, now: datetime) -> bool:
        return renew_transcription_lease(session=session, job_id=job.id or 0, attempts=job.attempts, now=now)
