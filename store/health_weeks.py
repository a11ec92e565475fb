"""The data-health page's weeks, kept: one row per rep and week (`healthweek`, unique) holding what
store/health.health_counts counted. The page reads them instead of counting eight weeks of records
on a request; scheduler/health_weeks.py keeps them fresh every REFRESH (one instance per slot), and
whoever finds a week missing or due counts it and upserts it (the same figures from anyone: two
instances racing write the same row twice, never two rows).

A week that is over can still change for a while (a late 确认, a fix on the card): until SETTLE after
its end it is counted again when its row is older than REFRESH; after that its row is final.

This week so far (本周至今) is kept the same way under its Monday, and shown while its row is younger
than REFRESH: what the page pays for it then follows how often it is asked, not this week's records. A
row counted before its week ended is never taken for the full week: that week is due at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from store.health import health_counts
from store.health_score import FIRST_RESPONSE_TARGET, HealthCounts
from store.models import HealthWeek

TREND_WEEKS = 8
SETTLE = timedelta(days=7)
REFRESH = timedelta(minutes=10)


def week_start(now: datetime, tz: tzinfo) -> datetime:
    """Monday 00:00 of `now`'s week on genjin's clock, in the configured time zone (as UTC)."""
    local = now.astimezone(tz)
    monday = datetime.combine((local - timedelta(days=local.weekday())).date(), time(0), tz)
    return monday.astimezone(UTC)


def week_bounds(now: datetime, tz: tzinfo, weeks: int) -> list[datetime]:
    """weeks+2 instants: `weeks` full weeks, then this week so far (its end is `now`)."""
    this_monday = week_start(now, tz)
    starts = [week_start(this_monday - timedelta(days=7 * k), tz) for k in range(weeks, 0, -1)]
    return [*starts, this_monday, max(now, this_monday)]


def kept_weeks(*, session: Session, rep_ids: Sequence[int], bounds: Sequence[datetime], now: datetime,
               catalog: Callable[[], bool], partial_last: bool = False,
               ) -> tuple[dict[tuple[int, int], HealthCounts], list[tuple[int, int]]]:
    """The weeks [bounds[i], bounds[i+1]) per rep, from the kept rows, counting the weeks that have no
    row for some rep or are due again (see the module doc) in one window. With `partial_last` the last
    interval is this week so far (it ends at `now`). Returns the counts by (rep, week index) and the
    (rep, week index) pairs just counted, for `save_weeks` to keep."""
    if not rep_ids:
        return {}, []
    starts = list(bounds[:-1])
    rows = session.exec(select(HealthWeek).where(col(HealthWeek.rep_id).in_(list(rep_ids)),
                                                 col(HealthWeek.week_start).in_(starts))).all()
    kept = {(r.rep_id, r.week_start): r for r in rows}
    due = set()
    for i, start in enumerate(starts):
        partial = partial_last and i == len(starts) - 1
        settled = not partial and now >= bounds[i + 1] + SETTLE
        for rep in rep_ids:
            row = kept.get((rep, start))
            if (row is None or (not settled and now - row.computed_at >= REFRESH)
                    or (not partial and row.computed_at < bounds[i + 1])):  # counted while it ran
                due.add(i)
                break
    index = {start: i for i, start in enumerate(starts)}
    result = {(rep, index[start]): HealthCounts(**row.counts) for (rep, start), row in kept.items()
              if row.counts is not None and index[start] not in due}
    if not due:
        return result, []
    first, last = min(due), max(due)
    counted = health_counts(session=session, rep_ids=rep_ids, bounds=bounds[first:last + 2],
                            on_time=FIRST_RESPONSE_TARGET, catalog=catalog())
    fresh = [(rep, i) for i in range(first, last + 1) for rep in rep_ids]
    for rep, i in fresh:
        result.pop((rep, i), None)
        if (rep, i - first) in counted:
            result[(rep, i)] = counted[(rep, i - first)]
    return result, fresh


def save_weeks(*, session: Session, counts: dict[tuple[int, int], HealthCounts], fresh: Sequence[tuple[int, int]],
               bounds: Sequence[datetime], at: datetime) -> None:
    """Keep the weeks just counted: one upsert per (rep, week), atomic on the unique key."""
    if not fresh:
        return
    values: list[dict[str, Any]] = []
    for rep, i in fresh:
        found = counts.get((rep, i))
        values.append({"rep_id": rep, "week_start": bounds[i], "computed_at": at, "created_at": at,
                       "counts": asdict(found) if found is not None else None})
    table: Any = HealthWeek.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(values)
    session.execute(stmt.on_conflict_do_update(index_elements=["rep_id", "week_start"],
                                               set_={"counts": stmt.excluded.counts,
                                                     "computed_at": stmt.excluded.computed_at}))
