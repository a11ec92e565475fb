"""Keep the data-health page's weeks (store/health_weeks.py) counted ahead of the page: every
REFRESH, one instance (a JobRun marker per slot) counts for every active rep the full weeks of the
trend that have no row yet or are still settling, so a page request reads rows instead of counting
eight weeks of records. Missing a run only means the next page request counts what is due itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.catalog.entries import catalog_entries
from bot.config import Settings
from scheduler.jobs import log
from scheduler.scoring import claim_slot, slot_of
from store.db import session_scope
from store.health_weeks import REFRESH, TREND_WEEKS, kept_weeks, save_weeks, week_bounds
from store.models import Member, Role

JOB = "health_weeks"


def count_health_weeks(engine: Engine, settings: Settings, now: datetime) -> int:
    """Count and keep what is due; returns how many (rep, week) rows were written."""
    bounds = week_bounds(now, settings.tz, TREND_WEEKS)[:-1]  # the full weeks: this week stays live
    with Session(engine) as session:
        reps = [int(i) for i in session.exec(select(Member.id).where(col(Member.role) == Role.REP,
                                                                      col(Member.active))).all() if i is not None]
        counts, fresh = kept_weeks(session=session, rep_ids=reps, bounds=bounds, now=now,
                                   catalog=lambda: bool(catalog_entries(session=session, settings=settings)))
    with session_scope(engine) as session:
        save_weeks(session=session, counts=counts, fresh=fresh, bounds=bounds, at=now)
    return len(fresh)


def health_weeks_job(engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> int:
    now = clock()
    if not claim_slot(engine, JOB, slot_of(now, int(REFRESH.total_seconds() // 60)), now):
        return 0  # another instance has this slot
    written = count_health_weeks(engine, settings, now)
    if written:
        log.info("health_weeks_counted", rows=written)
    return written
