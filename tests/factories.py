"""Small factories for a team with reps, a supervisor and an admin."""

from __future__ import annotations

from dataclasses import dataclass

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


def make_org(engine: Engine) -> Org:
    with session_scope(engine) as s:
        t1, t2 = Team(name="一组"), Team(name="二组")
        s.add_all([t1, t2])
        s.flush()
        members = [
            Member(team_id=t1.id, display_name="王芳", role=Role.REP, sandbox_id="rep-a", wecom_userid="wangfang"),
            Member(team_id=t1.id, display_name="李明", role=Role.REP, sandbox_id="rep-b"),
            Member(team_id=t1.id, display_name="陈主管", role=Role.SUPERVISOR, sandbox_id="sup"),
            Member(team_id=t2.id, display_name="管理员", role=Role.ADMIN, sandbox_id="admin"),
            Member(team_id=t2.id, display_name="赵强", role=Role.REP, sandbox_id="rep-c"),
            Member(team_id=t2.id, display_name="二组主管", role=Role.SUPERVISOR, sandbox_id="sup2"),
        ]
        s.add_all(members)
        s.flush()
        return Org(*members)
