"""Merging duplicate customers (supervisor/admin only), audited and undoable."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from store.customers import get_customer, sync_amount
from store.models import Customer, FollowUp, MarketingEvent, Member, MergeAudit, Promise, TimelineEvent, Visit
from store.permissions import PermissionDenied, require_manager
from store.timeline import add_event

_FILLABLE = ("company", "phone", "email", "title", "product", "source_channel", "next_contact_at")
_MOVED = {"followups": FollowUp, "visits": Visit, "events": TimelineEvent, "marketing": MarketingEvent,
          "promises": Promise}


def merge_customers(*, session: Session, actor: Member, kept_id: int, merged_id: int, at: datetime) -> MergeAudit:
    require_manager(actor)
    if kept_id == merged_id:
        raise ValueError("cannot merge a customer into itself")
    # Both rows locked, in id order (no deadlock between two merges of the same pair): merging A into
    # B and B into A at once on two instances must not both succeed (a cycle).
    first, second = sorted((kept_id, merged_id))
    locked = {cid: get_customer(session=session, actor=actor, customer_id=cid, for_update=True)
              for cid in (first, second)}
    kept, merged = locked[kept_id], locked[merged_id]
    snapshot: dict[str, object] = {"kept_before": {f: _jsonable(getattr(kept, f)) for f in _FILLABLE}}
    for name, model in _MOVED.items():
        ids = list(session.exec(select(model.id).where(model.customer_id == merged_id)).all())  # type: ignore[attr-defined]
        snapshot[name] = ids
        if ids:
            session.execute(update(model).where(col(model.id).in_(ids)).values(customer_id=kept_id))  # type: ignore[attr-defined]
    for f in _FILLABLE:
        if getattr(kept, f) in (None, "") and getattr(merged, f) not in (None, ""):
            setattr(kept, f, getattr(merged, f))
    merged.merged_into_id = kept_id
    session.add_all([kept, merged])
    sync_amount(session=session, customer=kept)
    audit = MergeAudit(kept_id=kept_id, merged_id=merged_id, actor_id=actor.id or 0, snapshot=snapshot,
                       created_at=at)
    session.add(audit)
    session.flush()
    add_event(session=session, customer_id=kept_id, actor_id=actor.id, kind="merged",
              summary=f"合并客户 {merged.name}（#{merged_id}）", ref={"merge_id": audit.id}, at=at)
    return audit


def undo_merge(*, session: Session, actor: Member, merge_id: int, at: datetime) -> MergeAudit:
    require_manager(actor)
    audit = session.exec(  # held: two 撤销合并 of one merge at once must not both undo it
        select(MergeAudit).where(col(MergeAudit.id) == merge_id).with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if audit is None or audit.undone_at is not None:
        raise ValueError("merge not found or already undone")
    kept = get_customer(session=session, actor=actor, customer_id=audit.kept_id)
    merged = session.get(Customer, audit.merged_id)
    if merged is None:
        raise PermissionDenied("merged customer missing")
    for name, model in _MOVED.items():
        ids = audit.snapshot.get(name) or []
        if ids:
            session.execute(update(model).where(col(model.id).in_(ids)).values(customer_id=audit.merged_id))  # type: ignore[attr-defined]
    before = audit.snapshot.get("kept_before", {})
    for f in _FILLABLE:
        # Only undo what the merge filled in: a value the rep changed since then stays.
        if before.get(f) in (None, "") and getattr(kept, f) == getattr(merged, f):
            setattr(kept, f, None)
    merged.merged_into_id = None
    audit.undone_at = at
    audit.undone_by_id = actor.id
    session.add_all([kept, merged, audit])
    sync_amount(session=session, customer=kept)
    sync_amount(session=session, customer=merged)
    add_event(session=session, customer_id=audit.kept_id, actor_id=actor.id, kind="merge_undone",
              summary=f"撤销合并 {merged.name}（#{merged.id}）", ref={"merge_id": audit.id}, at=at)
    return audit


def _jsonable(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value
