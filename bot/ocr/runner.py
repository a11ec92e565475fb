"""The OCR runner: claims OCR job rows, reads the file in a bounded thread pool, then hands the text
to the image handler in the transaction that closes the job. The leased-job loop (the table is the
queue, the lease is renewed while the file is read, a killed process leaves the row to be reclaimed,
a runner that lost its lease writes nothing) is bot/pipeline/leased_jobs.py, shared with the
transcription runner; this module holds the store functions, the OCR call and the reply texts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.context import HandlerContext
from bot.ocr.engine import OcrUnreadable, read_file
from bot.ops.metrics import Metrics
from bot.pipeline.leased_jobs import LeasedJobRunner
from store.models import OcrJob, OcrStatus
from store.ocr_jobs import claim_next_ocr, finish_ocr, renew_ocr_lease, retry_ocr_later

log = structlog.get_logger("genjin.ocr")

ReadFile = Callable[[OcrJob, Path], str]  # job, file -> the lines read (blocking)
# The text's handler (bot/handlers/evidence.on_ocr_text), injected by the composition root.
OnOcrText = Callable[[HandlerContext, OcrJob, str], None]

FAILED = "图片/文件未能识别，原文件已保存，发送「重试」再试"
UNREADABLE = ("这个文件无法读取（可能已损坏、加密或格式不支持）。原文件已保存；请重新拍照或导出后再发，"
              "或把要点用文字发给我。")


class OcrRunner(LeasedJobRunner[OcrJob]):
    kind = "ocr"
    loop_name = "ocr"
    thread_prefix = "ocr"
    task_prefix = "ocr"
    failed_reply = FAILED
    unreadable_reply = UNREADABLE
    unreadable_event = "ocr_unreadable"
    unreadable_error = "unreadable"

    def __init__(self, engine: Engine, settings: Settings, *, clock: Callable[[], datetime],
                 on_text: OnOcrText, on_processed: Callable[[], None] | None = None,
                 read: ReadFile | None = None, metrics: Metrics | None = None) -> None:
        super().__init__(engine, settings, clock=clock, on_result=on_text, on_processed=on_processed,
                         metrics=metrics, lease=timedelta(seconds=settings.ocr.lease_seconds),
                         log=log)
        self._read = read

    def read(self, job: OcrJob) -> str:
        path = self.settings.media_dir / job.media_ref
        if self._read is not None:
            return self._read(job, path)
        ocr = self.settings.ocr
        return read_file(path, kind=job.media_kind, pages=job.pages, threads=ocr.cpu_threads,
                         pdf_scale=ocr.pdf_scale, max_pixels=ocr.max_pixels, det_max_side=ocr.det_max_side)

    # -- the leased-job loop's hooks (bot/pipeline/leased_jobs.py) --------------------------------

    def bind_log(self, job: OcrJob) -> Any:
        return super().bind_log(job).bind(kind=job.media_kind)

    @property
    def concurrency(self) -> int:
        return self.settings.ocr.concurrency

    @property
    def max_attempts(self) -> int:
        return self.settings.ocr.max_attempts

    def work(self, job: OcrJob, bound: Any) -> str:
        text = self.read(job)
        bound.info("ocr_read", pages=job.pages, chars=len(text))
        return text

    def unreadable_reason(self, exc: Exception) -> str | None:
        return exc.reason if isinstance(exc, OcrUnreadable) else None

    def kept_text(self, job: OcrJob) -> str | None:
        return job.text  # kept from an attempt that read the file but failed afterwards

    def claim_job(self, session: Session, now: datetime) -> OcrJob | None:
        return claim_next_ocr(session=session, lease=self.lease, now=now)

    def finish_job(self, session: Session, job: OcrJob, *, done: bool, text: str | None = None,
                   error: str | None = None, now: datetime) -> bool:
        status = OcrStatus.DONE if done else OcrStatus.FAILED
        return finish_ocr(session=session, job_id=job.id or 0, attempts=job.attempts, status=status, text=text,
                          error=error, now=now)

    def retry_job_later(self, session: Session, job: OcrJob, *, error: str, at: datetime, text: str | None) -> None:
        retry_ocr_later(session=session, job_id=job.id or 0, attempts=job.attempts, error=error, at=at, text=text)

    def renew_job_lease(self, session: Session, job: OcrJob, *, now: datetime) -> bool:
        return renew_ocr_lease(session=session, job_id=job.id or 0, attempts=job.attempts, now=now)
