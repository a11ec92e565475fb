"""Small factories for a team with reps, a supervisor and an admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from store.db import session_scope
from store.models import Member, Role, Team


@dataclass
class Org:
    rep_a: Member
    rep_b: Member
    supervisor: Member
    admin: Member
    other_team_rep: Member
    other_supervisor: Member


# Rows the tests set up exist from this instant: before every clock a test travels to.
EPOCH = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def make_org(engine: Engine, *, at: datetime = EPOCH) -> Org:
    with session_scope(engine) as s:
        t1, t2 = Team(name="一组", created_at=at), Team(name="二组", created_at=at)
        s.add_all([t1, t2])
        s.flush()
        members = [
            Member(team_id=t1.id, display_name="王芳", role=Role.REP, sandbox_id="rep-a", wecom_userid="wangfang",
                   created_at=at),
            Member(team_id=t1.id, display_name="李明", role=Role.REP, sandbox_id="rep-b", created_at=at),
            Member(team_id=t1.id, display_name="陈主管", role=Role.SUPERVISOR, sandbox_id="sup", created_at=at),
            Member(team_id=t2.id, display_name="管理员", role=Role.ADMIN, sandbox_id="admin", created_at=at),
            Member(team_id=t2.id, display_name="赵强", role=Role.REP, sandbox_id="rep-c", created_at=at),
            Member(team_id=t2.id, display_name="二组主管", role=Role.SUPERVISOR, sandbox_id="sup2", created_at=at),
        ]
        s.add_all(members)
        s.flush()
        return Org(*members)


# "Now" for tests that do not travel in time: the `clock` fixture's start (Monday 10:00 in Shanghai).
T0 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
