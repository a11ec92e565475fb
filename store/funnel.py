"""The funnel by channel: customers who arrived in a period, grouped by their first source (the
channel the leads intake mapped from UTM or the source, `customer.source_channel`), with how many
were first contacted within 7 days and how many reached 已成交 within 30 days. Reads only, through
`visible_to` like every customer query.

A rate counts only customers whose window has closed or who already made it: one who arrived two
days ago and is not yet contacted is not (yet) a miss."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from store.models import Customer, Member, TimelineEvent
from store.permissions import visible_to
from store.stages import Stage

CONTACT_WINDOW = timedelta(days=7)
WON_WINDOW = timedelta(days=30)
NO_CHANNEL = "未标注"  # entered by a rep, or a lead with no source: no channel to credit
CHUNK = 5000
INTO_WON = [f"阶段 {s} → {Stage.WON}" for s in Stage if s is not Stage.WON]  # store/customers.change_stage


@dataclass
class ChannelRow:
    channel: str
    arrived: int = 0
    leads: int = 0  # of them from the leads intake or an import (lead_received_at set)
    contacted_on_time: int = 0
    contact_counted: int = 0  # the 7-day rate's denominator
    won_on_time: int = 0
    won_counted: int = 0  # the 30-day rate's denominator
    won_now: int = 0  # in 已成交 today, whenever they got there

    @property
    def contact_rate(self) -> float | None:
        return self.contacted_on_time / self.contact_counted if self.contact_counted else None

    @property
    def won_rate(self) -> float | None:
        return self.won_on_time / self.won_counted if self.won_counted else None


def funnel_by_channel(*, session: Session, actor: Member, start: datetime, end: datetime,
                      now: datetime) -> list[ChannelRow]:
    """Channels by arrivals in [start, end), most first; a final row 合计."""
    columns: list[Any] = [Customer.id, Customer.source_channel, Customer.created_at, Customer.lead_received_at,
                          Customer.first_contact_at, Customer.stage, Customer.merged_into_id]
    # Merged customers (few) are dropped below, not in SQL: `merged_into_id IS NULL` would lead SQLite's
    # planner to that index (nearly every row) instead of the period's range on ix_customer_created.
    found = session.exec(
        select(*columns)
        .where(visible_to(actor), col(Customer.created_at) >= start, col(Customer.created_at) < end,
               col(Customer.draft).is_(False))
    ).all()
    rows = [r[:6] for r in found if r[6] is None]
    # When each customer now in 已成交 got there: its stage changes into it (ix_timeline_customer_created,
    # in chunks); one that was won and has since been lost is not counted as converted.
    won_ids = [int(r[0]) for r in rows if r[5] == Stage.WON]
    won_at: dict[int, datetime] = {}
    for i in range(0, len(won_ids), CHUNK):
        for cid, at in session.exec(
            select(TimelineEvent.customer_id, TimelineEvent.created_at)
            .where(col(TimelineEvent.customer_id).in_(won_ids[i:i + CHUNK]), col(TimelineEvent.kind) == "stage_changed",
                   col(TimelineEvent.summary).in_(INTO_WON))
        ).all():
            won_at[int(cid)] = min(won_at.get(int(cid), at), at)
    by_channel: dict[str, ChannelRow] = {}
    total = ChannelRow(channel="合计")
    for cid, channel, created, received, first, stage in rows:
        arrived = received or created
        for row in (by_channel.setdefault(channel or NO_CHANNEL, ChannelRow(channel or NO_CHANNEL)), total):
            row.arrived += 1
            row.leads += received is not None
            on_time = first is not None and first - arrived <= CONTACT_WINDOW
            if on_time or now - arrived >= CONTACT_WINDOW:
                row.contact_counted += 1
                row.contacted_on_time += on_time
            won = won_at.get(int(cid))
            won_in_time = won is not None and won - arrived <= WON_WINDOW
            if won_in_time or now - arrived >= WON_WINDOW:
                row.won_counted += 1
                row.won_on_time += won_in_time
            row.won_now += stage == Stage.WON
    ordered = sorted(by_channel.values(), key=lambda r: (-r.arrived, r.channel))
    return [*ordered, total] if ordered else []
