"""Members and teams: who is talking to the bot."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from store.models import Member, Role, Team

PLATFORM_ID_COLUMN = {"wecom": "wecom_userid", "dingtalk": "dingtalk_userid", "sandbox": "sandbox_id"}


def get_member_by_platform_id(*, session: Session, platform: str, user_id: str) -> Member | None:
    column = PLATFORM_ID_COLUMN.get(platform)
    if column is None:
        return None
    return session.exec(select(Member).where(getattr(Member, column) == user_id)).first()


def platform_id_of(member: Member, platform: str) -> str | None:
    column = PLATFORM_ID_COLUMN.get(platform)
    return getattr(member, column) if column else None


def supervisors_of(*, session: Session, member: Member) -> list[Member]:
    return list(
        session.exec(
            select(Member).where(
                col(Member.team_id) == member.team_id, col(Member.role) == Role.SUPERVISOR,
                col(Member.active).is_(True),
            )
        ).all()
    )


def member_names(*, session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of the members with these ids (one query): owners on a list or a digest."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(select(Member.id, Member.display_name).where(col(Member.id).in_(wanted))).all()
    return {int(i): name for i, name in rows if i is not None}


def reps_visible_to(*, session: Session, actor: Member) -> list[Member]:
    """The reps whose figures the actor may see: a rep only itself, a supervisor the team's active
    reps, an admin every active rep."""
    if actor.role == Role.REP:
        return [actor]
    stmt = select(Member).where(col(Member.role) == Role.REP, col(Member.active).is_(True))
    if actor.role != Role.ADMIN:
        stmt = stmt.where(col(Member.team_id) == actor.team_id)
    return list(session.exec(stmt.order_by(col(Member.team_id), col(Member.id))).all())


def find_member_by_name(*, session: Session, team_id: int, name: str) -> Member | None:
    return session.exec(
        select(Member).where(col(Member.team_id) == team_id, col(Member.display_name) == name.strip())
    ).first()


def seed_demo_team(*, session: Session, at: datetime) -> list[Member]:
    """Two reps and a supervisor for the sandbox; idempotent."""
    existing = list(session.exec(select(Member).where(col(Member.sandbox_id).is_not(None))).all())
    if existing:
        return existing
    team = Team(name="华东销售一组", created_at=at)
    session.add(team)
    session.flush()
    members = [
        Member(team_id=team.id or 0, display_name="王芳", role=Role.REP, sandbox_id="rep-wangfang", created_at=at),
        Member(team_id=team.id or 0, display_name="李明", role=Role.REP, sandbox_id="rep-liming", created_at=at),
        Member(team_id=team.id or 0, display_name="陈主管", role=Role.SUPERVISOR, sandbox_id="sup-chen", created_at=at),
    ]
    session.add_all(members)
    session.flush()
    return members
