"""Approvals a rule holds for a person: created pending for an approver; decided once (a conditional
UPDATE on status, so two taps or two approvers cannot both decide); escalated one level at a time
(a conditional UPDATE on level, so two sweeps cannot both escalate). Each step is on the timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from store.models import Approval, ApprovalStatus, Member, Role
from store.permissions import PermissionDenied
from store.timeline import add_event

DECISION_LABELS = {ApprovalStatus.APPROVED: "批准", ApprovalStatus.REJECTED: "驳回"}


def create_approval(*, session: Session, kind: str, customer_id: int, proposed_member_id: int | None,
                    rule: str | None, group: str | None, reason: str, approver: Member, at: datetime) -> Approval:
    """due_at starts at `at`: the sweep (scheduler/approvals.py) computes the working-hours deadline."""
    row = Approval(kind=kind, customer_id=customer_id, proposed_member_id=proposed_member_id, rule=rule,
                   group_name=group, reason=reason, approver_id=approver.id or 0, level=0,
                   status=ApprovalStatus.PENDING, due_at=at, created_at=at)
    session.add(row)
    session.flush()
    add_event(session=session, customer_id=customer_id, kind="approval_requested", at=at,
              summary=f"需要审批：{reason}；审批人 {approver.display_name}", ref={"approval_id": row.id})
    return row


def pending_approval(*, session: Session, customer_id: int) -> Approval | None:
    return session.exec(select(Approval).where(col(Approval.customer_id) == customer_id,
                                               col(Approval.status) == ApprovalStatus.PENDING)
                        .order_by(col(Approval.id).desc()).limit(1)).first()


def may_decide(*, session: Session, actor: Member, approval: Approval) -> bool:
    """The approver of the current level, anyone asked before it (the team's supervisors of the
    proposed rep), or an admin: whoever decides, the decision and its reason are logged."""
    proposed = session.get(Member, approval.proposed_member_id) if approval.proposed_member_id else None
    return may_approve(actor=actor, approver_id=approval.approver_id, proposed=proposed)


def may_approve(*, actor: Member, approver_id: int | None, proposed: Member | None) -> bool:
    """may_decide's rule before an approval row exists (a spreadsheet import deciding whether its own
    run is the approval): an active admin, the approver, or an active supervisor of the proposed
    rep's team (store.members.supervisors_of's members)."""
    if not actor.active:
        return False
    if actor.role == Role.ADMIN or actor.id == approver_id:
        return True
    return proposed is not None and actor.role == Role.SUPERVISOR and actor.team_id == proposed.team_id


def decide_approval(*, session: Session, actor: Member, approval_id: int, approve: bool, reason: str,
                    at: datetime) -> Approval | None:
    """Record the decision; None if it was already decided (by anyone). PermissionDenied if the
    actor may not decide it."""
    row = session.get(Approval, approval_id)
    if row is None or not may_decide(session=session, actor=actor, approval=row):
        raise PermissionDenied("not an approver")
    status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    result = session.execute(
        update(Approval).where(col(Approval.id) == approval_id, col(Approval.status) == ApprovalStatus.PENDING)
        .values(status=status, decided_by_id=actor.id, decision_reason=reason[:200], decided_at=at, due_at=None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.refresh(row)
    add_event(session=session, customer_id=row.customer_id, actor_id=actor.id, kind="approval_decided", at=at,
              summary=f"{actor.display_name} {DECISION_LABELS[status]}：{reason[:100] or '无'}",
              ref={"approval_id": row.id, "status": str(status)})
    return row


def due_approval_ids(*, session: Session, now: datetime, limit: int) -> list[int]:
    ids = session.exec(select(Approval.id).where(col(Approval.due_at) <= now).order_by(col(Approval.due_at))
                       .limit(limit)).all()
    return [int(i) for i in ids if i is not None]


def set_approval_due(*, session: Session, approval: Approval, due_at: datetime | None) -> bool:
    """Move the timer, unless the approval changed meanwhile (decided or escalated elsewhere)."""
    result = session.execute(
        update(Approval).where(col(Approval.id) == approval.id, col(Approval.status) == ApprovalStatus.PENDING,
                               col(Approval.level) == approval.level, col(Approval.due_at) == approval.due_at)
        .values(due_at=due_at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def escalate_approval(*, session: Session, approval: Approval, to: Member, due_at: datetime,
                      at: datetime) -> bool:
    """One level up; False if another sweep escalated it, or it was decided, meanwhile."""
    before = session.get(Member, approval.approver_id)
    result = session.execute(
        update(Approval).where(col(Approval.id) == approval.id, col(Approval.status) == ApprovalStatus.PENDING,
                               col(Approval.level) == approval.level)
        .values(approver_id=to.id, level=approval.level + 1, due_at=due_at)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(approval)
    add_event(session=session, customer_id=approval.customer_id, kind="approval_escalated", at=at,
              summary=f"{before.display_name if before else '审批人'} 未在时限内处理，升级给 {to.display_name}",
              ref={"approval_id": approval.id, "level": approval.level})
    return True
