"""Shared helpers for the lead tests (imported by tests/test_leads_*.py; holds no tests itself)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import LeadSettings, Settings
from bot.leads.fields import validate_lead
from bot.leads.intake import IntakeResult, channel_table, intake_lead
from store.db import session_scope
from store.models import Customer, LeadAssignment, Member, Role
from store.names import pinyin_of
from tests.factories import EPOCH

TOKEN = "web-form-token-0123456789"
RULES = """
pool_team = "一组"

[groups."A组"]
members = ["王芳", "李明"]
strategy = "round_robin"

[[rules]]
name = "抖音华东"
channel = ["抖音", "小红书"]
region = "华东"
groups = ["A组"]
"""


def lead_settings(settings: Settings, tmp_path: Path, rules: str = RULES, **leads: Any) -> Settings:
    path = tmp_path / f"rules_{abs(hash(rules))}.toml"
    path.write_text(rules, encoding="utf-8")
    config = LeadSettings(rules_file=path, sources={"web": TOKEN}, **leads)
    return settings.model_copy(update={"leads": config})


def post(engine: Engine, settings: Settings, now: datetime, **fields: Any) -> IntakeResult:
    fields.setdefault("name", "张伟")
    lead, errors = validate_lead(fields, channels=channel_table(settings))
    assert lead is not None, errors
    with session_scope(engine) as s:
        return intake_lead(session=s, settings=settings, lead=lead, source="web", now=now)


_phones = iter(range(13900000000, 13999999999))


def phone() -> str:
    return str(next(_phones))


def add_rep(engine: Engine, name: str, team_id: int, **kw: Any) -> Member:
    with session_scope(engine) as s:
        m = Member(team_id=team_id, display_name=name, role=Role.REP, sandbox_id=f"rep-{pinyin_of(name)}",
                   created_at=EPOCH, **kw)
        s.add(m)
        s.flush()
        return m


def seed_history(engine: Engine, member: Member, *, total: int, won: int, now: datetime) -> None:
    """`total` leads the rep got in the window, `won` of them now 已成交 (their conversion rate)."""
    with session_scope(engine) as s:
        for i in range(total):
            c = Customer(name=f"历史{i}", team_id=member.team_id, owner_id=member.id,
                         stage="已成交" if i < won else "需求确认",
                         lead_received_at=now - timedelta(days=5), first_contact_at=now - timedelta(days=4),
                         created_at=now - timedelta(days=5))
            s.add(c)
            s.flush()
            s.add(LeadAssignment(customer_id=c.id, kind="claim", member_id=member.id, reason="历史",
                                 created_at=now - timedelta(days=5)))


def owners(engine: Engine) -> list[int | None]:
    with Session(engine) as s:
        return list(s.exec(select(Customer.owner_id).where(col(Customer.lead_received_at).is_not(None),
                                                           col(Customer.first_contact_at).is_(None))
                           .order_by(col(Customer.id))).all())


def log_rows(engine: Engine, customer_id: int | None = None) -> list[LeadAssignment]:
    with Session(engine) as s:
        stmt = select(LeadAssignment).where(col(LeadAssignment.reason) != "历史").order_by(col(LeadAssignment.id))
        if customer_id is not None:
            stmt = stmt.where(col(LeadAssignment.customer_id) == customer_id)
        return list(s.exec(stmt).all())
