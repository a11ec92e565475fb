"""Quote lines: the catalog products a follow-up names, with quantities and the computed total.

The customer's amount is the sum of the current quote: the lines of its latest confirmed record
that has any. A record without lines keeps its typed or spoken amount, which counts as not from the
catalog in the weekly share (scheduler/weekly.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from store.anomalies import held_followups
from store.models import FollowUp, QuoteLine


@dataclass(frozen=True)
class NewLine:
    product_id: int | None
    label: str
    unit: str
    quantity: int
    unit_price_cny: int

    @property
    def total_cny(self) -> int:
        return self.quantity * self.unit_price_cny


def quote_lines(*, session: Session, followup_id: int) -> list[QuoteLine]:
    return list(session.exec(select(QuoteLine).where(col(QuoteLine.followup_id) == followup_id)
                             .order_by(col(QuoteLine.id))).all())


def replace_quote_lines(*, session: Session, followup_id: int, lines: Sequence[NewLine], at: datetime) -> int:
    """The record's quote becomes `lines` (empty: no quote). Returns the total in yuan."""
    session.exec(delete(QuoteLine).where(col(QuoteLine.followup_id) == followup_id))  # type: ignore[call-overload]
    for line in lines:
        session.add(QuoteLine(followup_id=followup_id, product_id=line.product_id, label=line.label[:160],
                              unit=line.unit, quantity=line.quantity, unit_price_cny=line.unit_price_cny,
                              total_cny=line.total_cny, created_at=at))
    session.flush()
    return sum(line.total_cny for line in lines)


def delete_quote_lines(*, session: Session, followup_id: int) -> None:
    session.exec(delete(QuoteLine).where(col(QuoteLine.followup_id) == followup_id))  # type: ignore[call-overload]


def current_quote_total(*, session: Session, customer_id: int) -> int | None:
    """The sum of the customer's current quote: the lines of its latest confirmed record with any."""
    quoted = session.exec(
        select(FollowUp.id)
        .where(col(FollowUp.customer_id) == customer_id, col(FollowUp.confirmed).is_(True),
               col(FollowUp.id).in_(select(QuoteLine.followup_id)))
        .order_by(col(FollowUp.confirmed_at).desc(), col(FollowUp.id).desc())
        .limit(1)
    ).first()
    if quoted is None:
        return None
    return sum(line.total_cny for line in quote_lines(session=session, followup_id=quoted))


def customer_amount(*, session: Session, customer_id: int) -> int | None:
    """The sum of the current quote; without one, the latest confirmed record's amount; None when no
    confirmed record names an amount."""
    total = current_quote_total(session=session, customer_id=customer_id)
    if total is not None:
        return total
    return session.exec(
        select(FollowUp.amount_cny)
        .where(col(FollowUp.customer_id) == customer_id, col(FollowUp.confirmed).is_(True),
               col(FollowUp.amount_cny).is_not(None))
        .order_by(col(FollowUp.confirmed_at).desc(), col(FollowUp.id).desc())
        .limit(1)
    ).first()


def catalog_share(*, session: Session, rep_id: int, start: datetime, end: datetime) -> tuple[int, int]:
    """(yuan from the catalog, all yuan) over the rep's confirmed records with an amount created in
    [start, end): a record's amount is from the catalog when it equals its quote lines' total."""
    records = session.exec(
        select(FollowUp.id, FollowUp.amount_cny)
        .where(col(FollowUp.rep_id) == rep_id, col(FollowUp.confirmed).is_(True),
               col(FollowUp.amount_cny).is_not(None), col(FollowUp.created_at) >= start,
               col(FollowUp.created_at) < end,
               col(FollowUp.id).not_in(held_followups()))  # anomalies under review count once reviewed
    ).all()
    ids = [fid for fid, _ in records]
    totals: dict[int, int] = {}
    for fid, total in session.exec(
        select(QuoteLine.followup_id, QuoteLine.total_cny).where(col(QuoteLine.followup_id).in_(ids or [-1]))
    ).all():
        totals[fid] = totals.get(fid, 0) + total
    everything = sum(amount or 0 for _, amount in records)
    from_catalog = sum(amount or 0 for fid, amount in records if fid in totals and totals[fid] == amount)
    return from_catalog, everything
