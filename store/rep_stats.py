"""One rep's follow-up health over a period: the weekly report's lines (scheduler/weekly.py) and
本周, the same figures for the week so far on demand (bot/handlers/week.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from store.anomalies import held_customers, held_followups
from store.models import Customer, FollowUp, Member, TimelineEvent
from store.promises import kept_stats
from store.quotes import catalog_share
from store.stages import OPEN_STAGES
from store.types import require_id


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
    # Yuan on the rep's confirmed records that came from the product catalog, of all yuan recorded.
    amount_from_catalog: int = 0
    amount_total: int = 0
    promises_due: int = 0  # the rep's own promises due in the period (the commitment ledger)
    promises_kept: int = 0  # of which done by their due time

    def line(self) -> str:
        def pct(a: int, b: int) -> str:
            return f"{a / b:.0%}" if b else "—"

        return (
            f"{self.name}：首次响应达标 {pct(self.leads_on_time, self.leads)}（{self.leads} 条线索）· "
            f"72小时跟进率 {pct(self.active - self.alerted, self.active)} · "
            f"记录完整度 {pct(self.complete, self.followups)}（{self.followups} 条）· "
            f"被拒的跳阶段 {self.stage_refused} 次 · 标签确认 {self.confirmed - self.corrected}/修改 {self.corrected}"
            + (f" · 目录金额占比 {pct(self.amount_from_catalog, self.amount_total)}" if self.amount_total else "")
            + (f" · 承诺按时兑现 {self.promises_kept}/{self.promises_due}" if self.promises_due else "")
        )


def rep_stats(session: Session, rep: Member, start: datetime, end: datetime, *, catalog: bool = False) -> RepStats:
    """`catalog`: a product catalog exists, so the share of yuan taken from it is a figure (without one
    it would read 0% for everyone)."""
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
            col(Customer.id).not_in(held_customers()),  # a stage in a bulk change under review
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
        .where(col(FollowUp.rep_id) == rep.id, col(FollowUp.created_at) >= start, col(FollowUp.created_at) < end,
               col(FollowUp.id).not_in(held_followups()))  # anomalies under review count once reviewed
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
    kept = kept_stats(session=session, rep_id=require_id(rep), start=start, end=end)
    from_catalog, amount_total = (catalog_share(session=session, rep_id=require_id(rep), start=start, end=end)
                                  if catalog else (0, 0))
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
        amount_from_catalog=from_catalog,
        amount_total=amount_total,
        promises_due=kept.due,
        promises_kept=kept.kept_on_time,
    )
