"""Lead score bookkeeping: the dirty flag, the due queue, saving a score, the top leads per rep.

`customer.lead_score_due_at` is the one indexed column behind re-scoring: a change that can move the
score (a marketing event, a chat record, a profile field) sets it to DIRTY; a scoring sets it to the
instant the oldest counted behaviour leaves its window (or None). A sweep reads `due <= now` in due
order, so its cost follows the changes, not the size of the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, update
from sqlmodel import Session, col, select

from store.models import Customer
from store.stages import OPEN_STAGES

DIRTY = datetime(2000, 1, 1, tzinfo=UTC)  # "score me at the next sweep": before any real due time


def mark_score_dirty(conn: Connection, *, customer_ids: Iterable[int]) -> None:
    """Core UPDATE (also called from inside a flush, store/contact_hooks.py)."""
    ids = sorted(set(customer_ids))
    if ids:
        conn.execute(update(Customer).where(col(Customer.id).in_(ids)).values(lead_score_due_at=DIRTY))


def due_score_ids(*, session: Session, now: datetime, limit: int) -> list[int]:
    """Customers whose score is due (dirty or a window lapsed), oldest due first (indexed)."""
    column = col(Customer.lead_score_due_at)
    ids = session.exec(select(Customer.id).where(column <= now).order_by(column, col(Customer.id)).limit(limit)).all()
    return [int(i) for i in ids if i is not None]


def is_scored(customer: Customer) -> bool:
    """Only live, open deals carry a lead score; won, lost and merged customers do not."""
    return customer.merged_into_id is None and customer.stage in OPEN_STAGES


def save_scores(*, session: Session, rows: list[dict[str, Any]]) -> None:
    """Write scores: dicts of id, lead_score, lead_score_reasons, lead_scored_at (the scoring's `at`)
    and lead_score_due_at. One executemany by primary key; loaded copies are refreshed."""
    if not rows:
        return
    session.execute(update(Customer), rows)
    for row in rows:
        loaded = session.identity_map.get(session.identity_key(Customer, row["id"]))  # type: ignore[no-untyped-call]
        if loaded is not None:
            session.expire(loaded, ["lead_score", "lead_score_reasons", "lead_scored_at", "lead_score_due_at"])


def top_leads(*, session: Session, owner_id: int, min_score: int, limit: int) -> list[Customer]:
    """The rep's highest-scored open customers (ix_customer_owner_score)."""
    return list(session.exec(
        select(Customer).where(col(Customer.owner_id) == owner_id, col(Customer.lead_score) >= min_score,
                               col(Customer.merged_into_id).is_(None), col(Customer.draft).is_(False),
                               col(Customer.stage).in_(list(OPEN_STAGES)))
        .order_by(col(Customer.lead_score).desc(), col(Customer.id)).limit(limit)
    ).all())
