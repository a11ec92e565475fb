"""Pre-visit cards: N minutes before each scheduled visit, once per (visit, scheduled time).

Due visits are found by an indexed range on scheduled_at, so the sweep costs what is due. A moved
visit has a new scheduled_at and therefore a new key (a new card at the new time); a cancelled one
is no longer 'scheduled' and gets nothing. After downtime, a visit still ahead gets its card late
rather than never. The card goes to the visit's rep only while that rep may see the customer; a
转给 moves the visit to the new owner (store.visits.hand_over_visits), whose card has its own key.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.cards.promises import promise_line
from bot.cards.pushes import build_previsit_card
from bot.cards.snippet import candidates_of, history_snippet
from bot.config import Settings
from bot.pipeline.push import push_to_member
from store.db import session_scope
from store.models import Customer, FollowUp, Member, Visit
from store.permissions import can_see
from store.promises import open_promises_of_customer
from store.timeline import snippet_candidates


def sweep_previsit(engine: Engine, settings: Settings, now: datetime) -> int:
    lead = timedelta(minutes=settings.pushes.previsit_minutes)
    with Session(engine) as session:
        due = list(
            session.exec(
                select(Visit)
                .where(
                    col(Visit.scheduled_at) > now,
                    col(Visit.scheduled_at) <= now + lead,
                    col(Visit.status) == "scheduled",
                )
                .order_by(col(Visit.scheduled_at))
                .limit(500)
            ).all()
        )
    sent = 0
    for visit in due:
        with session_scope(engine) as session:
            sent += _push_previsit(session, settings, visit, now)
    return sent


def _push_previsit(session: Session, settings: Settings, visit: Visit, now: datetime) -> int:
    rep = session.get(Member, visit.rep_id)
    customer = session.get(Customer, visit.customer_id)
    if rep is None or customer is None or not can_see(rep, customer):
        return 0
    history = history_snippet(candidates_of(snippet_candidates(session=session, actor=rep,
                                                               customer_id=customer.id or 0)), now=now)
    recent = list(
        session.exec(
            select(FollowUp)
            .where(
                col(FollowUp.customer_id) == customer.id,
                col(FollowUp.created_at) >= visit.scheduled_at - timedelta(days=30),
            )
            .order_by(col(FollowUp.created_at).desc())
            .limit(20)
        ).all()
    )
    open_tags = sorted({t for f in recent for t in f.tags})
    # Open promises of both sides from the ledger (bot/extract/promises.py), soonest due first.
    promises = [promise_line(p, settings.tz)
                for p in open_promises_of_customer(session=session, customer_id=customer.id or 0)]
    # The customer's amount as the console and the export show it (store/customers.sync_amount: the
    # current catalog quote's total, else the newest confirmed record's amount; a draft's is not yet).
    last_amount = customer.amount_cny
    card = build_previsit_card(
        customer=customer,
        visit=visit,
        history=history,
        open_tags=open_tags,
        talking_points=settings.pushes.talking_points,
        promises=promises,
        last_amount=last_amount,
        tz=settings.tz,
    )
    key = f"previsit:{visit.id}:{visit.scheduled_at.isoformat()}:{rep.id}"
    return int(
        push_to_member(session=session, platforms=settings.enabled_platforms, member=rep, dedupe_key=key, card=card,
                       customer_id=customer.id, at=now)
    )
