"""Transcription jobs: one durable row per voice memo, claimed with a lease like the inbox.

A runner that dies mid-transcription (kill, OOM, deploy) leaves its row `processing`; once the
lease runs out any runner reclaims it. `attempts` counts claims, so a memo that kills the process
every time still ends `failed` after max attempts instead of looping forever. The claim's
`attempts` value is also the owner's token: a runner whose lease was taken over cannot renew or
finish the job any more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, update
from sqlmodel import Session, col, select

from store.leases import claim_next
from store.models import TranscriptionJob, TranscriptionStatus


def create_transcription_job(*, session: Session, inbound_id: int, member_id: int, media_ref: str,
                             audio_format: str | None = None, audio_seconds: float | None = None,
                             recognition: str | None = None, at: datetime) -> TranscriptionJob:
    """The job for this memo; a handler run twice for one inbound row gets the same job back."""
    existing = session.exec(select(TranscriptionJob).where(col(TranscriptionJob.inbound_id) == inbound_id)).first()
    if existing is not None:
        return existing
    job = TranscriptionJob(inbound_id=inbound_id, member_id=member_id, media_ref=media_ref,
                           audio_format=audio_format, audio_seconds=audio_seconds, recognition=recognition,
                           created_at=at)
    session.add(job)
    session.flush()
    return job


def claim_next_transcription(*, session: Session, lease: timedelta,
                             now: datetime) -> TranscriptionJob | None:
    """Claim the oldest due job (see store.leases: two runners never share one)."""
    return claim_next(session, TranscriptionJob, lease=lease, now=now)


def _owned(job_id: int, attempts: int) -> ColumnElement[bool]:
    return and_(col(TranscriptionJob.id) == job_id, col(TranscriptionJob.attempts) == attempts,
                col(TranscriptionJob.status) == TranscriptionStatus.PROCESSING)


def renew_transcription_lease(*, session: Session, job_id: int, attempts: int, now: datetime) -> bool:
    """Heartbeat while transcribing; False when the job is no longer ours."""
    result = session.execute(update(TranscriptionJob).where(_owned(job_id, attempts)).values(claimed_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish_transcription(*, session: Session, job_id: int, attempts: int, status: str,
                         transcript: str | None = None, error: str | None = None,
                         now: datetime) -> bool:
    """Close the job if we still own it; False means another runner took it over (do nothing)."""
    values: dict[str, object] = {"status": status, "error": error, "finished_at": now}
    if transcript is not None:
        values["transcript"] = transcript
    result = session.execute(update(TranscriptionJob).where(_owned(job_id, attempts)).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def retry_transcription_later(*, session: Session, job_id: int, attempts: int, error: str, at: datetime,
                              transcript: str | None = None) -> bool:
    """Back to pending; a transcript already made is kept so the retry only redoes what failed."""
    values: dict[str, object] = {"status": TranscriptionStatus.PENDING, "error": error, "next_attempt_at": at}
    if transcript is not None:
        values["transcript"] = transcript
    result = session.execute(update(TranscriptionJob).where(_owned(job_id, attempts)).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def requeue_failed_transcriptions(*, session: Session, member_id: int) -> int:
    """The rep's 重试 command: this member's failed memos go back to the queue with fresh attempts."""
    result = session.execute(
        update(TranscriptionJob)
        .where(col(TranscriptionJob.member_id) == member_id, col(TranscriptionJob.status) == TranscriptionStatus.FAILED)
        .values(status=TranscriptionStatus.PENDING, attempts=0, next_attempt_at=None, error=None, finished_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def get_transcription_for_inbound(*, session: Session, inbound_id: int) -> TranscriptionJob | None:
    return session.exec(select(TranscriptionJob).where(col(TranscriptionJob.inbound_id) == inbound_id)).first()
