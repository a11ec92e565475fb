"""Follow-up records: created unconfirmed from a message, confirmed by the rep with one tap."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, select

from store.customers import get_customer, sync_amount, update_customer
from store.models import Correction, Customer, FollowUp, Member, QuoteLine, TimelineEvent, Visit
from store.permissions import PermissionDenied
from store.promises import delete_promises_of_followup, open_kept_promises
from store.timeline import add_event
from store.types import require_id


def create_followup(
    *,
    session: Session,
    actor: Member,
    customer_id: int,
    kind: str,
    text: str,
    tags: list[str],
    amount_cny: int | None = None,
    next_contact_at: datetime | None = None,
    next_contact_has_time: bool = True,
    stage_hint: str | None = None,
    transcript: str | None = None,
    source_inbound_id: int | None = None,
    understanding: dict[str, Any] | None = None,
    at: datetime,
) -> FollowUp:
    now = at
    customer = get_customer(session=session, actor=actor, customer_id=customer_id)
    followup = FollowUp(
        customer_id=require_id(customer),
        rep_id=require_id(actor),
        kind=kind,
        text=text,
        transcript=transcript,
        tags=sorted(set(tags)),
        extracted_tags=sorted(set(tags)),
        amount_cny=amount_cny,
        next_contact_at=next_contact_at,
        next_contact_has_time=next_contact_has_time,
        stage_hint=stage_hint,
        source_inbound_id=source_inbound_id,
        understanding=understanding,
        created_at=now,
    )
    session.add(followup)
    session.flush()
    record_contact(customer, now)
    session.add(customer)
    return followup


def record_contact(customer: Customer, now: datetime) -> None:
    """A follow-up ends the stale episode and answers a new lead: the ladder restarts from here
    (the sweep computes the exact next rung time in working hours when stale_due_at comes up)."""
    customer.last_activity_at = now
    customer.stale_rung = 0
    customer.stale_due_at = now
    customer.snoozed_until = None
    customer.risk = None
    if customer.first_contact_at is None:
        customer.first_contact_at = now
    customer.lead_due_at = None


def get_followup(*, session: Session, actor: Member, followup_id: int,
                 for_update: bool = False) -> tuple[FollowUp, Customer]:
    """`for_update`: the record is about to be changed from what is read here (a confirm, a tag
    toggle): on PostgreSQL it is read as committed now and held, so two taps handled by two
    instances at once apply one after the other instead of one overwriting the other."""
    followup = session.get(FollowUp, followup_id) if not for_update else session.exec(
        select(FollowUp).where(col(FollowUp.id) == followup_id).with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if followup is None:
        raise PermissionDenied("follow-up not found")
    customer = get_customer(session=session, actor=actor, customer_id=followup.customer_id)
    return followup, customer


def toggle_tag(*, session: Session, actor: Member, followup_id: int, tag: str, at: datetime) -> FollowUp:
    """Toggle a tag; the change is stored as a correction (the weekly report and the tagger learn)."""
    followup, _ = get_followup(session=session, actor=actor, followup_id=followup_id, for_update=True)
    tags = set(followup.tags)
    removed = tag in tags
    tags.symmetric_difference_update({tag})
    followup.tags = sorted(tags)  # reassign: JSON columns do not track in-place mutation
    session.add(followup)
    session.add(
        Correction(
            followup_id=followup_id,
            member_id=require_id(actor),
            team_id=actor.team_id,
            field="tag",
            before=tag if removed else None,
            after=None if removed else tag,
            created_at=at,
        )
    )
    return followup


# Fields a rep can fix from a card, and where each lives.
FIXABLE_ON_FOLLOWUP = frozenset({"amount_cny", "next_contact_at", "stage_hint"})
FIXABLE_ON_CUSTOMER = {"customer_name": "name", "company": "company", "phone": "phone", "email": "email",
                       "product": "product"}


def fix_field(
    *, session: Session, actor: Member, followup_id: int, field: str, value: str, at: datetime
) -> FollowUp:
    """Set one extracted field to the rep's choice and store the change as a correction, like a tag toggle.

    `value` is the text form: yuan for amount_cny, ISO datetime for next_contact_at, text otherwise."""
    followup, customer = get_followup(session=session, actor=actor, followup_id=followup_id, for_update=True)
    before: object
    if field in FIXABLE_ON_FOLLOWUP:
        before = getattr(followup, field)
        new: object = (int(value) if field == "amount_cny"
                       else datetime.fromisoformat(value) if field == "next_contact_at" else value)
        setattr(followup, field, new)
        session.add(followup)
        if field == "amount_cny" and followup.confirmed:  # 改金额 after an anomaly 退回
            sync_amount(session=session, customer=customer)
    elif field in FIXABLE_ON_CUSTOMER:
        attr = FIXABLE_ON_CUSTOMER[field]
        before = getattr(customer, attr)
        update_customer(session=session, actor=actor, customer_id=require_id(customer), **{attr: value})
    else:
        raise ValueError(f"field {field} cannot be fixed from a card")
    before_text = before.isoformat() if isinstance(before, datetime) else (None if before is None else str(before))
    session.add(
        Correction(
            followup_id=followup_id,
            member_id=require_id(actor),
            team_id=actor.team_id,
            field=field,
            before=before_text[:500] if before_text else None,
            after=value[:500],
            created_at=at,
        )
    )
    return followup


def confirm_followup(
    *, session: Session, actor: Member, followup_id: int, at: datetime
) -> tuple[FollowUp, Customer, bool]:
    """Mark confirmed and apply its next contact to the customer. Returns (.., newly_confirmed)."""
    now = at
    followup, customer = get_followup(session=session, actor=actor, followup_id=followup_id, for_update=True)
    if followup.confirmed:
        return followup, customer, False
    followup.confirmed = True
    followup.confirmed_at = now
    customer.draft = False  # its first confirmed record makes a pasted customer real
    if followup.next_contact_at is not None:
        customer.next_contact_at = followup.next_contact_at
    customer.last_activity_at = now
    session.add_all([followup, customer])
    open_kept_promises(session=session, followup_id=followup_id)  # the ledger takes what the card kept
    sync_amount(session=session, customer=customer)  # its amount or quote may be the customer's now
    tag_text = "、".join(followup.tags) if followup.tags else "无标签"
    add_event(
        session=session,
        customer_id=customer.id or 0,
        actor_id=actor.id,
        kind="followup_confirmed",
        summary=f"确认跟进记录（{tag_text}）",
        ref={"followup_id": followup.id},
        at=now,
    )
    return followup, customer, True


def confirmed_followups(*, session: Session, customer_id: int) -> list[FollowUp]:
    return list(
        session.exec(
            select(FollowUp).where(col(FollowUp.customer_id) == customer_id, col(FollowUp.confirmed).is_(True))
        ).all()
    )


def latest_unconfirmed(*, session: Session, actor: Member) -> FollowUp | None:
    """The acting rep's newest record still waiting for 确认 (the card a field reply fixes)."""
    return session.exec(
        select(FollowUp)
        .where(col(FollowUp.rep_id) == actor.id, col(FollowUp.confirmed).is_(False))
        .order_by(col(FollowUp.id).desc())
        .limit(1)
    ).first()


