"""The weekly report's figures per rep (scheduler/weekly.py sends them as text, the console draws
them as charts): one definition of each figure, for any [start, end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from store.models import Customer, FollowUp, Member, TimelineEvent
from store.stages import OPEN_STAGES


@dataclass
class RepStats:
    name: str
    leads: int
    leads_on_time: int
    active: int
    alerted: int
    followups: int
    complete: int
    stage_refused: int
    confirmed: int
    corrected: int

    def line(self) -> str:
        def pct(a: int, b: int) -> str:
            return f"{a / b:.0%}" if b else "—"

        return (
            f"{self.name}：首次响应达标 {pct(self.leads_on_time, self.leads)}（{self.leads} 条线索）· "
            f"72小时跟进率 {pct(self.active - self.alerted, self.active)} · "
            f"记录完整度 {pct(self.complete, self.followups)}（{self.followups} 条）· "
            f"被拒的跳阶段 {self.stage_refused} 次 · 标签确认 {self.confirmed - self.corrected}/修改 {self.corrected}"
        )



def rep_stats(session: Session, rep: Member, start: datetime, end: datetime) -> RepStats:
    leads = session.exec(
        select(Customer).where(
            col(Customer.owner_id) == rep.id, col(Customer.assigned_at) >= start, col(Customer.assigned_at) < end
        )
    ).all()
    on_time = sum(
        1
        for c in leads
        if c.first_contact_at and c.assigned_at and c.first_contact_at - c.assigned_at <= timedelta(hours=2)
    )
    active = session.exec(
        select(Customer.id).where(
            col(Customer.owner_id) == rep.id,
            col(Customer.stage).in_(OPEN_STAGES),
            col(Customer.merged_into_id).is_(None),
            col(Customer.draft).is_(False),  # a paste nobody confirmed is not an active customer
        )
    ).all()
    alerted = set(
        session.exec(
            select(TimelineEvent.customer_id).where(
                col(TimelineEvent.kind).in_(["stale_alert", "high_risk"]),
                col(TimelineEvent.created_at) >= start,
                col(TimelineEvent.created_at) < end,
                col(TimelineEvent.customer_id).in_(active or [-1]),
            )
        ).all()
    )
    followups = session.exec(
        select(FollowUp, Customer)
        .join(Customer, col(Customer.id) == FollowUp.customer_id)
        .where(col(FollowUp.rep_id) == rep.id, col(FollowUp.created_at) >= start, col(FollowUp.created_at) < end)
    ).all()
    complete = sum(1 for f, c in followups if f.confirmed and c.phone and (f.next_contact_at or c.next_contact_at))
    confirmed = [f for f, _ in followups if f.confirmed]
    refused = session.exec(
        select(TimelineEvent.id).where(
            col(TimelineEvent.kind) == "stage_refused",
            col(TimelineEvent.actor_id) == rep.id,
            col(TimelineEvent.created_at) >= start,
            col(TimelineEvent.created_at) < end,
        )
    ).all()
    return RepStats(
        name=rep.display_name,
        leads=len(leads),
        leads_on_time=on_time,
        active=len(active),
        alerted=len(alerted),
        followups=len(followups),
        complete=complete,
        stage_refused=len(refused),
        confirmed=len(confirmed),
        corrected=sum(1 for f in confirmed if f.tags != f.extracted_tags),
    )
