"""The commitment ledger: promises found on a record's card (proposed), kept by the rep (open on
confirm), reminded by scheduler/promises.py, closed by 已完成 or moved by 延期.

State changes are conditional UPDATEs on the state they expect, so a double tap, two instances of
the sweep or a tap racing the sweep change a promise once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from store.customers import get_customer
from store.models import Customer, Member, Promise, PromiseStatus, Role
from store.permissions import PermissionDenied
from store.privacy import mask_contacts


def create_promise(
    *,
    session: Session,
    customer_id: int,
    followup_id: int,
    rep_id: int,
    promiser: str,
    promiser_name: str,
    promisee_name: str,
    what: str,
    due_text: str,
    due_at: datetime,
    sent_at: datetime,
    source_text: str,
    remind_at: datetime | None,
    at: datetime,
) -> Promise:
    """A promise found on an unconfirmed record: proposed until the record is confirmed. What it
    quotes is masked like a timeline summary (it shows on cards and pushes)."""
    promise = Promise(
        customer_id=customer_id, followup_id=followup_id, rep_id=rep_id, promiser=promiser,
        promiser_name=promiser_name[:100], promisee_name=promisee_name[:100], what=mask_contacts(what)[:200],
        due_text=due_text[:40], due_at=due_at, sent_at=sent_at, source_text=mask_contacts(source_text)[:500],
        status=PromiseStatus.PROPOSED, remind_at=remind_at, created_at=at,
    )
    session.add(promise)
    session.flush()
    return promise


def promises_of_followup(*, session: Session, followup_id: int) -> list[Promise]:
    return list(session.exec(
        select(Promise).where(col(Promise.followup_id) == followup_id).order_by(col(Promise.id))
    ).all())


def get_promise(*, session: Session, actor: Member, promise_id: int) -> tuple[Promise, Customer]:
    promise = session.get(Promise, promise_id)
    if promise is None:
        raise PermissionDenied("no such promise")
    customer = get_customer(session=session, actor=actor, customer_id=promise.customer_id)
    return promise, customer


def set_promise_kept(*, session: Session, actor: Member, promise_id: int, keep: bool) -> bool:
    """保留 / 移除 on the card of an unconfirmed record; False if the promise is past that point."""
    get_promise(session=session, actor=actor, promise_id=promise_id)
    before, after = ((PromiseStatus.DROPPED, PromiseStatus.PROPOSED) if keep
                     else (PromiseStatus.PROPOSED, PromiseStatus.DROPPED))
    result = session.execute(update(Promise).where(col(Promise.id) == promise_id, col(Promise.status) == before)
                             .values(status=after))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def open_kept_promises(*, session: Session, followup_id: int) -> int:
    """确认 of the record: the promises the rep kept go into the ledger (dropped ones stay out)."""
    result = session.execute(
        update(Promise).where(col(Promise.followup_id) == followup_id, col(Promise.status) == PromiseStatus.PROPOSED)
        .values(status=PromiseStatus.OPEN)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_promises_of_followup(*, session: Session, followup_id: int) -> None:
    for promise in promises_of_followup(session=session, followup_id=followup_id):
        session.delete(promise)
    session.flush()


def due_promise_ids(*, session: Session, now: datetime, limit: int) -> list[int]:
    """Open promises whose next reminder instant has come (indexed on status, remind_at)."""
    return [pid for pid in session.exec(
        select(Promise.id).where(col(Promise.status) == PromiseStatus.OPEN, col(Promise.remind_at) <= now)
        .order_by(col(Promise.remind_at)).limit(limit)
    ).all() if pid is not None]


def claim_promise_rung(*, session: Session, promise: Promise, rung: int, next_remind: datetime | None,
                       broken_at: datetime | None = None) -> bool:
    """Move a promise to `rung` if it is still where this sweep read it (same rung, due time and
    open): the one instance that wins sends the reminder."""
    values: dict[str, object] = {"rung": rung, "remind_at": next_remind}
    if broken_at is not None:
        values["broken_at"] = broken_at
    result = session.execute(
        update(Promise).where(col(Promise.id) == promise.id, col(Promise.rung) == promise.rung,
                              col(Promise.due_at) == promise.due_at, col(Promise.status) == PromiseStatus.OPEN)
        .values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(promise)
    return True


def complete_promise(*, session: Session, actor: Member, promise_id: int, at: datetime) -> Promise | None:
    """已完成: None if it was not open (already done, or still only on an unconfirmed card)."""
    promise, _ = get_promise(session=session, actor=actor, promise_id=promise_id)
    result = session.execute(
        update(Promise).where(col(Promise.id) == promise_id, col(Promise.status) == PromiseStatus.OPEN)
        .values(status=PromiseStatus.DONE, done_at=at, remind_at=None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.refresh(promise)
    return promise


def postpone_promise(*, session: Session, actor: Member, promise_id: int, due_at: datetime,
                     remind_at: datetime | None) -> Promise | None:
    """延期: a new due time and a fresh reminder ladder; None if the promise is not open."""
    promise, _ = get_promise(session=session, actor=actor, promise_id=promise_id)
    result = session.execute(
        update(Promise).where(col(Promise.id) == promise_id, col(Promise.status) == PromiseStatus.OPEN,
                              col(Promise.due_at) == promise.due_at)
        .values(due_at=due_at, remind_at=remind_at, rung=0, broken_at=None, postponed=Promise.postponed + 1)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.refresh(promise)
    return promise


def open_promises_of_customer(*, session: Session, customer_id: int, limit: int = 5) -> list[Promise]:
    """Open promises of both sides, soonest due first (the pre-visit card)."""
    return list(session.exec(
        select(Promise).where(col(Promise.customer_id) == customer_id, col(Promise.status) == PromiseStatus.OPEN)
        .order_by(col(Promise.due_at)).limit(limit)
    ).all())


def broken_promises_of_customer(*, session: Session, customer_id: int, since: datetime, now: datetime) -> int:
    """Promises due since `since` that were not kept by their due time (open past due, or done late)."""
    rows = session.exec(
        select(Promise).where(col(Promise.customer_id) == customer_id, col(Promise.due_at) >= since,
                              col(Promise.due_at) < now,
                              col(Promise.status).in_([PromiseStatus.OPEN, PromiseStatus.DONE]))
    ).all()
    return sum(1 for p in rows if p.done_at is None or p.done_at > p.due_at)


@dataclass(frozen=True)
class KeptStats:
    due: int
    kept_on_time: int


def kept_stats(*, session: Session, rep_id: int, start: datetime, end: datetime) -> KeptStats:
    """The rep's own promises due in [start, end): how many were done by their due time."""
    rows = session.exec(
        select(Promise).where(col(Promise.rep_id) == rep_id, col(Promise.promiser) == "rep",
                              col(Promise.due_at) >= start, col(Promise.due_at) < end,
                              col(Promise.status).in_([PromiseStatus.OPEN, PromiseStatus.DONE]))
    ).all()
    return KeptStats(len(rows), sum(1 for p in rows if p.done_at is not None and p.done_at <= p.due_at))


def overdue_promises_per_rep(*, session: Session, actor: Member, now: datetime) -> list[tuple[Member, int]]:
    """For the console: open promises past due, per rep, most first; a rep sees their own, a
    supervisor the team's, an admin everyone's."""
    stmt = (
        select(Member, func.count(col(Promise.id)))
        .join(Promise, col(Promise.rep_id) == Member.id)
        .where(col(Promise.status) == PromiseStatus.OPEN, col(Promise.due_at) < now)
        .group_by(col(Member.id))
    )
    if actor.role == Role.REP:
        stmt = stmt.where(col(Member.id) == actor.id)
    elif actor.role != Role.ADMIN:
        stmt = stmt.where(col(Member.team_id) == actor.team_id)
    rows = [(member, int(n)) for member, n in session.exec(stmt).all()]
    return sorted(rows, key=lambda r: (-r[1], r[0].id or 0))
