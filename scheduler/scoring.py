"""Lead scoring jobs: re-scoring on a timer, and the daily top-leads push.

Re-scoring (every scoring.interval_minutes): a JobRun marker per interval slot lets one instance run
it; it scores only the due rows (store/scores.py), so its cost follows the changes, not the table. A
crash midway leaves the rest due for the next slot; scoring twice gives the same score.

Top leads (daily after scoring.top_leads_time, local): one card per rep with open, scored leads;
each card is an outbox row keyed topleads:<rep>:<date>, and the day's JobRun marker is written in
the same transaction, so N instances and restarts push it exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.cards.scores import build_top_leads_card
from bot.config import Settings
from bot.pipeline.push import push_to_member
from bot.scoring.rescore import rescore_due
from store.db import session_scope
from store.models import JobRun, Member, Role
from store.scores import top_leads
from store.upsert import insert_ignore

log = structlog.get_logger("genjin.scoring")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def slot_of(now: datetime, minutes: int) -> str:
    return str(int((now - EPOCH).total_seconds() // (minutes * 60)))


def claim_slot(engine: Engine, job: str, period: str, now: datetime) -> bool:
    with session_scope(engine) as session:
        return insert_ignore(session, JobRun, {"job": job, "period": period, "created_at": now},
                             ["job", "period"]) is not None


def rescore_leads_job(engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> int:
    now = clock()
    if not claim_slot(engine, "lead_rescore", slot_of(now, settings.scoring.interval_minutes), now):
        return 0  # another instance has this slot
    scored = rescore_due(engine, settings, now)
    if scored:
        log.info("leads_rescored", count=scored)
    return scored


def push_top_leads(engine: Engine, settings: Settings, now: datetime) -> int:
    tz = settings.tz
    local = now.astimezone(tz)
    hh, mm = (int(x) for x in settings.scoring.top_leads_time.split(":"))
    if local < datetime.combine(local.date(), time(hh, mm), tz):
        return 0
    period = local.date().isoformat()
    with Session(engine) as session:
        if session.exec(select(JobRun).where(col(JobRun.job) == "top_leads", col(JobRun.period) == period)).first():
            return 0
    sent = 0
    with session_scope(engine) as session:
        if insert_ignore(session, JobRun, {"job": "top_leads", "period": period, "created_at": now},
                         ["job", "period"]) is None:
            return 0
        reps = session.exec(select(Member).where(col(Member.role) == Role.REP, col(Member.active))
                            .order_by(col(Member.id))).all()
        for rep in reps:
            leads = top_leads(session=session, owner_id=rep.id or 0, min_score=settings.scoring.top_leads_min_score,
                              limit=settings.scoring.top_leads_count)
            if not leads:
                continue
            card = build_top_leads_card(leads=leads, console_url=settings.console.public_url)
            sent += push_to_member(session=session, member=rep, dedupe_key=f"topleads:{rep.id}:{period}",
                                   platforms=settings.enabled_platforms, card=card, at=now)
    return sent
