"""Promise reminders: before the due time of a promise the rep made (lead in working time), and
when it passes unkept (broken: on the timeline, one notice); after the due time of a promise the
customer made, one nudge to follow up (also on the timeline).

Each open promise carries `remind_at`, the next instant to look at it (indexed). The sweep computes
the instants of the promise's rungs from its due time, claims the highest one reached with a
conditional UPDATE (rung, due time and status as read) and queues its push with a key of promise,
due time and rung: two instances, a re-run or downtime send each reminder once. 延期 moves the due
time, so the new reminders have new keys.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.cards.promises import SIDE, build_promise_reminder
from bot.config import Settings
from bot.format import fmt_when
from bot.pipeline.push import push_to_member
from scheduler.stale import working_hours
from scheduler.worktime import WorkingHours
from store.db import session_scope
from store.models import Customer, Member, Promise, PromiseStatus
from store.permissions import can_see
from store.promises import claim_promise_rung, due_promise_ids
from store.timeline import add_event

log = structlog.get_logger("genjin.promises")
BATCH = 500


def rung_times(promise: Promise, settings: Settings, wh: WorkingHours) -> list[datetime]:
    """Rep's promise: [reminder before due, due]; customer's promise: [due + nudge delay]."""
    due = promise.due_at
    if promise.promiser == "rep":
        before = wh.before(due, timedelta(hours=settings.promises.remind_before_hours))
        return [min(before, due), due]
    return [wh.add(due, timedelta(hours=settings.promises.nudge_after_hours))]


def sweep_promises(engine: Engine, settings: Settings, now: datetime) -> int:
    with Session(engine) as session:
        due = due_promise_ids(session=session, now=now, limit=BATCH)
    wh = working_hours(settings)
    sent = 0
    for promise_id in due:
        with session_scope(engine) as session:
            sent += _advance(session, settings, wh, promise_id, now)
    return sent


def _advance(session: Session, settings: Settings, wh: WorkingHours, promise_id: int, now: datetime) -> int:
    promise = session.get(Promise, promise_id)
    if (promise is None or promise.status != PromiseStatus.OPEN or promise.remind_at is None
            or promise.remind_at > now):
        return 0  # done, or another instance moved it on meanwhile
    rungs = rung_times(promise, settings, wh)
    reached = sum(1 for t in rungs if t <= now)
    next_remind = rungs[reached] if reached < len(rungs) else None
    if reached <= promise.rung:
        session.execute(update(Promise).where(col(Promise.id) == promise.id, col(Promise.rung) == promise.rung,
                                              col(Promise.due_at) == promise.due_at)
                        .values(remind_at=next_remind))
        return 0
    overdue = promise.promiser == "customer" or reached >= 2
    # A reminder moment already past when the ladder (re)started — the record was confirmed, or 延期
    # tapped, after it — is skipped: the rep has just dealt with this promise.
    silent = not overdue and rungs[reached - 1] < promise.remind_at
    if not claim_promise_rung(session=session, promise=promise, rung=reached, next_remind=next_remind,
                              broken_at=now if overdue else None):
        return 0
    if silent:
        return 0
    customer = session.get(Customer, promise.customer_id)
    rep = session.get(Member, promise.rep_id)
    if overdue and customer is not None:
        who = f"[{SIDE.get(promise.promiser, '')}] {promise.promiser_name}"
        add_event(session=session, customer_id=customer.id or 0, actor_id=promise.rep_id, kind="promise_broken",
                  summary=f"承诺到期未兑现（{fmt_when(promise.due_at, settings.tz)} 前）：{who} {promise.what}",
                  ref={"promise_id": promise.id}, at=now)
    if customer is None or rep is None or not can_see(rep, customer):
        return 0  # handed to another rep: the timeline keeps it, the old rep is not told
    card = build_promise_reminder(promise=promise, customer=customer, tz=settings.tz, overdue=overdue)
    key = f"promise:{promise.id}:{int(promise.due_at.timestamp())}:{reached}"
    queued = push_to_member(session=session, platforms=settings.enabled_platforms, member=rep, dedupe_key=key,
                            card=card, customer_id=customer.id, at=now)
    log.info("promise_reminder", promise_id=promise.id, rung=reached, queued=queued)
    return int(queued)
