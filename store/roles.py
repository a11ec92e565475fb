"""Role tags (售前, 法务, 财务 ...) and the escalation chain (主管 → 总监) on top of members."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, delete, select

from store.models import Member, MemberEscalation, MemberRoleTag, Role
from store.upsert import insert_ignore

MAX_TAG_CHARS = 32


def add_role_tag(*, session: Session, member_id: int, tag: str, at: datetime) -> bool:
    """Tag a member with a role; True if it was new. Idempotent (unique member+tag)."""
    tag = tag.strip()
    if not tag or len(tag) > MAX_TAG_CHARS:
        raise ValueError("role tag must be 1-32 characters")
    return insert_ignore(session, MemberRoleTag, {"member_id": member_id, "tag": tag, "created_at": at},
                         ["member_id", "tag"]) is not None


def remove_role_tag(*, session: Session, member_id: int, tag: str) -> bool:
    result = session.execute(delete(MemberRoleTag).where(col(MemberRoleTag.member_id) == member_id,
                                                         col(MemberRoleTag.tag) == tag.strip()))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def role_tags_of(*, session: Session, member_id: int) -> list[str]:
    return sorted(session.exec(select(MemberRoleTag.tag).where(col(MemberRoleTag.member_id) == member_id)).all())


def members_with_role(*, session: Session, tag: str, team_id: int) -> list[Member]:
    """Active members holding the role: those of `team_id` if any, else everyone who holds it (法务
    and 财务 are often one company-wide team, not one per sales team)."""
    rows = list(session.exec(
        select(Member).join(MemberRoleTag, col(MemberRoleTag.member_id) == col(Member.id))
        .where(col(MemberRoleTag.tag) == tag, col(Member.active).is_(True)).order_by(col(Member.id))
    ).all())
    own = [m for m in rows if m.team_id == team_id]
    return own or rows


def set_escalation(*, session: Session, member_id: int, escalates_to_id: int | None, at: datetime) -> None:
    """Who a member's stalled approvals escalate to (None: nobody above)."""
    if escalates_to_id == member_id:
        raise ValueError("a member cannot escalate to themselves")
    session.execute(delete(MemberEscalation).where(col(MemberEscalation.member_id) == member_id))
    if escalates_to_id is not None:
        session.add(MemberEscalation(member_id=member_id, escalates_to_id=escalates_to_id, created_at=at))
        session.flush()


def escalates_to(*, session: Session, member: Member) -> Member | None:
    """One level up: the configured escalation, else an active admin for a supervisor; None at the top."""
    link = session.get(MemberEscalation, member.id)
    if link is not None:
        up = session.get(Member, link.escalates_to_id)
        if up is not None and up.active:
            return up
    if member.role == Role.SUPERVISOR:
        return session.exec(select(Member).where(col(Member.role) == Role.ADMIN, col(Member.active).is_(True))
                            .order_by(col(Member.id)).limit(1)).first()
    return None
