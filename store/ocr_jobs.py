"""OCR jobs: one durable row per image or PDF, claimed with a lease exactly like transcription jobs.

A runner that dies mid-OCR leaves its row `processing`; once the lease runs out any runner reclaims
it. `attempts` counts claims (a file that kills the process every time still ends `failed`) and is
the owner's token: a runner whose lease was taken over can neither renew nor finish the job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, update
from sqlmodel import Session, col, select

from store.customers import MAX_SEARCH_CHARS
from store.leases import claim_next
from store.models import Customer, FollowUp, Member, OcrJob, OcrStatus
from store.permissions import visible_to


def create_ocr_job(*, session: Session, inbound_id: int, member_id: int, media_ref: str, media_kind: str,
                   pages: int, pages_total: int, at: datetime) -> OcrJob:
    """The job for this file; a handler run twice for one inbound row gets the same job back."""
    existing = session.exec(select(OcrJob).where(col(OcrJob.inbound_id) == inbound_id)).first()
    if existing is not None:
        return existing
    job = OcrJob(inbound_id=inbound_id, member_id=member_id, media_ref=media_ref, media_kind=media_kind,
                 pages=pages, pages_total=pages_total, created_at=at)
    session.add(job)
    session.flush()
    return job


def claim_next_ocr(*, session: Session, lease: timedelta, now: datetime) -> OcrJob | None:
    """Claim the oldest due job (store.leases: two runners never share one)."""
    return claim_next(session, OcrJob, lease=lease, now=now)


def _owned(job_id: int, attempts: int) -> ColumnElement[bool]:
    return and_(col(OcrJob.id) == job_id, col(OcrJob.attempts) == attempts,
                col(OcrJob.status) == OcrStatus.PROCESSING)


def renew_ocr_lease(*, session: Session, job_id: int, attempts: int, now: datetime) -> bool:
    """Heartbeat while reading; False when the job is no longer ours."""
    result = session.execute(update(OcrJob).where(_owned(job_id, attempts)).values(claimed_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish_ocr(*, session: Session, job_id: int, attempts: int, status: str, text: str | None = None,
               error: str | None = None, now: datetime) -> bool:
    """Close the job if we still own it; False means another runner took it over (do nothing)."""
    values: dict[str, object] = {"status": status, "error": error, "finished_at": now}
    if text is not None:
        values["text"] = text
    result = session.execute(update(OcrJob).where(_owned(job_id, attempts)).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def retry_ocr_later(*, session: Session, job_id: int, attempts: int, error: str, at: datetime,
                    text: str | None = None) -> bool:
    """Back to pending; text already read is kept so the retry only redoes what failed."""
    values: dict[str, object] = {"status": OcrStatus.PENDING, "error": error, "next_attempt_at": at}
    if text is not None:
        values["text"] = text
    result = session.execute(update(OcrJob).where(_owned(job_id, attempts)).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def requeue_failed_ocr(*, session: Session, member_id: int) -> int:
    """The rep's 重试 command: this member's failed files (not the unreadable ones) go back to the queue."""
    result = session.execute(
        update(OcrJob)
        .where(col(OcrJob.member_id) == member_id, col(OcrJob.status) == OcrStatus.FAILED,
               ~col(OcrJob.error).startswith("unreadable"))
        .values(status=OcrStatus.PENDING, attempts=0, next_attempt_at=None, error=None, finished_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def get_ocr_for_inbound(*, session: Session, inbound_id: int) -> OcrJob | None:
    return session.exec(select(OcrJob).where(col(OcrJob.inbound_id) == inbound_id)).first()


def search_customers_by_ocr_text(*, session: Session, actor: Member, query: str, limit: int = 10) -> list[Customer]:
    """Customers the actor may see whose filed image/PDF text contains `query` (查 falls back to this).
    An image is filed through its record: FollowUp.source_inbound_id is the image's inbox row."""
    query = query.strip()[:MAX_SEARCH_CHARS]
    if not query:
        return []
    like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    # The matching customers' ids in a subquery: DISTINCT over whole customer rows fails on PostgreSQL
    # (its JSON columns have no equality operator).
    matching = (select(FollowUp.customer_id)
                .join(OcrJob, col(OcrJob.inbound_id) == col(FollowUp.source_inbound_id))
                .where(col(OcrJob.text).like(like, escape="\\")))
    return list(session.exec(
        select(Customer)
        .where(col(Customer.id).in_(matching), visible_to(actor), col(Customer.merged_into_id).is_(None),
               col(Customer.draft).is_(False))
        .order_by(col(Customer.id)).limit(limit)
    ).all())
