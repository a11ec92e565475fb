"""The AsyncIOScheduler with fixed jobs and stable ids (replace_existing: a restart re-registers)."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from scheduler import jobs


def build_scheduler(engine: Engine, timezone: str) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=timezone, job_defaults={"coalesce": True, "max_instances": 1,
                                                                   "misfire_grace_time": 300})
    scheduler.add_job(jobs.expire_conversations, "interval", minutes=10, args=[engine],
                      id="expire_conversations", replace_existing=True)
    scheduler.add_job(jobs.log_queue_health, "interval", minutes=1, args=[engine],
                      id="log_queue_health", replace_existing=True)
    return scheduler
