"""Early churn warning: once a day (settings.churn.run_time, local), score every won or late-stage
customer (scheduler/churn_score.py) and push the owner and the supervisors when the score crosses
the alert threshold — once per episode. An episode closes when the score falls below the lower
re-arm threshold (hysteresis: a score hovering at the line does not alert every day).

The day's run is claimed by a JobRun marker inserted in the same transaction as everything it
writes (scores, episodes, timeline lines, outbox rows): a second instance waits on the marker's
unique key and then finds the day done; a crash rolls the marker back with the work, so the next
sweep redoes the day. The pushes are also keyed per customer and episode.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.cards.churn import build_churn_alert
from bot.config import Settings
from bot.pipeline.push import push_to_member
from scheduler.churn_score import ChurnInputs, ChurnRisk, churn_risk
from store.churn import (
    close_churn_episode,
    contact_history,
    open_churn_episode,
    record_churn_score,
    watched_customers,
)
from store.db import session_scope
from store.members import supervisors_of
from store.models import Customer, JobRun, Member
from store.promises import broken_promises_of_customer
from store.timeline import add_event
from store.upsert import insert_ignore

log = structlog.get_logger("genjin.churn")
JOB = "churn_scan"


def run_churn_scan(engine: Engine, settings: Settings, now: datetime) -> int:
    """The day's scan if it is due and not yet done; returns the pushes queued."""
    local = now.astimezone(settings.tz)
    hh, mm = (int(x) for x in settings.churn.run_time.split(":"))
    if local.time() < time(hh, mm):
        return 0
    period = local.date().isoformat()
    with Session(engine) as session:
        if session.exec(select(JobRun.id).where(col(JobRun.job) == JOB, col(JobRun.period) == period)).first():
            return 0
    with session_scope(engine) as session:
        if insert_ignore(session, JobRun, {"job": JOB, "period": period, "created_at": now}, ["job", "period"]) is None:
            return 0
        return scan(session, settings, now)


def customer_risk(session: Session, settings: Settings, customer: Customer, now: datetime) -> ChurnRisk:
    weights = settings.churn.weights
    history = [(when, tags) for when, tags in contact_history(session=session, customer_id=customer.id or 0)
               if when <= now]
    broken = broken_promises_of_customer(session=session, customer_id=customer.id or 0,
                                         since=now - timedelta(days=weights.promise_window_days), now=now)
    inputs = ChurnInputs(contacts=[w for w, _ in history], tagged=history, broken_promises=broken,
                         renewal_at=customer.renewal_at)
    return churn_risk(inputs, now=now, weights=weights)


def scan(session: Session, settings: Settings, now: datetime) -> int:
    cfg = settings.churn
    sent = alerts = 0
    for customer in watched_customers(session=session, stages=cfg.stages):
        cid = customer.id or 0
        risk = customer_risk(session, settings, customer, now)
        record_churn_score(session=session, customer_id=cid, score=risk.score, reasons=risk.reasons, at=now)
        if risk.score >= cfg.alert_at:
            if open_churn_episode(session=session, customer_id=cid, at=now):
                alerts += 1
                sent += _alert(session, settings, customer, risk, now)
        elif risk.score < cfg.rearm_below and close_churn_episode(session=session, customer_id=cid):
            add_event(session=session, customer_id=cid, kind="churn_recovered", at=now,
                      summary=f"流失风险回落（风险分 {risk.score:.0f}），预警解除")
    if alerts:
        log.info("churn_alerts", alerts=alerts, queued=sent)
    return sent


def _alert(session: Session, settings: Settings, customer: Customer, risk: ChurnRisk, now: datetime) -> int:
    owner = session.get(Member, customer.owner_id)
    if owner is None:
        return 0
    cid = customer.id or 0
    add_event(session=session, customer_id=cid, actor_id=owner.id, kind="churn_alert", at=now,
              summary=f"流失预警（风险分 {risk.score:.0f}）：" + "；".join(risk.reasons))
    episode = f"churn:{cid}:{int(now.timestamp())}"  # the episode's start: one key per episode and recipient
    sent = 0
    for member, for_supervisor in [(owner, False), *((s, True) for s in supervisors_of(session=session, member=owner))]:
        card = build_churn_alert(customer=customer, owner_name=owner.display_name, score=risk.score,
                                 threshold=settings.churn.alert_at, reasons=risk.reasons, for_supervisor=for_supervisor)
        sent += push_to_member(session=session, platforms=settings.enabled_platforms, member=member,
                               dedupe_key=f"{episode}:{member.id}", card=card, customer_id=cid, at=now)
    return sent
