"""What waits in the durable queues (inbox, outbox, transcription and OCR jobs), for metrics at scrape time.

Only open rows are looked at (everything but done/sent/merged): finished rows pile up forever, open
ones are few, and `status` leads the (status, next_attempt_at) index on each table, so a scrape costs
what is queued, not the table's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from store.inbox import count_inbound_by_status
from store.models import (
    InboundMessage,
    InboxStatus,
    OcrJob,
    OcrStatus,
    OutboxMessage,
    OutboxStatus,
    TranscriptionJob,
    TranscriptionStatus,
)
from store.outbox import count_outbox_by_status

# Statuses a row never leaves: not queue depth. Every other status (including any added later) is.
OPEN_STATUSES: dict[str, list[str]] = {
    "inbox": [s.value for s in InboxStatus if s != InboxStatus.DONE],
    "outbox": [s.value for s in OutboxStatus
               if s not in (OutboxStatus.SENT, OutboxStatus.MERGED, OutboxStatus.CANCELLED)],
    "transcription": [s.value for s in TranscriptionStatus if s != TranscriptionStatus.DONE],
    "ocr": [s.value for s in OcrStatus if s != OcrStatus.DONE],
}


@dataclass(frozen=True)
class QueueStat:
    queue: str  # inbox | outbox | transcription | ocr
    status: str
    platform: str
    count: int
    oldest: datetime  # created_at (received_at for the inbox) of the oldest row in this group


def open_queue_stats(*, session: Session) -> list[QueueStat]:
    """Count and oldest creation time of open rows, per queue, status and platform."""
    inbox, outbox, job = InboundMessage, OutboxMessage, TranscriptionJob
    queries: list[tuple[str, Any]] = [
        ("inbox", select(col(inbox.status), col(inbox.platform), func.count(), func.min(col(inbox.received_at)))
         .where(col(inbox.status).in_(OPEN_STATUSES["inbox"]))
         .group_by(col(inbox.status), col(inbox.platform))),
        ("outbox", select(col(outbox.status), col(outbox.platform), func.count(), func.min(col(outbox.created_at)))
         .where(col(outbox.status).in_(OPEN_STATUSES["outbox"]))
         .group_by(col(outbox.status), col(outbox.platform))),
        # A job has no platform of its own: it is its memo's (a primary-key join per open job).
        ("transcription", select(col(job.status), col(inbox.platform), func.count(), func.min(col(job.created_at)))
         .join(inbox, col(inbox.id) == col(job.inbound_id))
         .where(col(job.status).in_(OPEN_STATUSES["transcription"]))
         .group_by(col(job.status), col(inbox.platform))),
        ("ocr", select(col(OcrJob.status), col(inbox.platform), func.count(), func.min(col(OcrJob.created_at)))
         .join(inbox, col(inbox.id) == col(OcrJob.inbound_id))
         .where(col(OcrJob.status).in_(OPEN_STATUSES["ocr"]))
         .group_by(col(OcrJob.status), col(inbox.platform))),
    ]
    stats: list[QueueStat] = []
    for queue, query in queries:
        for status, platform, count, oldest in session.execute(query).all():
            # min() keeps the column's type, so `oldest` comes back tz-aware UTC on SQLite too.
            stats.append(QueueStat(queue=queue, status=str(status), platform=str(platform), count=int(count),
                                   oldest=oldest))
    return stats



def count_queues_by_status(*, session: Session) -> dict[str, dict[str, int]]:
    """Every row of each queue by status, finished ones included (the operator's /status and CLI view)."""
    return {
        "inbox": count_inbound_by_status(session=session),
        "outbox": count_outbox_by_status(session=session),
        "transcription": {str(status): int(n) for status, n in session.execute(
            select(col(TranscriptionJob.status), func.count()).group_by(col(TranscriptionJob.status))).all()},
        "ocr": {str(status): int(n) for status, n in session.execute(
            select(col(OcrJob.status), func.count()).group_by(col(OcrJob.status))).all()},
    }
