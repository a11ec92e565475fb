"""Missing-field reminders: follow-ups left unconfirmed for a day (drafts: a pasted customer stays a
draft until its first record is confirmed) get one reminder, unless the rep
has an active 免填 exemption; at most one reminder per rep and day. The window bounds the indexed
scan to what can still be due."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.pipeline.push import push_to_member
from store.db import session_scope
from store.exemptions import active_exemption
from store.models import Customer, FollowUp, Member
from store.permissions import can_see

UNCONFIRMED_AFTER = timedelta(hours=24)
WINDOW = timedelta(days=3)


def sweep_unconfirmed(engine: Engine, settings: Settings, now: datetime) -> int:
    tz = settings.tz
    with Session(engine) as session:
        rows = session.exec(
            select(FollowUp.rep_id, FollowUp.id, Customer)
            .join(Customer, col(Customer.id) == FollowUp.customer_id)
            .where(
                col(FollowUp.confirmed).is_(False),
                col(FollowUp.created_at) <= now - UNCONFIRMED_AFTER,
                col(FollowUp.created_at) > now - UNCONFIRMED_AFTER - WINDOW,
            )
        ).all()
    by_rep: dict[int, list[tuple[int, Customer]]] = {}
    for rep_id, followup_id, customer in rows:
        by_rep.setdefault(rep_id, []).append((followup_id or 0, customer))
    sent = 0
    for rep_id, items in by_rep.items():
        with session_scope(engine) as session:
            rep = session.get(Member, rep_id)
            if rep is None or active_exemption(session=session, member_id=rep_id, at=now) is not None:
                continue
            items = [(f, c) for f, c in items if can_see(rep, c)]  # not about customers handed to others
            if not items:
                continue
            names = "、".join(sorted({c.name for _, c in items})[:5])
            # At most one reminder per rep per local day, however many sweeps run.
            key = f"unconfirmed:{rep_id}:{now.astimezone(tz).date().isoformat()}"
            sent += push_to_member(
                session=session, at=now,
                platforms=settings.enabled_platforms,
                member=rep,
                dedupe_key=key,
                text=f"你有 {len(items)} 条跟进记录超过一天未确认（{names}），请在卡片上点「确认」，不要的点「丢弃」"
                     "（未确认的新客户不会出现在「我的客户」里）。",
            )
    return sent
