"""The AsyncIOScheduler with fixed jobs and stable ids (replace_existing: a restart re-registers).

Every job is a sweep over due rows, so the interval only bounds latency: a missed run, a second
instance or a restart changes nothing but timing. All jobs also run once at start-up (catch-up).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from bot.anomalies.prices import catalog_prices
from bot.config import Settings
from scheduler import jobs
from scheduler.anomalies import sweep_anomalies
from scheduler.approvals import sweep_approvals
from scheduler.churn import run_churn_scan
from scheduler.handoffs import sweep_handoffs
from scheduler.health_weeks import health_weeks_job
from scheduler.leads import sweep_new_leads
from scheduler.postvisit import sweep_postvisit
from scheduler.previsit import sweep_previsit
from scheduler.promises import sweep_promises
from scheduler.recycle import sweep_recycle
from scheduler.reminders import sweep_unconfirmed
from scheduler.scoring import push_top_leads, rescore_leads_job
from scheduler.stale import sweep_stale
from scheduler.weekly import send_weekly_reports
from store.health_weeks import REFRESH as HEALTH_REFRESH

SWEEP_SECONDS = 30  # the shortest job interval: the scheduler wakes at least this often


def run_sweeps(engine: Engine, settings: Settings, now: datetime) -> dict[str, int]:
    """One pass of every push sweep (the scheduler's job; also used by tests and the benchmark)."""
    return {
        "previsit": sweep_previsit(engine, settings, now),
        "postvisit": sweep_postvisit(engine, settings, now),
        "stale": sweep_stale(engine, settings, now),
        "new_leads": sweep_new_leads(engine, settings, now),
        "unconfirmed": sweep_unconfirmed(engine, settings, now),
        # Before the weekly report: a record confirmed before the report is checked before it counts.
        "anomalies": sweep_anomalies(engine, settings, now, prices=catalog_prices(settings)),
        "promises": sweep_promises(engine, settings, now),
        "churn": run_churn_scan(engine, settings, now),
        "weekly": send_weekly_reports(engine, settings, now),
        "handoffs": sweep_handoffs(engine, settings, now),
        "recycle": sweep_recycle(engine, settings, now),
        "approvals": sweep_approvals(engine, settings, now),
        "top_leads": push_top_leads(engine, settings, now),
    }


def push_sweeps_job(
    engine: Engine, settings: Settings, clock: Callable[[], datetime], on_queued: Callable[[], None] | None = None
) -> dict[str, int]:
    counts = run_sweeps(engine, settings, clock())
    if on_queued is not None and any(counts.values()):
        on_queued()
    if any(counts.values()):
        jobs.log.info("push_sweeps", **counts)
    return counts


def build_scheduler(
    engine: Engine,
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    on_queued: Callable[[], None] | None = None,
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        timezone=settings.timezone, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    )
    # APScheduler's own timer runs on real time (it sleeps on the event loop); what a job does is
    # decided by the injected clock it is given.
    now = datetime.now(settings.tz)  # wall-clock: APScheduler trigger time, not a business timestamp
    scheduler.add_job(
        push_sweeps_job,
        "interval",
        seconds=SWEEP_SECONDS,
        args=[engine, settings, clock, on_queued],
        id="push_sweeps",
        replace_existing=True,
        next_run_time=now,
    )
    scheduler.add_job(
        jobs.expire_conversations,
        "interval",
        minutes=10,
        args=[engine, clock],
        id="expire_conversations",
        replace_existing=True,
    )
    scheduler.add_job(
        rescore_leads_job,
        "interval",
        minutes=settings.scoring.interval_minutes,
        args=[engine, settings, clock],
        id="lead_rescore",
        replace_existing=True,
        next_run_time=now,
    )
    scheduler.add_job(
        health_weeks_job,
        "interval",
        minutes=int(HEALTH_REFRESH.total_seconds() // 60),
        args=[engine, settings, clock],
        id="health_weeks",
        replace_existing=True,
        next_run_time=now,
    )
    scheduler.add_job(
        jobs.log_queue_health, "interval", minutes=1, args=[engine], id="log_queue_health", replace_existing=True
    )
    return scheduler


def watch_jobs(scheduler: AsyncIOScheduler, *, on_tick: Callable[[], None],
               on_finished: Callable[[str, bool], None]) -> None:
    """Report the scheduler's pulse and each job's outcome (for /readyz and /metrics).

    `on_tick` runs whenever the scheduler hands a job out (or finds it still running or late): proof
    that its own loop goes round. `on_finished(job_id, ok)` runs when a job returned or raised; it is
    called from the executor's thread."""

    def ticked(_event: JobEvent) -> None:
        on_tick()

    def finished(event: JobExecutionEvent) -> None:
        on_finished(event.job_id, event.exception is None)

    scheduler.add_listener(ticked, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
    scheduler.add_listener(finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
