"""Pool recycling: a customer with no follow-up for N days (per stage, `[recycle] days`) goes back to
the 公海; its owner is warned `warn_days_before` days earlier with 继续跟进 / 放回公海.

Found through the indexed last_activity_at, one stage at a time; the warning and the return are
conditional UPDATEs on the customer row (store/recycle.py), so two sweepers on one database warn
and return each customer once, and the warning's outbox row is keyed on the idle episode besides.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.cards.playbook import build_recycle_warning
from bot.config import Settings
from bot.pipeline.push import push_to_member
from store.db import session_scope
from store.models import Customer, Member
from store.recycle import claim_recycle_warning, idle_ids, return_to_pool, unwarned_idle_ids
from store.timeline import add_event

log = structlog.get_logger("genjin.recycle")
BATCH = 500


def sweep_recycle(engine: Engine, settings: Settings, now: datetime) -> int:
    """Returns what it did: warnings queued plus customers returned."""
    cfg = settings.recycle
    if not cfg.enabled:
        return 0
    done = 0
    warn = timedelta(days=cfg.warn_days_before)
    for stage, days in cfg.days.items():
        warns = 0 < cfg.warn_days_before < days
        if warns:  # first, so a customer is never returned without its warning
            with Session(engine) as session:
                warning = unwarned_idle_ids(session=session, stage=stage,
                                            idle_before=now - timedelta(days=days) + warn, limit=BATCH)
            for customer_id in warning:
                with session_scope(engine) as session:
                    done += _warn(session, settings, customer_id, stage, days, now)
        with Session(engine) as session:
            returning = idle_ids(session=session, stage=stage, idle_before=now - timedelta(days=days),
                                 warned_before=now - warn if warns else None, limit=BATCH)
        for customer_id in returning:
            with session_scope(engine) as session:
                done += _return(session, settings, customer_id, stage, days, now)
    return done


def _return(session: Session, settings: Settings, customer_id: int, stage: str, days: int, now: datetime) -> int:
    customer = session.get(Customer, customer_id)
    if (customer is None or customer.stage != stage or customer.owner_id is None or customer.last_activity_at is None
            or customer.last_activity_at > now - timedelta(days=days)):
        return 0  # worked, moved or returned meanwhile
    owner = session.get(Member, customer.owner_id)
    row = return_to_pool(session=session, customer=customer, days=days, now=now,
                         due_hours=settings.pushes.new_lead_hours)
    if row is None:
        return 0
    if owner is not None:
        push_to_member(session=session, member=owner, dedupe_key=f"recycled:{row.id}",
                       platforms=settings.enabled_platforms, at=now,
                       text=f"{customer.name} 已 {days} 天没有跟进，已回收到公海。")
    log.info("customer_recycled", customer_id=customer_id, idle_days=days)
    return 1


def _warn(session: Session, settings: Settings, customer_id: int, stage: str, days: int, now: datetime) -> int:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.stage != stage or customer.owner_id is None or customer.last_activity_at is None:
        return 0
    owner = session.get(Member, customer.owner_id)
    if owner is None or not claim_recycle_warning(session=session, customer=customer, now=now):
        return 0
    # Never sooner than the warning promised: a sweep that was down over the warning day warns late.
    return_at = max(customer.last_activity_at + timedelta(days=days),
                    now + timedelta(days=settings.recycle.warn_days_before))
    idle_days = (now - customer.last_activity_at).days
    card = build_recycle_warning(customer=customer, idle_days=idle_days, return_at=return_at, tz=settings.tz)
    episode = int(customer.last_activity_at.timestamp())
    queued = push_to_member(session=session, member=owner, dedupe_key=f"recycle_warn:{customer_id}:{episode}",
                            platforms=settings.enabled_platforms, card=card, customer_id=customer_id, at=now)
    add_event(session=session, customer_id=customer_id, kind="recycle_warned", at=now, actor_id=None,
              summary=f"已 {idle_days} 天没有跟进，提醒 {owner.display_name}：{days} 天未跟进将回收公海")
    return int(queued)
