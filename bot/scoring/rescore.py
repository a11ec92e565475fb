"""Re-scoring from the database: a batch of customers in one transaction, and the due sweep.

Called on new events (POST /api/events, in the same transaction as the event) and by the timer
(scheduler/scoring.py). A batch reads its customers under a row lock (PostgreSQL; SQLite serialises
writers), so a change committed meanwhile marks the row dirty again after the batch, never before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.scoring.model import Behaviour, Profile, Score, score_lead
from bot.scoring.weights import Weights, WeightsError, load_weights
from store.db import session_scope
from store.models import Customer, FollowUp, MarketingEvent
from store.scores import due_score_ids, is_scored, save_scores

log = structlog.get_logger("genjin.scoring")
CHUNK = 500  # customers per transaction and per IN (...) list


def profile_of(customer: Customer) -> Profile:
    return Profile(industry=customer.industry, region=customer.region, company=customer.company,
                   channel=customer.latest_channel or customer.source_channel)


def _behaviour(session: Session, ids: Sequence[int], since: datetime) -> dict[int, list[Behaviour]]:
    """Marketing events and chat records of these customers since `since`: two indexed queries."""
    out: dict[int, list[Behaviour]] = defaultdict(list)
    events = session.exec(select(MarketingEvent).where(col(MarketingEvent.customer_id).in_(list(ids)),
                                                       col(MarketingEvent.occurred_at) >= since)).all()
    for e in events:
        if e.customer_id is not None:
            out[e.customer_id].append(Behaviour(e.type, e.occurred_at, e.url, e.title, e.duration_seconds))
    # A pasted chat record is the customer talking back (voice memos and notes are the rep's own).
    chats = session.exec(select(FollowUp.customer_id, FollowUp.created_at).where(
        col(FollowUp.customer_id).in_(list(ids)), col(FollowUp.kind) == "chat",
        col(FollowUp.created_at) >= since)).all()
    for customer_id, at in chats:
        out[customer_id].append(Behaviour("chat_reply", at))
    return out


def rescore_customers(*, session: Session, customer_ids: Sequence[int], weights: Weights,
                      now: datetime) -> dict[int, Score | None]:
    """Score these customers now and save; None for those that carry no score (won, lost, merged)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    customers = session.exec(select(Customer).where(col(Customer.id).in_(ids)).order_by(col(Customer.id))
                             .with_for_update()).all()
    since = now - timedelta(days=weights.horizon_days)
    behaviour = _behaviour(session, ids, since)
    results: dict[int, Score | None] = {}
    rows: list[dict[str, Any]] = []
    for customer in customers:
        cid = int(customer.id or 0)
        if not is_scored(customer):
            results[cid] = None
            rows.append(score_row(cid, None, now))
        else:
            score = score_lead(weights=weights, profile=profile_of(customer), behaviour=behaviour.get(cid, []),
                               now=now)
            results[cid] = score
            rows.append(score_row(cid, score, now))
    # One executemany by primary key (ORM bulk UPDATE), not one ORM flush per row.
    save_scores(session=session, rows=rows)
    return results


def score_row(customer_id: int, score: Score | None, now: datetime) -> dict[str, Any]:
    if score is None:
        return {"id": customer_id, "lead_score": None, "lead_score_reasons": None, "lead_scored_at": now,
                "lead_score_due_at": None}
    return {"id": customer_id, "lead_score": score.total, "lead_score_reasons": [r.as_dict() for r in score.reasons],
            "lead_scored_at": now, "lead_score_due_at": score.next_due}


def rescore_due(engine: Engine, settings: Settings, now: datetime) -> int:
    """Every customer due at `now` (dirty, or a behaviour window lapsed), CHUNK at a time, up to
    scoring.max_per_run; the rest stay due for the next run. Returns how many were scored."""
    try:
        weights = load_weights(settings.scoring.weights_file)
    except WeightsError as exc:
        log.error("scoring_weights_invalid", error=str(exc))  # scores stay as they were, rows stay due
        return 0
    done = 0
    while done < settings.scoring.max_per_run:
        with Session(engine) as session:
            ids = due_score_ids(session=session, now=now, limit=min(CHUNK, settings.scoring.max_per_run - done))
        if not ids:
            break
        with session_scope(engine) as session:
            rescore_customers(session=session, customer_ids=ids, weights=weights, now=now)
        done += len(ids)
        if len(ids) < CHUNK:
            break
    return done
