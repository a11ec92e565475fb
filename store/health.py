"""What the data-health page counts, per rep and week, in three grouped queries over a window of
weeks (indexed: followup (rep_id, created_at), timelineevent (kind, created_at), customer
(created_at)); the score itself is store/health_score.py. Reads only."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Text, case, cast, exists, func, literal, not_, or_
from sqlmodel import Session, col, select

from store.health_score import HealthCounts
from store.models import Correction, Customer, FollowUp, QuoteLine, TimelineEvent, Visit
from store.stages import PROGRESSION, Stage

UNNAMED_PREFIX = "未命名客户"  # store/names.py files a customer with no name found under this
_MOVE = re.compile(r"阶段 (\S+) → (\S+)")  # store/customers.change_stage's summary


def _bucket(column: Any, bounds: Sequence[datetime]) -> Any:
    """Which week [bounds[i], bounds[i+1]) a timestamp falls in, as an SQL expression (portable: no
    date functions)."""
    whens = [(column >= bounds[i], i) for i in range(len(bounds) - 2, 0, -1)]
    return case(*whens, else_=0) if whens else literal(0)


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def is_backward(summary: str) -> bool:
    """A stage change that went back along the path (re-qualifying); into or out of 已流失 is not."""
    found = _MOVE.search(summary)
    if not found or found[1] not in PROGRESSION or found[2] not in PROGRESSION:
        return False
    return PROGRESSION.index(Stage(found[2])) < PROGRESSION.index(Stage(found[1]))


BACKWARD_SUMMARIES = [f"阶段 {a} → {b}" for a in PROGRESSION for b in PROGRESSION if is_backward(f"阶段 {a} → {b}")]


def health_counts(*, session: Session, rep_ids: Sequence[int], bounds: Sequence[datetime],
                  on_time: Any, catalog: bool = False) -> dict[tuple[int, int], HealthCounts]:
    """(rep id, week index) -> what was counted, for weeks [bounds[i], bounds[i+1]). `on_time` is the
    first-response target (a timedelta); `catalog`: a product catalog exists, so the share of yuan
    from it is counted. Only the reps given: the caller passes whom the actor may see."""
    if not rep_ids:
        return {}
    start, end = bounds[0], bounds[-1]
    reps = list(rep_ids)
    counts: dict[tuple[int, int], dict[str, Any]] = {}

    def slot(rep: int, week: int) -> dict[str, Any]:
        return counts.setdefault((rep, week), {})

    confirmed = col(FollowUp.confirmed).is_(True)
    filled = (_flag(not_(col(Customer.name).startswith(UNNAMED_PREFIX)))
              + _flag(cast(FollowUp.tags, Text).not_in(["[]", "null"]))
              + _flag(col(FollowUp.next_contact_at).is_not(None))
              + _flag(col(FollowUp.amount_cny).is_not(None))
              + _flag(or_(col(FollowUp.stage_hint).is_not(None), col(Customer.stage) != Stage.FIRST_CONTACT)))
    corrected = exists().where(col(Correction.followup_id) == FollowUp.id)
    week = _bucket(col(FollowUp.created_at), bounds)
    columns: list[Any] = [FollowUp.rep_id, week, func.count(), func.sum(_flag(confirmed)),
                          func.sum(case((confirmed, filled), else_=0)),
                          func.sum(_flag(confirmed & corrected))]
    rows = session.exec(
        select(*columns).join(Customer, col(Customer.id) == col(FollowUp.customer_id))
        .where(col(FollowUp.rep_id).in_(reps), col(FollowUp.created_at) >= start, col(FollowUp.created_at) < end)
        .group_by(col(FollowUp.rep_id), week)
    ).all()
    for rep, w, n, conf, fill, corr in rows:
        slot(rep, w).update(records=int(n), confirmed=int(conf or 0), fields_filled=int(fill or 0),
                            corrected=int(corr or 0))

    # Stage moves: a backward move is told by its summary (one of BACKWARD_SUMMARIES), in SQL.
    week = _bucket(col(TimelineEvent.created_at), bounds)
    backward = _flag((col(TimelineEvent.kind) == "stage_changed") & col(TimelineEvent.summary).in_(BACKWARD_SUMMARIES))
    stage_columns: list[Any] = [TimelineEvent.actor_id, week, TimelineEvent.kind, func.count(), func.sum(backward)]
    stage_rows = session.exec(
        select(*stage_columns)
        .where(col(TimelineEvent.kind).in_(["stage_changed", "stage_refused"]),
               col(TimelineEvent.created_at) >= start, col(TimelineEvent.created_at) < end,
               col(TimelineEvent.actor_id).in_(reps))
        .group_by(col(TimelineEvent.actor_id), week, col(TimelineEvent.kind))
    ).all()
    for actor, w, kind, n, back in stage_rows:
        s = slot(int(actor), w)
        if kind == "stage_refused":
            s["stage_refused"] = int(n)
        else:
            s["stage_moves"] = int(n)
            s["stage_backward"] = int(back or 0)

    # Leads that arrived in the window (a lead's row is made when it arrives: created_at, indexed).
    lead_columns: list[Any] = [Customer.owner_id, Customer.lead_received_at, Customer.first_contact_at]
    leads = session.exec(
        select(*lead_columns)
        .where(col(Customer.created_at) >= start, col(Customer.created_at) < end,
               col(Customer.lead_received_at).is_not(None), col(Customer.owner_id).in_(reps),
               col(Customer.merged_into_id).is_(None))
    ).all()
    waits: dict[tuple[int, int], list[float]] = {}
    for owner, arrived, first in leads:
        w = next(i for i in range(len(bounds) - 2, -1, -1) if arrived >= bounds[i]) if arrived >= start else 0
        s = slot(int(owner), w)
        s["leads"] = s.get("leads", 0) + 1
        if first is not None and first - arrived <= on_time:
            s["leads_on_time"] = s.get("leads_on_time", 0) + 1
        if first is not None:
            waits.setdefault((int(owner), w), []).append((first - arrived).total_seconds() / 60)
    if catalog:
        _count_catalog_share(session, reps, bounds, slot)
    _count_post_visit(session, reps, bounds, slot)
    result = {key: HealthCounts(**values) for key, values in counts.items()}
    for key, minutes in waits.items():
        result[key] = replace(result[key], first_response_minutes=statistics.median(minutes))
    return result


def _count_catalog_share(session: Session, reps: list[int], bounds: Sequence[datetime],
                         slot: Callable[[int, int], dict[str, Any]]) -> None:
    """Yuan on confirmed records, and those whose amount is their quote lines' total (from the catalog)."""
    quote = (select(QuoteLine.followup_id, func.sum(QuoteLine.total_cny).label("total"))
             .group_by(col(QuoteLine.followup_id)).subquery())
    week = _bucket(col(FollowUp.created_at), bounds)
    from_catalog = case((quote.c.total == col(FollowUp.amount_cny), col(FollowUp.amount_cny)), else_=0)
    columns: list[Any] = [FollowUp.rep_id, week, func.sum(col(FollowUp.amount_cny)), func.sum(from_catalog)]
    rows = session.exec(
        select(*columns).outerjoin(quote, quote.c.followup_id == col(FollowUp.id))
        .where(col(FollowUp.rep_id).in_(reps), col(FollowUp.created_at) >= bounds[0],
               col(FollowUp.created_at) < bounds[-1], col(FollowUp.confirmed).is_(True),
               col(FollowUp.amount_cny).is_not(None))
        .group_by(col(FollowUp.rep_id), week)
    ).all()
    for rep, w, total, catalog in rows:
        slot(int(rep), w).update(amount_total=int(total or 0), amount_from_catalog=int(catalog or 0))


def _count_post_visit(session: Session, reps: list[int], bounds: Sequence[datetime],
                      slot: Callable[[int, int], dict[str, Any]]) -> None:
    """Visits the post-visit sweep judged (note in time or not), by the week they started in."""
    week = _bucket(col(Visit.scheduled_at), bounds)
    columns: list[Any] = [Visit.rep_id, week, func.count(), func.sum(_flag(col(Visit.note_in_time).is_(True)))]
    rows = session.exec(
        select(*columns)
        .where(col(Visit.rep_id).in_(reps), col(Visit.note_in_time).is_not(None),
               col(Visit.scheduled_at) >= bounds[0], col(Visit.scheduled_at) < bounds[-1])
        .group_by(col(Visit.rep_id), week)
    ).all()
    for rep, w, judged, noted in rows:
        slot(int(rep), w).update(visits_judged=int(judged), visits_noted=int(noted or 0))
