"""Time-boxed exemptions (免填) a supervisor grants a rep; each row is its own audit record."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from store.models import Member, MemberExemption
from store.permissions import PermissionDenied, require_manager
from store.types import require_id


def grant_exemption(
    *, session: Session, actor: Member, member: Member, days: int, reason: str, at: datetime, kind: str = "免填"
) -> MemberExemption:
    require_manager(actor)
    if actor.role != "admin" and member.team_id != actor.team_id:
        raise PermissionDenied("not in your team")
    row = MemberExemption(
        member_id=require_id(member),
        kind=kind,
        starts_at=at,
        ends_at=at + timedelta(days=days),
        granted_by_id=require_id(actor),
        reason=reason[:200],
        created_at=at,
    )
    session.add(row)
    session.flush()
    return row


def active_exemption(*, session: Session, member_id: int, at: datetime, kind: str = "免填") -> MemberExemption | None:
    return session.exec(
        select(MemberExemption).where(
            col(MemberExemption.member_id) == member_id,
            col(MemberExemption.kind) == kind,
            col(MemberExemption.starts_at) <= at,
            col(MemberExemption.ends_at) > at,
        )
    ).first()
