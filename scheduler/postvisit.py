"""Post-visit prompt: a visit with no memo or note from its rep about the customer within
`pushes.postvisit_hours` of working time after its end gets one card asking stage, next action and
next time (bot/cards/postvisit.py); its reply or voice memo becomes that customer's follow-up.

A visit ends `pushes.visit_minutes` after it starts. The window is counted in working time
(scheduler/worktime.py: working hours, Chinese holidays and make-up days), so a visit that ends on a
Friday evening is prompted on Monday morning. Each scheduled visit is judged once: the first note's
time against the deadline is stored on the visit (note_in_time, for data health:
store.visits.visit_note_health) by a conditional UPDATE only one sweeper wins, and the card goes out
in that same transaction with an outbox key per (visit, scheduled time). A cancelled visit is never
judged; a moved one is judged against its new time (store.visits.reschedule_visit resets it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.cards.postvisit import build_postvisit_card
from bot.config import Settings
from bot.pipeline.push import push_to_member
from scheduler.stale import working_hours
from store.db import session_scope
from store.models import Customer, Member, Visit
from store.permissions import can_see
from store.visits import decide_visit_note, first_note_after, visits_awaiting_note

# A deadline further back than this (downtime, or visits from before this feature) is recorded for
# data health but not prompted: a card about a visit days ago only nags.
PROMPT_MAX_LATE = timedelta(hours=24)


def note_deadline(settings: Settings, visit: Visit) -> datetime:
    """The end of the visit plus the note window, in working time."""
    end = visit.scheduled_at + timedelta(minutes=settings.pushes.visit_minutes)
    return working_hours(settings).add(end, timedelta(hours=settings.pushes.postvisit_hours))


def sweep_postvisit(engine: Engine, settings: Settings, now: datetime) -> int:
    ended_before = now - timedelta(minutes=settings.pushes.visit_minutes)
    with Session(engine) as session:
        candidates = visits_awaiting_note(session=session, ended_before=ended_before)
    sent = 0
    for visit in candidates:
        with session_scope(engine) as session:
            sent += _judge(session, settings, visit, now)
    return sent


def _judge(session: Session, settings: Settings, visit: Visit, now: datetime) -> int:
    deadline = note_deadline(settings, visit)
    first = first_note_after(session=session, visit=visit, until=now)
    if first is not None and first <= deadline:
        decide_visit_note(session=session, visit=visit, in_time=True, prompt=False, at=now)
        return 0
    if now <= deadline:
        return 0  # still within the window
    rep = session.get(Member, visit.rep_id)
    customer = session.get(Customer, visit.customer_id)
    prompt = (first is None and now - deadline <= PROMPT_MAX_LATE and rep is not None and customer is not None
              and rep.active and can_see(rep, customer))
    if not decide_visit_note(session=session, visit=visit, in_time=False, prompt=prompt, at=now) or not prompt:
        return 0
    assert rep is not None and customer is not None
    card = build_postvisit_card(customer=customer, visit=visit, tz=settings.tz)
    key = f"postvisit:{visit.id}:{visit.scheduled_at.isoformat()}"
    return int(push_to_member(session=session, platforms=settings.enabled_platforms, member=rep, dedupe_key=key,
                              card=card, customer_id=customer.id, at=now))
