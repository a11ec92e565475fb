"""Read-only queries behind the web console (bot/web). Each takes the acting member and filters with
`visible_to`, like every customer query (store/permissions.py): a rep sees own customers, a
supervisor the team's, an admin all. Nothing here writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from store.anomalies import held_customers, held_followups
from store.models import Customer, FollowUp, Member, Role, TimelineEvent
from store.permissions import PermissionDenied, can_see, visible_to
from store.totals import read_totals

# The timeline's sources, by event kind prefix: what the customer page filters on.
TIMELINE_SOURCES: dict[str, tuple[str, ...]] = {
    "跟进": ("followup_",),
    "拜访": ("visit_",),
    "阶段": ("stage_",),
    "线索": ("lead_",),
    "市场": ("mkt_",),  # marketing behaviour events (POST /api/events)
    "其他": ("customer_created", "renamed", "merged", "merge_undone", "snoozed", "attachment"),
}


@dataclass(frozen=True)
class PipelineFilter:
    owner_id: int | None = None
    stage: str | None = None
    channel: str | None = None  # first or latest source
    product: str | None = None


def _filtered(actor: Member, flt: PipelineFilter) -> list[Any]:
    # Drafts (pasted, not yet confirmed) are not in the book yet: they show as records to confirm.
    conditions: list[Any] = [visible_to(actor), col(Customer.merged_into_id).is_(None), col(Customer.draft).is_(False)]
    if flt.owner_id is not None:
        conditions.append(col(Customer.owner_id) == flt.owner_id)
    if flt.stage:
        conditions.append(col(Customer.stage) == flt.stage)
    if flt.channel:
        conditions.append((col(Customer.source_channel) == flt.channel) | (col(Customer.latest_channel) == flt.channel))
    if flt.product:
        conditions.append(col(Customer.product) == flt.product)
    return conditions


@dataclass(frozen=True)
class PipelineCell:
    owner_id: int | None
    stage: str
    count: int
    amount: int
    stale: int


def pipeline_grid(*, session: Session, actor: Member, flt: PipelineFilter) -> list[PipelineCell]:
    """Owner × stage: how many customers, the sum of their amounts, how many are on the stale ladder.
    Without a channel or product filter it reads the kept totals (store/totals.py: O(owners × stages)
    rows however large the book) and takes out the few customers an open anomaly holds; a channel or
    product filter, which the totals do not break down by, counts the matching customers."""
    if flt.channel or flt.product:
        return _grid_live(session, actor, flt)
    cells = {(c.owner_id, c.stage): [c.count, c.amount, c.stale]
             for c in read_totals(session=session, actor=actor, owner_id=flt.owner_id, stage=flt.stage)}
    # Held customers (their stage in doubt: not counted at all) and customers with a record under
    # review (their amount left out): bounded by the open anomalies, not by the book. Their ids first,
    # then those rows by primary key (one OR of two subqueries let SQLite's planner walk the book).
    whole = {int(i) for i in session.exec(held_customers()).all() if i is not None}
    records = select(FollowUp.customer_id).where(col(FollowUp.id).in_(held_followups()))
    ids = whole | {int(i) for i in session.exec(records).all()}
    columns: list[Any] = [Customer.id, Customer.owner_id, Customer.stage, Customer.amount_cny, Customer.stale_rung]
    held = (session.exec(select(*columns).where(col(Customer.id).in_(sorted(ids)), *_filtered(actor, flt))).all()
            if ids else [])
    for cid, owner, stage, amount, rung in held:
        cell = cells.get((owner, stage))
        if cell is None:
            continue
        cell[1] -= int(amount or 0)
        if cid in whole:
            cell[0] -= 1
            cell[2] -= 1 if rung > 0 else 0
    return [PipelineCell(owner_id=o, stage=s, count=n, amount=a, stale=st)
            for (o, s), (n, a, st) in cells.items() if n > 0]


def _grid_live(session: Session, actor: Member, flt: PipelineFilter) -> list[PipelineCell]:
    # Kept with the records (store/customers.sync_amount); a customer with a record under anomaly review
    # adds no amount until it is reviewed.
    under_review = select(FollowUp.customer_id).where(col(FollowUp.id).in_(held_followups()))
    amount: Any = case((col(Customer.id).in_(under_review), None), else_=col(Customer.amount_cny))
    stale = func.sum(case((col(Customer.stale_rung) > 0, 1), else_=0))
    columns: list[Any] = [Customer.owner_id, Customer.stage, func.count(), func.coalesce(func.sum(amount), 0), stale]
    # A customer whose stage came from a bulk change under review is not counted in a stage yet.
    held = col(Customer.id).not_in(held_customers())
    stmt: Any = (select(*columns).where(*_filtered(actor, flt), held)
                 .group_by(col(Customer.owner_id), col(Customer.stage)))
    rows = session.exec(stmt).all()
    return [PipelineCell(owner_id=o, stage=s, count=int(n), amount=int(a or 0), stale=int(st or 0))
            for o, s, n, a, st in rows]


@dataclass(frozen=True)
class CustomerRow:
    customer: Customer
    amount: int | None


def _nulls_last(session: Session, base: Any, column: Any, *, descending: bool, limit: int) -> list[Customer]:
    """`base` ordered by `column` (then newest id first) with the rows whose `column` is NULL last: two
    queries, so each walks its index and stops at `limit`. In one ORDER BY, NULLS LAST makes SQLite sort
    every row, and PostgreSQL cannot serve DESC NULLS LAST from an ascending index (a backward scan
    gives NULLS FIRST), so it sorted a rep's whole book."""
    ordering = column.desc() if descending else column.asc()
    rows = list(session.exec(base.where(column.is_not(None)).order_by(ordering, col(Customer.id).desc())
                             .limit(limit)).all())
    if len(rows) < limit:
        rows += session.exec(base.where(column.is_(None)).order_by(col(Customer.id).desc())
                             .limit(limit - len(rows))).all()
    return rows


