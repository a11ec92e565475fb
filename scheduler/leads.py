"""New-lead response: a lead assigned and not contacted within N hours -> remind the rep;
not assigned within N hours -> alert the supervisors. Found through the indexed lead_due_at."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.pipeline.push import push_to_member
from store.customers import due_customer_ids
from store.db import session_scope
from store.models import Customer, Member, Role
from store.privacy import mask_contacts

BATCH = 500


def sweep_new_leads(engine: Engine, settings: Settings, now: datetime) -> int:
    with Session(engine) as session:
        due = due_customer_ids(session=session, due_column="lead_due_at", now=now, limit=BATCH)
    sent = 0
    for customer_id in due:
        with session_scope(engine) as session:
            customer = session.get(Customer, customer_id)
            if customer is None or customer.lead_due_at is None or customer.lead_due_at > now:
                continue
            sent += _remind(session, settings, customer, now)
            customer.lead_due_at = None  # one reminder per lead; a reassignment sets a new due time
            session.add(customer)
    return sent


def _remind(session: Session, settings: Settings, customer: Customer, now: datetime) -> int:
    hours = settings.pushes.new_lead_hours
    since = customer.assigned_at or customer.lead_received_at
    key = f"newlead:{customer.id}:{int(since.timestamp()) if since else 0}"
    who = customer.name + (f"（{customer.company}）" if customer.company else "")
    if customer.owner_id is not None and customer.first_contact_at is None:
        owner = session.get(Member, customer.owner_id)
        if owner is None:
            return 0
        return int(
            push_to_member(
                session=session, at=now,
                platforms=settings.enabled_platforms,
                member=owner,
                dedupe_key=key,
                customer_id=customer.id,
                text=f"【新线索待联系】{who} 分配给你已超过 {hours:g} 小时，还没有跟进记录，请尽快联系。",
            )
        )
    if customer.owner_id is None:
        sups = session.exec(
            select(Member).where(
                col(Member.team_id) == customer.team_id, col(Member.role) == Role.SUPERVISOR, col(Member.active)
            )
        ).all()
        return sum(
            push_to_member(
                session=session, at=now,
                platforms=settings.enabled_platforms,
                member=s,
                dedupe_key=f"{key}:sup{s.id}",
                customer_id=customer.id,
                text=f"【线索未分配】{mask_contacts(who)} 进入公海已超过 {hours:g} 小时仍未分配，请尽快分配。",
            )
            for s in sups
        )
    return 0