def discard_followup(*, session: Session, actor: Member, followup_id: int) -> tuple[Customer, bool]:
    """丢弃: remove an unconfirmed record with its corrections and timeline lines, and the customer too
    when it is a draft that exists only because of it (with its own timeline and visits), so nothing
    is left. Returns (customer, customer_removed); a confirmed record is refused (ValueError). The record
    is read locked: a 确认 committed by another instance meanwhile is seen here, never deleted."""
    followup, customer = get_followup(session=session, actor=actor, followup_id=followup_id, for_update=True)
    if followup.confirmed:
        raise ValueError("a confirmed record is not discarded")
    customer_id = require_id(customer)
    others = session.exec(
        select(FollowUp.id).where(col(FollowUp.customer_id) == customer_id, col(FollowUp.id) != followup_id)
    ).first()
    remove_customer = customer.draft and others is None
    events = session.exec(select(TimelineEvent).where(col(TimelineEvent.customer_id) == customer_id)).all()
    for event in events:
        if remove_customer or (event.ref or {}).get("followup_id") == followup_id:
            session.delete(event)
    session.exec(delete(Correction).where(col(Correction.followup_id) == followup_id))  # type: ignore[call-overload]
    session.exec(delete(QuoteLine).where(col(QuoteLine.followup_id) == followup_id))  # type: ignore[call-overload]
    delete_promises_of_followup(session=session, followup_id=followup_id)
    session.delete(followup)
    if remove_customer:
        session.exec(delete(Visit).where(col(Visit.customer_id) == customer_id))  # type: ignore[call-overload]
        session.flush()
        session.delete(customer)
    session.flush()
    return customer, remove_customer


def move_followup(*, session: Session, actor: Member, followup_id: int, customer_id: int,
                  at: datetime) -> tuple[Customer, bool]:
    """The record belongs to another customer (the rep named them on the card): move it with its
    timeline lines, stored as a correction. The customer it leaves is removed when it was a draft
    made only for this record. Returns (the customer left, removed)."""
    followup, old = get_followup(session=session, actor=actor, followup_id=followup_id)
    target = get_customer(session=session, actor=actor, customer_id=customer_id)
    if followup.confirmed:
        raise ValueError("a confirmed record is not moved")
    old_id, target_id = require_id(old), require_id(target)
    if old_id == target_id:
        return old, False
    followup.customer_id = target_id
    session.add(followup)
    for event in session.exec(select(TimelineEvent).where(col(TimelineEvent.customer_id) == old_id)).all():
        if (event.ref or {}).get("followup_id") == followup_id:
            event.customer_id = target_id
            session.add(event)
    record_contact(target, at)
    session.add(target)
    session.add(Correction(followup_id=followup_id, member_id=require_id(actor), team_id=actor.team_id,
                           field="customer_id", before=str(old_id), after=str(target_id), created_at=at))
    session.flush()
    others = session.exec(select(FollowUp.id).where(col(FollowUp.customer_id) == old_id)).first()
    if not old.draft or others is not None:
        return old, False
    for event in session.exec(select(TimelineEvent).where(col(TimelineEvent.customer_id) == old_id)).all():
        session.delete(event)
    session.exec(delete(Visit).where(col(Visit.customer_id) == old_id))  # type: ignore[call-overload]
    session.flush()
    session.delete(old)
    session.flush()
    return old, True
