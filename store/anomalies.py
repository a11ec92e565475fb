"""Anomaly review items: filed once per finding (unique key), reviewed once (conditional UPDATE),
and the records they hold out of the reports while open or returned (`held_followups`,
`held_customers`: subqueries the report and pipeline queries exclude)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from store.models import (
    HELD_STATUSES,
    Anomaly,
    AnomalyItem,
    AnomalyStatus,
    Customer,
    FollowUp,
    Member,
    Role,
    TimelineEvent,
)
from store.permissions import PermissionDenied
from store.upsert import insert_ignore


class AlreadyReviewed(ValueError):
    """The anomaly is no longer in a state this decision applies to (another tap got there first)."""


# ---------------------------------------------------------------- the sweep's queue

def unchecked_followup_ids(*, session: Session, limit: int) -> list[int]:
    """Confirmed records the sweep has not looked at yet (ix_followup_anomaly_checked_at), oldest first."""
    ids = session.exec(
        select(FollowUp.id).where(col(FollowUp.anomaly_checked_at).is_(None), col(FollowUp.confirmed).is_(True))
        .order_by(col(FollowUp.id)).limit(limit)
    ).all()
    return [int(i) for i in ids if i is not None]


def claim_followup_check(*, session: Session, followup_id: int, at: datetime) -> bool:
    """Mark the record checked unless another instance did: one atomic conditional UPDATE. Done in
    the transaction that files what the check found, so a crash leaves the record unchecked."""
    result = session.execute(
        update(FollowUp).where(col(FollowUp.id) == followup_id, col(FollowUp.anomaly_checked_at).is_(None))
        .values(anomaly_checked_at=at)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def file_anomaly(
    *, session: Session, key: str, kind: str, team_id: int, rep_id: int, customer_id: int | None, summary: str,
    followup_ids: Sequence[int] = (), events: Sequence[tuple[int, int]] = (), at: datetime,
) -> tuple[int, bool]:
    """File a finding (a repeated key is a no-op) and attach its records (`events`: (event id,
    customer id) of stage changes). Returns (anomaly id, newly filed)."""
    new_id = insert_ignore(session, Anomaly, {
        "key": key, "kind": kind, "team_id": team_id, "rep_id": rep_id, "customer_id": customer_id,
        "summary": summary[:1000], "status": AnomalyStatus.OPEN, "created_at": at,
    }, ["key"])
    anomaly_id = new_id if new_id is not None else session.exec(
        select(Anomaly.id).where(col(Anomaly.key) == key)).one()
    assert anomaly_id is not None
    for fid in followup_ids:
        insert_ignore(session, AnomalyItem, {"anomaly_id": anomaly_id, "item_key": f"f:{fid}", "followup_id": fid},
                      ["anomaly_id", "item_key"])
    for event_id, customer_id_ in events:
        insert_ignore(session, AnomalyItem, {"anomaly_id": anomaly_id, "item_key": f"e:{event_id}",
                                             "event_id": event_id, "customer_id": customer_id_},
                      ["anomaly_id", "item_key"])
    return int(anomaly_id), new_id is not None


# ---------------------------------------------------------------- what the detectors read

def rep_entries_between(*, session: Session, rep_id: int, start: datetime, end: datetime) -> tuple[int, list[int]]:
    """How many entries the rep made in [start, end), and the confirmed ones among them."""
    rows = session.exec(select(FollowUp.id, FollowUp.confirmed).where(
        col(FollowUp.rep_id) == rep_id, col(FollowUp.created_at) >= start, col(FollowUp.created_at) < end)).all()
    return len(rows), [int(i) for i, confirmed in rows if confirmed and i is not None]


def team_product_amounts(*, session: Session, team_id: int, product: str, since: datetime,
                         exclude_followup_id: int) -> list[int]:
    """Confirmed amounts the team recorded for customers of this product since `since` that passed the
    check: not the one being judged, not one still unchecked or held for review (a wild amount must
    not make itself, or its neighbour in the same batch, look typical)."""
    rows = session.exec(
        select(FollowUp.amount_cny).join(Customer, col(Customer.id) == col(FollowUp.customer_id)).where(
            col(Customer.team_id) == team_id, col(Customer.product) == product, col(FollowUp.confirmed).is_(True),
            col(FollowUp.amount_cny).is_not(None), col(FollowUp.created_at) >= since,
            col(FollowUp.id) != exclude_followup_id, col(FollowUp.anomaly_checked_at).is_not(None),
            col(FollowUp.id).not_in(held_followups()))
    ).all()
    return [int(a) for a in rows if a is not None]


def confirmed_followups_between(*, session: Session, customer_id: int, start: datetime,
                                end: datetime) -> list[FollowUp]:
    return list(session.exec(select(FollowUp).where(
        col(FollowUp.customer_id) == customer_id, col(FollowUp.confirmed).is_(True),
        col(FollowUp.created_at) >= start, col(FollowUp.created_at) <= end).order_by(col(FollowUp.id))).all())


def phone_owner(*, session: Session, phone: str, exclude_customer_id: int) -> Customer | None:
    """Another (real, unmerged) customer already holding this phone."""
    return session.exec(select(Customer).where(
        col(Customer.phone) == phone, col(Customer.id) != exclude_customer_id,
        col(Customer.merged_into_id).is_(None), col(Customer.draft).is_(False))).first()


def stage_changes_since(*, session: Session, since: datetime) -> list[TimelineEvent]:
    """Stage changes made by a member since `since` (ix_timeline_kind_created), in time order."""
    return list(session.exec(select(TimelineEvent).where(
        col(TimelineEvent.kind) == "stage_changed", col(TimelineEvent.created_at) >= since,
        col(TimelineEvent.actor_id).is_not(None)).order_by(col(TimelineEvent.created_at), col(TimelineEvent.id))).all())


def filed_stage_events(*, session: Session, event_ids: Sequence[int]) -> dict[int, int]:
    """Which of these stage-change events already belong to an anomaly: event id -> anomaly id."""
    if not event_ids:
        return {}
    rows = session.exec(select(AnomalyItem.event_id, AnomalyItem.anomaly_id)
                        .where(col(AnomalyItem.event_id).in_(list(event_ids)))).all()
    return {int(e): int(a) for e, a in rows if e is not None}


# ---------------------------------------------------------------- held out of the reports

def held_followups() -> Any:
    """Subquery: follow-ups an open or returned anomaly holds out of the numbers."""
    return (select(AnomalyItem.followup_id).join(Anomaly, col(Anomaly.id) == col(AnomalyItem.anomaly_id))
            .where(col(Anomaly.status).in_(HELD_STATUSES), col(AnomalyItem.followup_id).is_not(None)))


def held_customers() -> Any:
    """Subquery: customers whose stage an open or returned bulk-stage-change anomaly puts in doubt."""
    return (select(AnomalyItem.customer_id).join(Anomaly, col(Anomaly.id) == col(AnomalyItem.anomaly_id))
            .where(col(Anomaly.status).in_(HELD_STATUSES), col(AnomalyItem.customer_id).is_not(None)))


def count_held_anomalies(*, session: Session, team_id: int) -> int:
    """Open and returned anomalies of the team: what the weekly report says it left out."""
    return len(session.exec(select(Anomaly.id).where(col(Anomaly.team_id) == team_id,
                                                     col(Anomaly.status).in_(HELD_STATUSES))).all())


# ---------------------------------------------------------------- review

def _may_review(actor: Member, anomaly: Anomaly) -> bool:
    if not actor.active:
        return False
    return actor.role == Role.ADMIN or (actor.role == Role.SUPERVISOR and actor.team_id == anomaly.team_id)


def _may_see(actor: Member, anomaly: Anomaly) -> bool:
    return _may_review(actor, anomaly) or (actor.active and actor.id == anomaly.rep_id)


def get_anomaly(*, session: Session, actor: Member, anomaly_id: int) -> Anomaly:
    anomaly = session.get(Anomaly, anomaly_id)
    if anomaly is None or not _may_see(actor, anomaly):
        raise PermissionDenied("anomaly not visible")
    return anomaly


def list_anomalies(*, session: Session, actor: Member, statuses: Sequence[str], limit: int = 200) -> list[Anomaly]:
    """A supervisor sees the team's, an admin all, a rep only their own."""
    stmt = select(Anomaly).where(col(Anomaly.status).in_(list(statuses)))
    if not actor.active:
        return []
    if actor.role == Role.SUPERVISOR:
        stmt = stmt.where(col(Anomaly.team_id) == actor.team_id)
    elif actor.role != Role.ADMIN:
        stmt = stmt.where(col(Anomaly.rep_id) == actor.id)
    return list(session.exec(stmt.order_by(col(Anomaly.id).desc()).limit(limit)).all())


