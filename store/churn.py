"""Churn watch rows (scheduler/churn.py): the latest score per watched customer and its open
episode. Opening and closing an episode are conditional UPDATEs, so an alert fires once per episode
whatever runs twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from store.models import ChurnWatch, Customer, FollowUp
from store.upsert import insert_ignore


def watched_customers(*, session: Session, stages: Sequence[str]) -> list[Customer]:
    """Owned, real (not draft, not merged) customers in the watched stages."""
    return list(session.exec(
        select(Customer).where(col(Customer.stage).in_(list(stages)), col(Customer.owner_id).is_not(None),
                               col(Customer.merged_into_id).is_(None), col(Customer.draft).is_(False))
        .order_by(col(Customer.id))
    ).all())


def contact_history(*, session: Session, customer_id: int) -> list[tuple[datetime, list[str]]]:
    """(when, tags) of the customer's confirmed follow-ups, oldest first."""
    rows = session.exec(
        select(FollowUp.created_at, FollowUp.tags)
        .where(col(FollowUp.customer_id) == customer_id, col(FollowUp.confirmed).is_(True))
        .order_by(col(FollowUp.created_at))
    ).all()
    return [(when, list(tags or [])) for when, tags in rows]


def record_churn_score(*, session: Session, customer_id: int, score: float, reasons: list[str],
                       at: datetime) -> None:
    insert_ignore(session, ChurnWatch, {"customer_id": customer_id, "score": score, "reasons": reasons,
                                        "updated_at": at}, ["customer_id"])
    session.execute(update(ChurnWatch).where(col(ChurnWatch.customer_id) == customer_id)
                    .values(score=score, reasons=reasons, updated_at=at))


def open_churn_episode(*, session: Session, customer_id: int, at: datetime) -> bool:
    """True for the one caller that opened the episode (none was open)."""
    result = session.execute(
        update(ChurnWatch).where(col(ChurnWatch.customer_id) == customer_id,
                                 col(ChurnWatch.episode_started_at).is_(None))
        .values(episode_started_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def close_churn_episode(*, session: Session, customer_id: int) -> bool:
    """True if an open episode was closed (the score fell below the re-arm threshold)."""
    result = session.execute(
        update(ChurnWatch).where(col(ChurnWatch.customer_id) == customer_id,
                                 col(ChurnWatch.episode_started_at).is_not(None))
        .values(episode_started_at=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
