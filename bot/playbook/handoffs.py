"""Stage hand-offs: when a customer enters a stage, the members holding the roles the configured rules
name (`[handoffs]`) get a card with 已接手. Called in the same transaction as the stage change, by
every path that changes a stage (the 阶段 command, 确认 on a card, the console).

Exactly once: each notification is a hand-off row unique on (customer, stage entry, member) and an
outbox row keyed on it; a second instance or a replay inserts nothing. The 已接手 deadline is
counted in working hours by scheduler/handoffs.py (due_at starts at the entry and is moved forward
there), which tells the supervisor once.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlmodel import Session, col, select

from bot.cards.playbook import build_handoff_card
from bot.cards.promises import promise_line
from bot.config import Settings
from bot.pipeline.push import push_to_member
from store.followups import confirmed_followups
from store.handoffs import create_handoff, get_handoff, latest_stage_entry
from store.models import Customer, Member, Visit
from store.privacy import mask_contacts
from store.promises import open_promises_of_customer
from store.roles import members_with_role
from store.timeline import add_event
from store.types import require_id

log = structlog.get_logger("genjin.handoffs")


def open_promises(*, session: Session, customer_id: int, settings: Settings) -> list[str]:
    """The customer's open promises of both sides from the commitment ledger (store/promises.py),
    soonest due first: the 已成交 hand-off's {promises}."""
    return [promise_line(p, settings.tz) for p in open_promises_of_customer(session=session, customer_id=customer_id)]


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:  # config validation allows only known names; belt and braces
        return "—"


def _goal(session: Session, customer: Customer, now: datetime) -> str:
    """The demo goal: the next scheduled visit's goal, else the newest confirmed record's first line."""
    visit = session.exec(
        select(Visit).where(col(Visit.customer_id) == customer.id, col(Visit.status) == "scheduled",
                            col(Visit.scheduled_at) >= now).order_by(col(Visit.scheduled_at)).limit(1)
    ).first()
    if visit is not None and visit.goal:
        return visit.goal
    records = sorted(confirmed_followups(session=session, customer_id=require_id(customer)),
                     key=lambda f: (f.created_at, f.id or 0), reverse=True)
    first = next((line.strip() for f in records for line in f.text.splitlines() if line.strip()), "")
    return first[:80] or "—"


def _summary(session: Session, customer: Customer, owner: Member | None) -> str:
    records = confirmed_followups(session=session, customer_id=require_id(customer))
    tags = sorted({t for f in records for t in f.tags})
    amount = next((f.amount_cny for f in sorted(records, key=lambda f: f.created_at, reverse=True)
                   if f.amount_cny is not None), None)
    parts = [customer.name + (f"（{customer.company}）" if customer.company else "")]
    if owner is not None:
        parts.append(f"负责人 {owner.display_name}")
    if customer.product:
        parts.append(f"意向 {customer.product}")
    if amount is not None:
        parts.append(f"金额 {amount} 元")
    parts.append(f"跟进 {len(records)} 次")
    if tags:
        parts.append("关注 " + "、".join(tags[:5]))
    return "，".join(parts)


def render_message(template: str, *, session: Session, customer: Customer, now: datetime,
                   settings: Settings) -> str:
    owner = session.get(Member, customer.owner_id) if customer.owner_id is not None else None
    promises = open_promises(session=session, customer_id=require_id(customer), settings=settings)
    values = _Blank(
        customer=customer.name, company=customer.company or "—", stage=customer.stage,
        owner=owner.display_name if owner else "公海", summary=_summary(session, customer, owner),
        goal=_goal(session, customer, now), promises="；".join(promises) if promises else "暂无记录",
    )
    return mask_contacts(template.format_map(values))


def announce_stage_entry(*, session: Session, settings: Settings, customer: Customer, at: datetime) -> int:
    """Queue the hand-offs for the stage the customer just entered (its newest stage_changed event);
    returns how many this call created. Safe to call again: what exists is not repeated."""
    rules = [r for r in settings.handoffs.rules if r.stage == customer.stage]
    if not rules:
        return 0
    entry = latest_stage_entry(session=session, customer_id=require_id(customer))
    if entry is None:
        return 0
    owner_name = "公海"
    if customer.owner_id is not None and (owner := session.get(Member, customer.owner_id)) is not None:
        owner_name = owner.display_name
    # One hand-off per member and entry (the unique key): a member holding several of the roles (法务
    # and 财务 in a small company) gets one card with each rule's message.
    wanted: dict[int, tuple[Member, list[str], list[str]]] = {}
    for rule in rules:
        message = render_message(rule.message, session=session, customer=customer, now=at, settings=settings)
        for role in rule.roles:
            for member in members_with_role(session=session, tag=role, team_id=customer.team_id):
                if member.id == customer.owner_id:
                    continue  # the owner is the one handing over
                _, roles, messages = wanted.setdefault(require_id(member), (member, [], []))
                if role not in roles:
                    roles.append(role)
                if message not in messages:
                    messages.append(message)
    created = 0
    for member_id, (member, roles, messages) in wanted.items():
        role_tag = "、".join(roles)[:32]
        handoff_id = create_handoff(session=session, customer_id=require_id(customer), stage=customer.stage,
                                    stage_event_id=require_id(entry), member_id=member_id, role_tag=role_tag,
                                    due_at=at, at=at)
        if handoff_id is None:
            continue  # this entry was handed to this member already (another instance, a replay)
        handoff = get_handoff(session=session, handoff_id=handoff_id)
        assert handoff is not None
        card = build_handoff_card(handoff=handoff, customer=customer, owner_name=owner_name,
                                  message="\n".join(messages), accept_hours=settings.handoffs.accept_hours)
        # No customer_id: a hand-off deliberately shares the customer with a role member (法务, 财务)
        # who may not otherwise see them, so the sender must not cancel it for that.
        push_to_member(session=session, member=member, dedupe_key=f"handoff:{customer.id}:{entry.id}:{member_id}",
                       platforms=settings.enabled_platforms, card=card, at=at)
        add_event(session=session, customer_id=require_id(customer), kind="handoff_sent", at=at,
                  summary=f"已通知 {member.display_name}（{role_tag}）接手「{customer.stage}」",
                  ref={"handoff_id": handoff_id, "member_id": member_id})
        created += 1
    if created:
        log.info("handoffs_created", customer_id=customer.id, stage_event_id=entry.id, count=created)
    return created