def pipeline_customers(*, session: Session, actor: Member, flt: PipelineFilter, limit: int = 100,
                       order: str = "next_contact") -> list[CustomerRow]:
    """The customers behind the grid, soonest next contact first (or most recent activity first)."""
    base = select(Customer).where(*_filtered(actor, flt))
    if order == "next_contact":
        rows = _nulls_last(session, base, col(Customer.next_contact_at), descending=False, limit=limit)
    else:
        rows = _nulls_last(session, base, col(Customer.last_activity_at), descending=True, limit=limit)
    return [CustomerRow(customer=c, amount=c.amount_cny) for c in rows]


def visible_members(*, session: Session, actor: Member) -> list[Member]:
    """Whose customers the actor may filter by: oneself (a rep), the team (a supervisor), everyone (an admin)."""
    if actor.role == Role.ADMIN:
        stmt = select(Member)
    elif actor.role == Role.SUPERVISOR:
        stmt = select(Member).where(col(Member.team_id) == actor.team_id)
    else:
        stmt = select(Member).where(col(Member.id) == actor.id)
    return list(session.exec(stmt.order_by(col(Member.id))).all())


def customer_timeline(*, session: Session, actor: Member, customer_id: int, source: str | None = None,
                      limit: int = 200) -> list[TimelineEvent]:
    """Every event on the customer's timeline, newest first (ix_timeline_customer_created), optionally
    only one source of TIMELINE_SOURCES."""
    customer = session.get(Customer, customer_id)
    if customer is None or customer.merged_into_id is not None or not can_see(actor, customer):
        raise PermissionDenied("customer not visible")
    stmt = select(TimelineEvent).where(col(TimelineEvent.customer_id) == customer_id)
    kinds = TIMELINE_SOURCES.get(source or "")
    if kinds:
        exact = [k for k in kinds if not k.endswith("_")]
        prefixes = [k for k in kinds if k.endswith("_")]
        conditions: list[Any] = [col(TimelineEvent.kind).in_(exact)] if exact else []
        conditions += [col(TimelineEvent.kind).startswith(p) for p in prefixes]
        stmt = stmt.where(or_(*conditions))
    stmt = stmt.order_by(col(TimelineEvent.created_at).desc(), col(TimelineEvent.id).desc()).limit(limit)
    return list(session.exec(stmt).all())


def followup_origins(*, session: Session, followup_ids: Sequence[int]) -> dict[int, int | None]:
    """For timeline rows that name a follow-up: the inbound message each came from (its origin)."""
    if not followup_ids:
        return {}
    rows = session.exec(select(FollowUp.id, FollowUp.source_inbound_id)
                        .where(col(FollowUp.id).in_(list(followup_ids)))).all()
    return {int(i): s for i, s in rows if i is not None}


def member_names(*, session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Member.id, Member.display_name).where(col(Member.id).in_(list(ids)))).all()
    return {int(i): n for i, n in rows if i is not None}


def unconfirmed_followups(*, session: Session, actor: Member, limit: int = 50) -> list[tuple[FollowUp, Customer]]:
    """The actor's own records still waiting for 确认 (drafts), newest first.

    Pages of the actor's drafts walk ix_followup_rep_drafts newest first and keep those whose customer
    the actor still sees; a join in one query let PostgreSQL (which takes rep and owner for independent)
    hash the rep's whole book and sort every draft, so 我的 grew with the book."""
    found: list[tuple[FollowUp, Customer]] = []
    before: int | None = None
    while len(found) < limit:
        stmt = select(FollowUp).where(col(FollowUp.rep_id) == actor.id, col(FollowUp.confirmed).is_(False))
        if before is not None:
            stmt = stmt.where(col(FollowUp.id) < before)
        page = list(session.exec(stmt.order_by(col(FollowUp.id).desc()).limit(limit * 2)).all())
        if not page:
            break
        ids = {f.customer_id for f in page}
        customers = {c.id: c for c in session.exec(
            select(Customer).where(col(Customer.id).in_(ids), visible_to(actor), col(Customer.merged_into_id).is_(None))
        ).all()}
        found += [(f, customers[f.customer_id]) for f in page if f.customer_id in customers]
        before = page[-1].id
    return found[:limit]


def stale_customers(*, session: Session, actor: Member, limit: int = 100) -> list[Customer]:
    """Customers on the stale ladder (a rung fired: reminded, alerted, high risk) the actor may see,
    highest rung and longest idle first. The sweep resets the rung when a follow-up comes."""
    return list(session.exec(
        select(Customer).where(visible_to(actor), col(Customer.stale_rung) > 0, col(Customer.merged_into_id).is_(None),
                               col(Customer.draft).is_(False), col(Customer.owner_id).is_not(None))
        .order_by(col(Customer.stale_rung).desc(), col(Customer.last_activity_at).asc().nulls_last(),
                  col(Customer.id))
        .limit(limit)
    ).all())
