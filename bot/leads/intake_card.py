"""The new-lead card for its owner, through the outbox (intake and approvals both send it)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.cards.leads import build_new_lead_card, touch_line
from bot.config import Settings
from bot.pipeline.push import push_to_member
from store.leads import previous_touches
from store.models import Customer, LeadAssignment, LeadTouch, Member
from store.types import require_id


def push_lead_card(*, session: Session, settings: Settings, customer: Customer, touch: LeadTouch | None,
                   row: LeadAssignment, member: Member, now: datetime) -> bool:
    history = [touch_line(t, now, settings.tz)
               for t in previous_touches(session=session, customer_id=require_id(customer))]
    card = build_new_lead_card(customer=customer, touch=touch, reason=row.reason, history=history,
                               due_hours=settings.pushes.new_lead_hours, now=now, tz=settings.tz)
    return push_to_member(session=session, at=now, member=member, dedupe_key=f"lead:{customer.id}:{row.id}",
                          platforms=settings.enabled_platforms, card=card, customer_id=customer.id)