def anomaly_items(*, session: Session, anomaly_ids: Sequence[int]) -> list[AnomalyItem]:
    if not anomaly_ids:
        return []
    return list(session.exec(select(AnomalyItem).where(col(AnomalyItem.anomaly_id).in_(list(anomaly_ids)))
                             .order_by(col(AnomalyItem.id))).all())


_FROM = {
    AnomalyStatus.OK: (AnomalyStatus.OPEN, AnomalyStatus.RETURNED),
    AnomalyStatus.RETURNED: (AnomalyStatus.OPEN,),
}


def review_anomaly(*, session: Session, actor: Member, anomaly_id: int, decision: str, reason: str | None,
                   at: datetime) -> Anomaly:
    """没问题 (ok) or 退回给销售 (returned), by the rep's supervisor or an admin. One conditional UPDATE:
    of two taps (two supervisors, two instances) one wins, the other gets AlreadyReviewed."""
    anomaly = session.get(Anomaly, anomaly_id)
    if anomaly is None or not _may_review(actor, anomaly):
        raise PermissionDenied("anomaly not reviewable")
    allowed = _FROM.get(AnomalyStatus(decision)) if decision in tuple(AnomalyStatus) else None
    if allowed is None:
        raise ValueError(f"not a decision: {decision}")
    result = session.execute(
        update(Anomaly).where(col(Anomaly.id) == anomaly_id, col(Anomaly.status).in_(allowed))
        .values(status=decision, reviewer_id=actor.id, reason=(reason or None) and reason[:200], reviewed_at=at)
    )
    if int(result.rowcount) != 1:  # type: ignore[attr-defined]
        raise AlreadyReviewed(anomaly.status)
    session.refresh(anomaly)
    return anomaly


def mark_fixed(*, session: Session, actor: Member, anomaly_id: int, at: datetime) -> Anomaly:
    """The rep fixed what was returned and confirms it again: the records count from now on."""
    anomaly = session.get(Anomaly, anomaly_id)
    if anomaly is None or not actor.active or actor.id != anomaly.rep_id:
        raise PermissionDenied("not the rep of this anomaly")
    result = session.execute(
        update(Anomaly).where(col(Anomaly.id) == anomaly_id, col(Anomaly.status) == AnomalyStatus.RETURNED)
        .values(status=AnomalyStatus.FIXED, reviewed_at=at)
    )
    if int(result.rowcount) != 1:  # type: ignore[attr-defined]
        raise AlreadyReviewed(anomaly.status)
    session.refresh(anomaly)
    return anomaly
