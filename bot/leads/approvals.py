"""Assignments a rule holds for approval (`approval = true`): the lead waits in the pool, unclaimable,
while the picked rep's supervisor gets a 批准/驳回 card; scheduler/approvals.py escalates it one level
(主管 → 总监) when nobody acts in time. Whoever decides, the decision and its reason are logged."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlmodel import Session

from bot.cards.playbook import build_approval_card
from bot.config import Settings
from bot.leads.assignment import Decision
from bot.leads.intake_card import push_lead_card
from bot.pipeline.push import push_to_member
from store.approvals import create_approval, decide_approval
from store.customers import lock_customer
from store.leads import assign_lead, latest_touch
from store.members import supervisors_of
from store.models import Approval, ApprovalStatus, Customer, Member
from store.roles import escalates_to
from store.types import require_id

log = structlog.get_logger("genjin.approvals")
KIND_LEAD_ASSIGN = "lead_assign"


def first_approver(*, session: Session, proposed: Member) -> Member | None:
    """The picked rep's supervisor; a team without one goes straight one level up."""
    sups = [s for s in supervisors_of(session=session, member=proposed) if s.id != proposed.id]
    if sups:
        return sups[0]
    return escalates_to(session=session, member=proposed)


def send_approval_card(*, session: Session, settings: Settings, approval: Approval, approver: Member,
                       escalated_from: str | None, decide_by: datetime | None, at: datetime) -> bool:
    customer = session.get(Customer, approval.customer_id)
    proposed = session.get(Member, approval.proposed_member_id) if approval.proposed_member_id else None
    if customer is None:
        return False
    card = build_approval_card(approval=approval, customer=customer,
                               proposed_name=proposed.display_name if proposed else "—",
                               escalated_from=escalated_from, decide_by=decide_by, tz=settings.tz)
    # No customer_id: the approver may be above the team (a 总监) and must still get the card.
    return push_to_member(session=session, member=approver, dedupe_key=f"approval:{approval.id}:{approval.level}",
                          platforms=settings.enabled_platforms, card=card, at=at)


def hold_for_approval(*, session: Session, settings: Settings, customer: Customer, decision: Decision,
                      now: datetime) -> Approval | None:
    """Put the lead in the pool pending approval of the decision; None when there is nobody to approve
    (the caller assigns as decided, and says so)."""
    proposed = session.get(Member, decision.member_id) if decision.member_id is not None else None
    if proposed is None:
        return None
    approver = first_approver(session=session, proposed=proposed)
    if approver is None:
        return None
    assign_lead(session=session, customer=customer, member=None, team_id=customer.team_id, kind="pool",
                reason=f"{decision.reason}；规则要求审批，等待 {approver.display_name} 批准", now=now,
                due_hours=settings.pushes.new_lead_hours, rule=decision.rule, group=decision.group,
                details=decision.details)
    # The approval has its own timer (escalation): no "nobody claimed it" alert while it waits.
    customer.lead_due_at = None
    session.add(customer)
    approval = create_approval(session=session, kind=KIND_LEAD_ASSIGN, customer_id=require_id(customer),
                               proposed_member_id=proposed.id, rule=decision.rule, group=decision.group,
                               reason=decision.reason, approver=approver, at=now)
    send_approval_card(session=session, settings=settings, approval=approval, approver=approver,
                       escalated_from=None, decide_by=None, at=now)
    log.info("approval_requested", approval_id=approval.id, customer_id=customer.id)
    return approval


def apply_decision(*, session: Session, settings: Settings, actor: Member, approval_id: int, approve: bool,
                   reason: str, now: datetime) -> tuple[Approval | None, str]:
    """Decide (PermissionDenied if the actor may not); returns (the row or None if already decided,
    the Chinese answer for the actor)."""
    row = decide_approval(session=session, actor=actor, approval_id=approval_id, approve=approve, reason=reason,
                          at=now)
    if row is None:
        return None, "这条审批已经处理过了。"
    # Locked and read as committed now: a 转给 or claim written by another instance meanwhile is seen
    # (批准 then leaves the customer alone) instead of being overwritten by the approved assignment.
    customer = lock_customer(session=session, customer_id=row.customer_id)
    if customer is None:
        return row, "客户已不存在。"
    if row.status == ApprovalStatus.REJECTED:
        if customer.owner_id is None:  # claimable now: the new-lead clock watches it from here
            customer.lead_due_at = now + timedelta(hours=settings.pushes.new_lead_hours)
            session.add(customer)
        return row, f"已驳回：{customer.name} 留在公海，原因已记录。"
    proposed = session.get(Member, row.proposed_member_id) if row.proposed_member_id else None
    if proposed is None or not proposed.active or customer.owner_id is not None:
        return row, f"已批准，但 {customer.name} 已有负责人或拟分配的销售已停用，未改动。"
    assignment = assign_lead(session=session, customer=customer, member=proposed, team_id=proposed.team_id,
                             kind="auto", reason=f"{row.reason}（{actor.display_name} 批准）", now=now,
                             due_hours=settings.pushes.new_lead_hours, actor=actor, rule=row.rule,
                             group=row.group_name)
    push_lead_card(session=session, settings=settings, customer=customer,
                   touch=latest_touch(session=session, customer_id=require_id(customer)), row=assignment,
                   member=proposed, now=now)
    return row, f"已批准：{customer.name} 分配给 {proposed.display_name}。"
