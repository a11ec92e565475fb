"""Operator-side team and member management (the CLI's `genjin members ...`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from store.members import PLATFORM_ID_COLUMN
from store.models import Member, Role, Team


def get_or_create_team(*, session: Session, name: str, at: datetime) -> Team:
    team = session.exec(select(Team).where(col(Team.name) == name)).first()
    if team is None:
        team = Team(name=name, created_at=at)
        session.add(team)
        session.flush()
    return team


def upsert_member(
    *, session: Session, team: Team, display_name: str, role: str, platform_ids: dict[str, str], at: datetime
) -> tuple[Member, bool]:
    """Create a member, or update the one holding any of these platform ids. Returns (member, created)."""
    if role not in {r.value for r in Role}:
        raise ValueError(f"role must be one of {', '.join(r.value for r in Role)}")
    unknown = set(platform_ids) - set(PLATFORM_ID_COLUMN)
    if unknown:
        raise ValueError(f"unknown platform {', '.join(sorted(unknown))}")
    member = None
    for platform, user_id in platform_ids.items():
        member = session.exec(select(Member).where(getattr(Member, PLATFORM_ID_COLUMN[platform]) == user_id)).first()
        if member is not None:
            break
    created = member is None
    if member is None:
        member = Member(team_id=team.id or 0, display_name=display_name, role=role, created_at=at)
    member.team_id = team.id or 0
    member.display_name = display_name
    member.role = role
    member.active = True
    for platform, user_id in platform_ids.items():
        setattr(member, PLATFORM_ID_COLUMN[platform], user_id)
    session.add(member)
    session.flush()
    return member, created


def set_member_active(*, session: Session, member_id: int, active: bool) -> Member | None:
    member = session.get(Member, member_id)
    if member is not None:
        member.active = active
        session.add(member)
    return member


def list_members(*, session: Session) -> list[tuple[Member, Team]]:
    return list(
        session.exec(
            select(Member, Team).join(Team, col(Team.id) == Member.team_id).order_by(col(Team.name), col(Member.id))
        ).all()
    )
