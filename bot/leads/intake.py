"""One lead in: duplicate check -> a touch on the known customer, or a new customer assigned by the
rules; then the owner's card through the outbox. One transaction: all of it or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlmodel import Session

from bot.cards.leads import build_touch_card, touch_line
from bot.config import Settings
from bot.leads.approvals import hold_for_approval
from bot.leads.assignment import Decision, decide, load_state
from bot.leads.channels import ChannelTable
from bot.leads.fields import LeadInput
from bot.leads.intake_card import push_lead_card
from bot.leads.rules import LeadFacts, RulesError, load_rules
from bot.pipeline.push import push_to_member
from bot.scoring.model import Profile, profile_score
from bot.scoring.weights import WeightsError, load_weights
from store.leads import (
    add_touch_event,
    assign_lead,
    default_team_id,
    find_lead_duplicate,
    find_touch,
    lock_contact_keys,
    previous_touches,
)
from store.models import Customer, LeadTouch, Member
from store.names import customer_name, pinyin_of
from store.types import require_id

log = structlog.get_logger("genjin.leads")
FILLABLE = ("company", "email", "phone", "title", "region", "industry", "product", "grade")


@dataclass
class IntakeResult:
    customer_id: int
    duplicate: bool  # a known customer: a new touch, not a new record
    replayed: bool = False  # the same external_id again: nothing done
    owner_id: int | None = None
    owner_name: str | None = None
    channel: str = ""
    channel_flagged: bool = False
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"customer_id": self.customer_id, "duplicate": self.duplicate, "replayed": self.replayed,
                "owner": self.owner_name, "pool": self.owner_id is None, "channel": self.channel,
                "channel_flagged": self.channel_flagged, "reason": self.reason}


def channel_table(settings: Settings) -> ChannelTable:
    return ChannelTable(settings.leads.channels)


def facts_of(lead: LeadInput, settings: Settings | None = None) -> LeadFacts:
    """What the rules match on; with `settings`, also the lead's profile score (for `score` rules)."""
    return LeadFacts(channel=lead.channel.name, channel_known=lead.channel.known, region=lead.region,
                     industry=lead.industry, product=lead.product, grade=lead.grade, campaign=lead.campaign,
                     score=intake_score(settings, lead) if settings is not None else None)


def intake_score(settings: Settings, lead: LeadInput) -> int | None:
    """The profile part of the lead score (industry, region, company size, channel): all that is
    known of a new lead when it is assigned; behaviour comes with its events and re-scoring.
    None when the weights file is broken (a `score` rule then does not match; logged)."""
    try:
        weights = load_weights(settings.scoring.weights_file)
    except WeightsError as exc:
        log.error("scoring_weights_invalid", error=str(exc))
        return None
    profile = Profile(industry=lead.industry, region=lead.region, company=lead.company, channel=lead.channel.name)
    return profile_score(weights=weights, profile=profile)


def decide_for(*, session: Session, settings: Settings, facts: LeadFacts, now: datetime) -> Decision:
    """The rules' decision; a broken rule file sends the lead to the pool (never lost) and says so."""
    channels = channel_table(settings)
    try:
        rules = load_rules(session=session, rules_file=settings.leads.rules_file, channels=channels)
    except RulesError as exc:
        log.error("lead_rules_invalid", error=str(exc))
        why = f"{facts.describe()}，分配规则文件有误（{exc.problems[0]}），进入公海"
        return Decision(None, None, default_team_id(session=session), None, None, why)
    state = load_state(session=session, rules=rules, now=now, window_days=settings.leads.conversion_window_days,
                       exemption_kinds=settings.leads.skip_exemption_kinds)
    decision = decide(rules=rules, lead=facts, state=state, channels=channels, tz=settings.tz)
    if decision.team_id is None:
        decision.team_id = rules.pool_team_id
    return decision


def new_touch(*, customer: Customer, lead: LeadInput, source: str, dedupe_key: str | None, now: datetime) -> LeadTouch:
    return LeadTouch(
        customer_id=require_id(customer), source=source, channel=lead.channel.name, channel_raw=lead.channel.raw[:200],
        channel_known=lead.channel.known, campaign=lead.campaign, utm=lead.utm, landing_url=lead.landing_url,
        action=lead.action, payload=lead.payload(), dedupe_key=dedupe_key, created_at=now,
    )


def new_customer(*, lead: LeadInput, team_id: int, now: datetime) -> Customer:
    name = customer_name(lead.name, phone=lead.phone, company=lead.company)  # a form's name field may hold a phone
    return Customer(
        name=name, name_pinyin=pinyin_of(name), company=lead.company, phone=lead.phone, email=lead.email,
        title=lead.title, product=lead.product, region=lead.region, industry=lead.industry, grade=lead.grade,
        source_channel=lead.channel.name, latest_channel=lead.channel.name, channel_unknown=not lead.channel.known,
        team_id=team_id, lead_received_at=now, last_activity_at=now, created_at=now,
    )


