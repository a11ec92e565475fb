"""Customer repository functions. Every read and write takes the acting member (permissions)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from store.models import Customer, Member
from store.names import customer_name, name_key, name_similarity, pinyin_of, same_company
from store.permissions import PermissionDenied, can_see, visible_to
from store.quotes import customer_amount
from store.stages import Stage
from store.timeline import add_event
from store.types import require_id

FUZZY_NAME_THRESHOLD = 90.0
MAX_SEARCH_CHARS = 200  # the longest searchable column (company, email)


def create_customer(
    *,
    session: Session,
    actor: Member,
    name: str,
    company: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    title: str | None = None,
    stage: str = Stage.FIRST_CONTACT,
    product: str | None = None,
    source_channel: str | None = None,
    owner: Member | None = None,
    draft: bool = False,
    at: datetime,
) -> Customer:
    owner = owner or actor
    if owner.id != actor.id and not can_assign(actor, owner):
        raise PermissionDenied("cannot create a customer for that member")
    name = customer_name(name, phone=phone, company=company)
    customer = Customer(
        name=name,
        name_pinyin=pinyin_of(name),
        company=company,
        phone=phone,
        email=email.lower() if email else None,
        title=title,
        stage=stage,
        product=product,
        source_channel=source_channel,
        owner_id=require_id(owner),
        team_id=owner.team_id,
        last_activity_at=at,
        stale_due_at=at,
        draft=draft,
        created_at=at,
    )
    session.add(customer)
    session.flush()
    add_event(session=session, customer_id=require_id(customer), actor_id=actor.id, kind="customer_created",
              summary=f"{actor.display_name} 新建客户 {customer.name}", at=at)
    return customer


def can_assign(actor: Member, owner: Member) -> bool:
    return actor.role == "admin" or (actor.role == "supervisor" and actor.team_id == owner.team_id)


def get_customer(*, session: Session, actor: Member, customer_id: int, for_update: bool = False) -> Customer:
    """`for_update`: for a check-then-write (owner changes, merges), read the row as committed now
    and hold it to the end of the transaction (lock_customer)."""
    customer = lock_customer(session=session, customer_id=customer_id) if for_update else session.get(
        Customer, customer_id)
    if customer is None or customer.merged_into_id is not None or not can_see(actor, customer):
        raise PermissionDenied("customer not visible")
    return customer


def lock_customer(*, session: Session, customer_id: int) -> Customer | None:
    """SELECT ... FOR UPDATE: on PostgreSQL a second transaction that wants the same customer waits
    for this one to end and then sees what it wrote (two reps claiming one pool lead 33 ms apart:
    the second reads the first's owner). populate_existing: an already-loaded copy is refreshed,
    never trusted. SQLite has no row locks and needs none: every transaction begins IMMEDIATE
    (store/db.py), so writers run one at a time."""
    return session.exec(
        select(Customer).where(col(Customer.id) == customer_id).with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def list_customers(*, session: Session, actor: Member, limit: int = 20) -> list[Customer]:
    return list(
        session.exec(
            select(Customer)
            .where(visible_to(actor), col(Customer.merged_into_id).is_(None), col(Customer.draft).is_(False))
            .order_by(col(Customer.last_activity_at).desc().nulls_last(), col(Customer.id).desc())
            .limit(limit)
        ).all()
    )


def _contains(text: str) -> str:
    """A LIKE pattern matching `text` literally: % _ and the escape character lose their meaning."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_customers(*, session: Session, actor: Member, query: str, limit: int = 10,
                     include_drafts: bool = False) -> list[Customer]:
    """By name, company, phone digits or pinyin (exact key first, then fuzzy). Drafts (pasted, not yet
    confirmed) only when asked: a command naming a customer may mean the one on the card just pasted,
    a listing (查) shows real customers only.

    The term is cut to MAX_SEARCH_CHARS (no column is longer; a 100k-character term exceeded
    SQLite's LIKE pattern limit) and matched literally."""
    query = query.strip()[:MAX_SEARCH_CHARS]
    if not query:
        return []
    like = _contains(query)
    key = name_key(query)
    drafts = [] if include_drafts else [col(Customer.draft).is_(False)]
    conditions = [col(Customer.name).like(like, escape="\\"), col(Customer.company).like(like, escape="\\"),
                  col(Customer.email).like(like, escape="\\")]
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) >= 4:
        conditions.append(col(Customer.phone).like(f"%{digits}%"))
    if key:
        conditions.append(col(Customer.name_pinyin).like(_contains(pinyin_of(query)), escape="\\"))
    found = list(
        session.exec(
            select(Customer)
            .where(visible_to(actor), col(Customer.merged_into_id).is_(None), *drafts, or_(*conditions))
            .limit(limit)
        ).all()
    )
    if found or not key:
        return found
    candidates = session.exec(
        select(Customer).where(visible_to(actor), col(Customer.merged_into_id).is_(None), *drafts).limit(2000)
    ).all()
    scored = [(name_similarity(query, c.name), c) for c in candidates]
    return [c for score, c in sorted(scored, key=lambda s: -s[0]) if score >= FUZZY_NAME_THRESHOLD][:limit]


