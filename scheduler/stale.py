"""The stale-lead ladder, counted in working time: rep reminder -> supervisor alert -> high risk.

Each customer carries `stale_due_at`, the next instant its ladder must be looked at (indexed). A
follow-up sets it to now and resets the rung (store/followups.record_contact); the sweep computes
the exact working-time instant of the next rung and either fires it (keyed per customer, rung and
episode: exactly once) or pushes `stale_due_at` forward. Rung changes are conditional updates, so
two scheduler instances cannot both advance the same customer.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, time, timedelta
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.cards.pushes import build_stale_alert, build_stale_reminder, suggested_message
from bot.cards.supervision import StaleLine, build_stale_digest
from bot.config import Settings, StaleThresholds
from bot.pipeline.push import push_to_member, queue_for_member
from scheduler.worktime import WorkingHours
from store.customers import due_customer_ids
from store.db import session_scope
from store.members import supervisors_of
from store.models import Customer, Member, OutboxMessage
from store.outbox import fold_held_rows
from store.timeline import add_event

log = structlog.get_logger("genjin.stale")
BATCH = 500
DIGEST_HOLD = timedelta(minutes=10)  # far beyond one sweep (BATCH customers), short for a lost digest
DIGEST_LINE = "stale_line"  # the payload key of a held alert's digest line


def working_hours(settings: Settings) -> WorkingHours:
    def parse(hhmm: str) -> time:
        h, m = (int(x) for x in hhmm.split(":"))
        return time(23, 59, 59) if h == 24 else time(h, m)

    return WorkingHours(settings.tz, parse(settings.pushes.work_start), parse(settings.pushes.work_end))


def sweep_stale(engine: Engine, settings: Settings, now: datetime) -> int:
    with Session(engine) as session:
        due = due_customer_ids(session=session, due_column="stale_due_at", now=now, limit=BATCH)
    fired = 0
    wh = working_hours(settings)
    held: dict[int, list[int]] = {}  # supervisor id -> this sweep's held alert rows
    for customer_id in due:
        with session_scope(engine) as session:
            fired += _advance(session, settings, wh, customer_id, now, held)
    for supervisor_id, row_ids in held.items():
        with session_scope(engine) as session:
            _digest(session, settings, supervisor_id, row_ids, now)
    return fired


def _digest(session: Session, settings: Settings, supervisor_id: int, row_ids: list[int], now: datetime) -> None:
    """One card for all of a supervisor's alerts of this sweep, keyed per (supervisor, sweep): the
    sweep is named by its instant and its first alert row, unique even when two instances sweep at
    the same instant (each folds only the rows it fired). A single alert goes as it is."""
    def payload_of(rows: list[OutboxMessage]) -> dict[str, Any]:
        lines = [StaleLine(**row.payload[DIGEST_LINE]) for row in rows]
        return {"card": build_stale_digest(lines=lines, now=now, tz=settings.tz).model_dump()}

    key = f"stale_digest:{supervisor_id}:{now.isoformat()}:{min(row_ids)}"
    digest_id = fold_held_rows(session=session, row_ids=row_ids, dedupe_key=key, min_rows=2, payload_of=payload_of,
                               at=now)
    if digest_id is not None:
        log.info("stale_digest_queued", supervisor_id=supervisor_id, alerts=len(row_ids))


def _advance(session: Session, settings: Settings, wh: WorkingHours, customer_id: int | None, now: datetime,
             held: dict[int, list[int]]) -> int:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.stale_due_at is None or customer.stale_due_at > now:
        return 0  # another instance handled it meanwhile
    thresholds = settings.pushes.stale.get(customer.stage)
    if (thresholds is None or customer.merged_into_id is not None or customer.last_activity_at is None
            or customer.owner_id is None):
        _set_due(session, customer, None)  # won, lost, merged or in the pool: no ladder
        return 0
    if customer.snoozed_until is not None and customer.snoozed_until > now:
        _set_due(session, customer, customer.snoozed_until)
        return 0
    rungs = _rung_times(thresholds, wh, customer.last_activity_at)
    reached = sum(1 for due_at in rungs if due_at <= now)
    fired = 0
    if reached > customer.stale_rung:
        if not _claim_rung(session, customer, reached):
            return 0
        idle = wh.elapsed(customer.last_activity_at, now).total_seconds() / 3600
        fired = _fire(session, settings, customer, reached, idle, now, held)
    next_due = rungs[reached] if reached < len(rungs) else None
    _set_due(session, customer, next_due)
    return fired


def _rung_times(t: StaleThresholds, wh: WorkingHours, since: datetime) -> list[datetime]:
    return [wh.add(since, timedelta(hours=h)) for h in (t.remind_rep, t.alert_supervisor, t.high_risk)]


def _claim_rung(session: Session, customer: Customer, rung: int) -> bool:
    result = session.execute(
        update(Customer)
        .where(col(Customer.id) == customer.id, col(Customer.stale_rung) == customer.stale_rung)
        .values(stale_rung=rung)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(customer)
    return True


def _set_due(session: Session, customer: Customer, due: datetime | None) -> None:
    customer.stale_due_at = due
    session.add(customer)


def _fire(session: Session, settings: Settings, customer: Customer, rung: int, idle: float, now: datetime,
          held: dict[int, list[int]]) -> int:
    owner = session.get(Member, customer.owner_id)
    if owner is None:
        return 0
    episode = int(customer.last_activity_at.timestamp()) if customer.last_activity_at else 0
    key = f"stale:{customer.id}:{episode}"
    sent = 0
    if rung == 1:
        card = build_stale_reminder(customer=customer, idle_hours=idle, suggestion=suggested_message(customer))
        sent += push_to_member(
            session=session, platforms=settings.enabled_platforms, member=owner, dedupe_key=f"{key}:1", card=card,
            customer_id=customer.id,
            at=now,
        )
    else:
        high = rung >= 3
        if high:
            customer.risk = "high"
            session.add(customer)
            add_event(
                session=session,
                customer_id=customer.id or 0,
                kind="high_risk",
                at=now,
                summary=f"超过 {idle:.0f} 个工作小时未跟进，标记为高风险",
            )
        if not high:
            add_event(
                session=session,
                customer_id=customer.id or 0,
                kind="stale_alert",
                at=now,
                actor_id=owner.id,
                summary=f"超过 {idle:.0f} 个工作小时未跟进，已提醒主管",
            )
        alert = build_stale_alert(customer=customer, owner_name=owner.display_name, idle_hours=idle, high_risk=high)
        line = asdict(StaleLine(customer_id=customer.id or 0, name=customer.name, company=customer.company,
                                owner=owner.display_name, stage=customer.stage, rung=rung, idle_hours=round(idle, 1),
                                idle_days=(now - customer.last_activity_at).days if customer.last_activity_at else 0))
        for sup in supervisors_of(session=session, member=owner):
            # Held back briefly: the end of this sweep folds it into the supervisor's digest. Should
            # the process die before that, the hold runs out and the alert is sent on its own.
            row_id = queue_for_member(
                session=session, at=now,
                platforms=settings.enabled_platforms,
                member=sup,
                dedupe_key=f"{key}:{rung}:sup{sup.id}",
                card=alert,
                customer_id=customer.id,
                extra={DIGEST_LINE: line},
                not_before=now + DIGEST_HOLD,
            )
            if row_id is not None:
                held.setdefault(sup.id or 0, []).append(row_id)
                sent += 1
        cc = f"【抄送】{customer.name} 已 {idle:.0f} 个工作小时未跟进，已提醒主管" + (
            "，并标记为高风险" if high else ""
        )
        sent += push_to_member(
            session=session, platforms=settings.enabled_platforms, member=owner, dedupe_key=f"{key}:{rung}:cc", text=cc,
            customer_id=customer.id,
            at=now,
        )
    log.info("stale_rung_fired", customer_id=customer.id, rung=rung, idle_hours=round(idle, 1))
    return sent