def fill_blanks(customer: Customer, lead: LeadInput) -> list[str]:
    """Fields the customer lacked and the lead brings; never overwrites what a rep recorded."""
    filled = []
    for name in FILLABLE:
        if getattr(customer, name) is None and getattr(lead, name) is not None:
            setattr(customer, name, getattr(lead, name))
            filled.append(name)
    return filled


def intake_lead(*, session: Session, settings: Settings, lead: LeadInput, source: str, now: datetime) -> IntakeResult:
    dedupe_key = f"api:{source}:{lead.external_id}" if lead.external_id else None
    if dedupe_key and (seen := find_touch(session=session, dedupe_key=dedupe_key)) is not None:
        return IntakeResult(customer_id=seen.customer_id, duplicate=True, replayed=True, channel=seen.channel,
                            channel_flagged=not seen.channel_known)
    lock_contact_keys(session=session, keys=[k for k in (lead.phone, lead.email) if k])
    known = find_lead_duplicate(session=session, name=lead.name, company=lead.company, phone=lead.phone,
                                email=lead.email)
    if known is not None:
        return _touch_known(session, settings, known, lead, source, dedupe_key, now)
    facts = facts_of(lead, settings)
    lock_contact_keys(session=session, keys=["lead-assignment"])  # taken last by everyone: no deadlock
    decision = decide_for(session=session, settings=settings, facts=facts, now=now)
    if decision.team_id is None:
        raise RuntimeError("no team exists to hold the lead")
    customer = new_customer(lead=lead, team_id=decision.team_id, now=now)
    session.add(customer)
    session.flush()
    touch = new_touch(customer=customer, lead=lead, source=source, dedupe_key=dedupe_key, now=now)
    session.add(touch)
    session.flush()
    add_touch_event(session=session, customer_id=require_id(customer), touch=touch, first=True)
    member = session.get(Member, decision.member_id) if decision.member_id is not None else None
    if member is not None and decision.needs_approval:
        held = hold_for_approval(session=session, settings=settings, customer=customer, decision=decision, now=now)
        if held is not None:
            return IntakeResult(customer_id=require_id(customer), duplicate=False, owner_id=None, owner_name=None,
                                channel=touch.channel, channel_flagged=not touch.channel_known,
                                reason=f"{decision.reason}（待审批）")
        decision.reason += "（规则要求审批，但没有可审批的主管，直接分配）"
    row = assign_lead(session=session, customer=customer, member=member, team_id=decision.team_id,
                      kind="auto" if member else "pool", reason=decision.reason, now=now,
                      due_hours=settings.pushes.new_lead_hours, rule=decision.rule, group=decision.group,
                      details=decision.details)
    if member is not None:
        push_lead_card(session=session, settings=settings, customer=customer, touch=touch, row=row, member=member,
                       now=now)
    return IntakeResult(customer_id=require_id(customer), duplicate=False, owner_id=customer.owner_id,
                        owner_name=member.display_name if member else None, channel=touch.channel,
                        channel_flagged=not touch.channel_known, reason=decision.reason)


def _touch_known(session: Session, settings: Settings, customer: Customer, lead: LeadInput, source: str,
                 dedupe_key: str | None, now: datetime) -> IntakeResult:
    touch = new_touch(customer=customer, lead=lead, source=source, dedupe_key=dedupe_key, now=now)
    session.add(touch)
    session.flush()
    customer.latest_channel = lead.channel.name
    filled = fill_blanks(customer, lead)
    session.add(customer)
    add_touch_event(session=session, customer_id=require_id(customer), touch=touch, first=False, filled=filled)
    owner = session.get(Member, customer.owner_id) if customer.owner_id is not None else None
    if owner is not None:
        earlier = previous_touches(session=session, customer_id=require_id(customer), before_id=touch.id or 0)
        history = [touch_line(t, now, settings.tz) for t in earlier]
        card = build_touch_card(customer=customer, touch=touch, history=history, now=now, tz=settings.tz)
        push_to_member(session=session, at=now, member=owner, dedupe_key=f"leadtouch:{touch.id}",
                       platforms=settings.enabled_platforms, card=card, customer_id=customer.id)
    return IntakeResult(customer_id=require_id(customer), duplicate=True, owner_id=customer.owner_id,
                        owner_name=owner.display_name if owner else None, channel=touch.channel,
                        channel_flagged=not touch.channel_known)