@dataclass
class DuplicateCheck:
    """Result of looking a new contact up before creating it."""

    same: Customer | None = None  # same phone/email or same exact name+company, visible to the actor
    taken: bool = False  # same phone/email but owned by someone the actor may not see (撞单)
    taken_by: Customer | None = None  # that customer: for the supervisors' alert, never shown to the actor
    likely: list[Customer] = field(default_factory=list)  # pinyin-similar name, same company


def check_duplicates(
    *,
    session: Session,
    actor: Member,
    name: str | None,
    company: str | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> DuplicateCheck:
    result = DuplicateCheck()
    ids = []
    if phone:
        ids.append(col(Customer.phone) == phone)
    if email:
        ids.append(col(Customer.email) == email.lower())
    if ids:
        for customer in session.exec(select(Customer).where(or_(*ids), col(Customer.merged_into_id).is_(None))).all():
            if can_see(actor, customer):
                result.same = customer
                return result
            result.taken = True
            result.taken_by = result.taken_by or customer
        if result.taken:
            return result
    if not name:
        return result
    key = name_key(name)
    mine = session.exec(
        select(Customer)
        .where(
            visible_to(actor),
            col(Customer.merged_into_id).is_(None),
            col(Customer.name_pinyin) != "",
        )
        .order_by(col(Customer.last_activity_at).desc().nulls_last())
        .limit(5000)
    ).all()
    for customer in mine:
        if customer.name == name.strip() and same_company(customer.company, company):
            result.same = customer
            return result
    for customer in mine:
        if (
            key
            and name_similarity(name, customer.name) >= FUZZY_NAME_THRESHOLD
            and same_company(customer.company, company)
        ):
            result.likely.append(customer)
    return result


def reassign_customer(
    *, session: Session, actor: Member, customer_id: int, new_owner: Member, at: datetime
) -> Customer:
    """Supervisor/admin hands a customer to another rep of the same team; the stale ladder and the
    new-lead clock restart for the new owner."""
    customer = get_customer(session=session, actor=actor, customer_id=customer_id, for_update=True)
    if actor.role not in ("supervisor", "admin") or not can_assign(actor, new_owner) or not new_owner.active:
        raise PermissionDenied("cannot reassign to that member")
    customer.owner_id = require_id(new_owner)
    customer.team_id = new_owner.team_id
    customer.assigned_at = at
    customer.last_activity_at = at
    customer.stale_rung = 0
    customer.stale_due_at = at
    customer.risk = None
    session.add(customer)
    return customer


def rename_customer(*, session: Session, actor: Member, customer_id: int, name: str, at: datetime) -> str:
    """Give a customer its real name (e.g. one filed as 未命名客户); returns the old name. A name
    that is, or holds, a phone or e-mail is refused (ValueError): contact data is no name."""
    customer = get_customer(session=session, actor=actor, customer_id=customer_id)
    new = " ".join(name.split())
    if not new or len(new) > 50 or customer_name(new) != new:
        raise ValueError("not a name")
    before, customer.name, customer.name_pinyin = customer.name, new, pinyin_of(new)
    session.add(customer)
    add_event(session=session, customer_id=require_id(customer), actor_id=actor.id, kind="renamed",
              summary=f"{actor.display_name} 把客户名从 {before} 改为 {new}", at=at)
    return before


@dataclass(frozen=True)
class StageChange:
    """What change_stage decided on the locked row."""

    before: str  # the customer's stage as committed when the decision was made
    refused: list[str] = field(default_factory=list)  # the rules' reasons (empty: not refused)
    changed: bool = False  # moved, and one stage_changed event recorded


def change_stage(*, session: Session, actor: Member, customer: Customer, stage: str, at: datetime,
                 check: Callable[[str], Sequence[str]] | None = None) -> StageChange:
    """Move the customer to `stage` and record it on the timeline, deciding on the row as it is now.

    The row is re-read FOR UPDATE (PostgreSQL: a second instance moving the same customer waits here
    for the first to commit, then sees its stage; SQLite: transactions begin IMMEDIATE, store/db.py,
    so the re-read is current). `check(current)` — the rules (store/stages.check_stage_change, as the
    caller applies them) — is evaluated against that fresh stage: its reasons refuse the move. A
    customer already at `stage` is left alone: no event, `changed` False (two instances confirming
    the same move record it, and hand it off, once). The ORM writes the column, so flush hooks on
    Customer see the change."""
    session.flush()  # this transaction's pending changes are written before the refresh re-reads the row
    session.refresh(customer, with_for_update=True)
    before = customer.stage
    refused = list(check(before)) if check is not None else []
    if refused:
        return StageChange(before=before, refused=refused)
    if before == stage:
        return StageChange(before=before)
    customer.stage = stage
    session.add(customer)
    add_event(session=session, customer_id=require_id(customer), actor_id=actor.id, kind="stage_changed",
              summary=f"阶段 {before} → {stage}", at=at)
    return StageChange(before=before, changed=True)


def due_customer_ids(*, session: Session, due_column: str, now: datetime, limit: int) -> list[int]:
    """Ids whose `due_column` (stale_due_at, lead_due_at: both indexed) has come, oldest first; a
    sweep's cost follows what is due, not the size of the table. Drafts are not due: nobody confirmed them
    yet (their first confirmed record makes them real, with the due time the record set)."""
    column = col(getattr(Customer, due_column))
    ids = session.exec(select(Customer.id).where(column <= now, col(Customer.draft).is_(False))
                       .order_by(column).limit(limit)).all()
    return [int(i) for i in ids if i is not None]


def touch_customer(*, session: Session, customer: Customer, when: datetime) -> None:
    customer.last_activity_at = when
    session.add(customer)


def update_customer(*, session: Session, actor: Member, customer_id: int, **changes: object) -> Customer:
    customer = get_customer(session=session, actor=actor, customer_id=customer_id)
    allowed = {"company", "phone", "email", "title", "stage", "product", "next_contact_at", "name"}
    for key, value in changes.items():
        if key not in allowed:
            raise ValueError(f"field {key} cannot be changed here")
        if value is not None:
            setattr(customer, key, value)
    if "name" in changes and changes["name"]:
        customer.name = customer_name(str(changes["name"]), phone=customer.phone, company=customer.company)
        customer.name_pinyin = pinyin_of(customer.name)
    session.add(customer)
    return customer


def snooze_customer(*, session: Session, customer: Customer, until: datetime) -> None:
    """暂缓: no stale-lead rung for this customer before `until` (scheduler/stale.py looks again then)."""
    customer.snoozed_until = until
    customer.stale_due_at = until
    session.add(customer)


def sync_amount(*, session: Session, customer: Customer) -> None:
    """Set `customer.amount_cny` to the customer's amount (store/quotes.customer_amount: the current
    catalog quote's total, else its newest confirmed record's amount): called wherever that can change
    (a confirm, a merge moving records, its undo), so the console sums a column."""
    session.flush()  # the records just moved or confirmed in this session are what the lookup must see
    customer.amount_cny = customer_amount(session=session, customer_id=require_id(customer))
    session.add(customer)
