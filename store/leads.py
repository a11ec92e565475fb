"""Lead repository functions: duplicate lookup, touches, the assignment log, the public pool (公海).

Every owner change goes through `assign_lead`, which writes the log row (with its Chinese reason),
the timeline event and the new-lead clock together, so none of them can be forgotten.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from store.approvals import pending_approval
from store.customers import get_customer, lock_customer, reassign_customer
from store.exemptions import active_exemption
from store.models import Customer, LeadAssignment, LeadTouch, Member, Role, Team
from store.names import pinyin_of, same_company
from store.permissions import PermissionDenied, can_see
from store.stages import Stage
from store.timeline import add_event
from store.types import require_id
from store.visits import hand_over_visits

ASSIGNED_KINDS = ("auto", "claim", "reassign", "import")  # a rep got the lead (conversion counts these)
RETURN_KINDS = ("recycle", "release")  # a lead the rep gave back, or that was taken back for idling


class LeadError(Exception):
    """A lead operation refused for a reason the member should read (Chinese message)."""


# ---------------------------------------------------------------- duplicates and touches


def find_by_contact(*, session: Session, phone: str | None, email: str | None) -> Customer | None:
    """The oldest live customer with this phone, else with this e-mail (both already normalised)."""
    for column, value in ((Customer.phone, phone), (Customer.email, email)):
        if value:
            found = session.exec(
                select(Customer).where(col(column) == value, col(Customer.merged_into_id).is_(None))
                .order_by(col(Customer.id)).limit(1)
            ).first()
            if found is not None:
                return found
    return None


def find_lead_duplicate(
    *, session: Session, name: str, company: str | None, phone: str | None, email: str | None
) -> Customer | None:
    """Same phone or email, else the same name at the same named company. Unlike the chat check, a
    bare name never matches: two marketing leads called 张伟 without a company are two people."""
    found = find_by_contact(session=session, phone=phone, email=email.lower() if email else None)
    if found is not None:
        return found
    if not company:
        return None
    candidates = session.exec(
        select(Customer).where(col(Customer.name_pinyin) == pinyin_of(name), col(Customer.merged_into_id).is_(None))
        .order_by(col(Customer.id))
    ).all()
    return next((c for c in candidates if is_same_named_lead(c.name, c.company, name, company)), None)


def is_same_named_lead(name_a: str, company_a: str | None, name_b: str, company_b: str | None) -> bool:
    return bool(company_a and company_b) and name_a.strip() == name_b.strip() and same_company(company_a, company_b)


def lock_contact_keys(*, session: Session, keys: list[str]) -> None:
    """Transaction-scoped locks on PostgreSQL: on a phone/email, so two concurrent posts cannot both
    create the customer; on "lead-assignment", so two decisions cannot both take a rep's last slot
    or the same round-robin turn. SQLite needs none: its transactions begin IMMEDIATE (store/db.py)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        digest = int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": digest})


def find_touch(*, session: Session, dedupe_key: str) -> LeadTouch | None:
    return session.exec(select(LeadTouch).where(col(LeadTouch.dedupe_key) == dedupe_key)).first()


def existing_touch_keys(*, session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        found.update(k for k in session.exec(select(LeadTouch.dedupe_key).where(col(LeadTouch.dedupe_key).in_(chunk)))
                     if k)
    return found


FIELD_LABELS = {"company": "公司", "email": "邮箱", "phone": "电话", "title": "职位", "region": "区域",
                "industry": "行业", "product": "产品", "grade": "等级"}


def touch_summary(touch: LeadTouch, *, first: bool, filled: list[str] | None = None) -> str:
    what = touch.action or ("留资" if first else "再次留资")
    summary = f"通过{touch.channel}{what}" + (f"（活动：{touch.campaign}）" if touch.campaign else "")
    if not touch.channel_known:
        summary += "（未知渠道，已标记）"
    if filled:
        summary += "，补充了" + "、".join(FIELD_LABELS.get(f, f) for f in filled)
    return summary


def add_touch_event(
    *, session: Session, customer_id: int, touch: LeadTouch, first: bool, filled: list[str] | None = None
) -> None:
    add_event(session=session, customer_id=customer_id, kind="lead_in" if first else "lead_touch",
              summary=touch_summary(touch, first=first, filled=filled),
              ref={"touch_id": touch.id, "source": touch.source}, at=touch.created_at)


def previous_touches(
    *, session: Session, customer_id: int, before_id: int | None = None, limit: int = 3
) -> list[LeadTouch]:
    """The customer's latest touches, newest first; only those before `before_id` when given."""
    stmt = select(LeadTouch).where(col(LeadTouch.customer_id) == customer_id)
    if before_id is not None:
        stmt = stmt.where(col(LeadTouch.id) < before_id)
    return list(session.exec(stmt.order_by(col(LeadTouch.id).desc()).limit(limit)).all())


def latest_touch(*, session: Session, customer_id: int) -> LeadTouch | None:
    return session.exec(
        select(LeadTouch).where(col(LeadTouch.customer_id) == customer_id).order_by(col(LeadTouch.id).desc()).limit(1)
    ).first()


# ---------------------------------------------------------------- assignment


def set_owner(customer: Customer, member: Member | None, *, team_id: int, now: datetime,
              due_hours: float | None) -> None:
    """The owner fields of an assignment. The new-lead clock restarts (due_hours None: no clock, for
    a rep's own customers brought in from a spreadsheet): a rep is reminded to call, the supervisors
    are alerted about an unclaimed pool lead."""
    customer.owner_id = require_id(member) if member is not None else None
    customer.team_id = member.team_id if member is not None else team_id
    customer.assigned_at = now
    uncontacted = customer.first_contact_at is None
    clock = due_hours is not None and (uncontacted or member is None)
    customer.lead_due_at = now + timedelta(hours=due_hours) if clock and due_hours is not None else None
    customer.stale_rung = 0
    customer.risk = None
    if member is not None:
        customer.last_activity_at = now  # the stale ladder starts over for the new owner
        customer.stale_due_at = now
    else:
        customer.stale_due_at = None  # nobody to remind; the new-lead sweep alerts the supervisors


def assign_lead(
    *,
    session: Session,
    customer: Customer,
    member: Member | None,
    team_id: int,
    kind: str,
    reason: str,
    now: datetime,
    due_hours: float,
    actor: Member | None = None,
    rule: str | None = None,
    group: str | None = None,
    details: dict[str, Any] | None = None,
    previous_owner_id: int | None = None,
) -> LeadAssignment:
    """Give the lead to `member` (None: the pool) and record why (`previous_owner_id`: the owner
    before, when the caller has already changed it, as reassign_customer does). Upcoming visits the previous owner
    can no longer see follow the customer (store.visits.hand_over_visits); pushes already queued for
    the previous owner are cancelled by the sender, which checks the recipient at send time."""
    previous = previous_owner_id if previous_owner_id is not None else customer.owner_id
    set_owner(customer, member, team_id=team_id, now=now, due_hours=due_hours)
    session.add(customer)
    session.flush()
    details = dict(details or {})
    if previous is not None and previous != customer.owner_id:
        moved, cancelled = hand_over_visits(session=session, customer=customer, at=now,
                                            actor_id=actor.id if actor is not None else None)
        details.update(previous_owner_id=previous, visits_moved=len(moved), visits_cancelled=len(cancelled))
    row = LeadAssignment(
        customer_id=require_id(customer), kind=kind, member_id=customer.owner_id,
        actor_id=actor.id if actor is not None else None, rule=rule, group_name=group, reason=reason,
        details=details, created_at=now,
    )
    session.add(row)
    add_event(session=session, customer_id=require_id(customer), kind=f"lead_{kind}", at=now,
              actor_id=actor.id if actor is not None else None, summary=reason,
              ref={"member_id": customer.owner_id, "rule": rule})
    return row


def default_team_id(*, session: Session) -> int | None:
    """Where pool leads go when the rules name no team: the first team created."""
    return session.exec(select(Team.id).order_by(col(Team.id)).limit(1)).first()


def get_lead(*, session: Session, actor: Member, customer_id: int, for_update: bool = False) -> Customer:
    """A customer the actor may see, or a pool lead of the actor's team (which a rep may claim).
    `for_update`: read and hold the row for a check-then-write (store.customers.lock_customer)."""
    customer = lock_customer(session=session, customer_id=customer_id) if for_update else session.get(
        Customer, customer_id)
    if customer is None or customer.merged_into_id is not None or not actor.active:
        raise PermissionDenied("no such lead")
    if can_see(actor, customer) or (customer.owner_id is None and customer.team_id == actor.team_id):
        return customer
    raise PermissionDenied("lead not visible")


def claims_since(*, session: Session, member_id: int, since: datetime) -> int:
    return int(session.exec(
        select(func.count()).select_from(LeadAssignment).where(
            col(LeadAssignment.member_id) == member_id, col(LeadAssignment.kind) == "claim",
            col(LeadAssignment.created_at) >= since)
    ).one())


def local_midnight(now: datetime, tz: tzinfo) -> datetime:
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def lock_claims_of(*, session: Session, member_id: int) -> None:
    """Serialise one rep's pool claims, so two at once cannot both take the last slot of the daily
    cap: the rep's member row, locked FOR NO KEY UPDATE on PostgreSQL (it does not block the FOR KEY
    SHARE that inserting rows referencing the rep takes). SQLite: transactions run one at a time."""
    session.exec(select(Member.id).where(col(Member.id) == member_id).with_for_update(key_share=True)).first()


def claim_lead(
    *, session: Session, actor: Member, customer_id: int, now: datetime, daily_cap: int, tz: tzinfo, due_hours: float,
    cooling_days: int = 0,
) -> LeadAssignment:
    """Claim a pool lead. Atomic on N instances: the rep's claims are serialised (the cap) and the
    lead row is read under a lock, so of two reps claiming the same lead the second sees the first's
    owner and is told so. A lead the rep returned (or had recycled) within `cooling_days` is refused,
    and so is a lead whose assignment waits for an approval."""
    if actor.role == Role.REP:
        lock_claims_of(session=session, member_id=require_id(actor))
    locked = lock_customer(session=session, customer_id=customer_id)
    if (actor.role == Role.REP and locked is not None and locked.merged_into_id is None and actor.active
            and locked.team_id == actor.team_id and locked.owner_id not in (None, actor.id)):
        raise LeadError("这条线索已被其他同事认领。")  # it was in this rep's pool a moment ago
    customer = get_lead(session=session, actor=actor, customer_id=customer_id)
    if actor.role != Role.REP:
        raise LeadError("公海线索由销售认领；主管请用「转给 客户 成员」分配。")
    if customer.owner_id is not None:
        raise LeadError("这条线索已经是你的了。" if customer.owner_id == actor.id else "这条线索已被其他同事认领。")
    if pending_approval(session=session, customer_id=customer_id) is not None:
        raise LeadError("这条线索的分配正在等待审批，暂不能认领。")
    cooling = cooling_until(session=session, customer_id=customer_id, member_id=require_id(actor),
                            cooling_days=cooling_days, now=now)
    if cooling is not None:
        raise LeadError(cooling_message(cooling, tz))
    taken = claims_since(session=session, member_id=require_id(actor), since=local_midnight(now, tz))
    if taken >= daily_cap:
        raise LeadError(f"今天已认领 {taken} 条，达到每日上限 {daily_cap} 条，明天再来吧。")
    reason = f"{actor.display_name} 从公海认领（今日第 {taken + 1}/{daily_cap} 条）"
    return assign_lead(session=session, customer=customer, member=actor, team_id=actor.team_id, kind="claim",
                       reason=reason, now=now, due_hours=due_hours, actor=actor)


def cooling_until(*, session: Session, customer_id: int, member_id: int, cooling_days: int,
                  now: datetime) -> datetime | None:
    """When the member may claim this lead again, if they gave it back (or had it taken back) within
    the cooling period; None: no cooling applies."""
    if cooling_days <= 0:
        return None
    since = now - timedelta(days=cooling_days)
    rows = session.exec(select(LeadAssignment).where(
        col(LeadAssignment.customer_id) == customer_id, col(LeadAssignment.kind).in_(RETURN_KINDS),
        col(LeadAssignment.created_at) > since,
    ).order_by(col(LeadAssignment.created_at).desc())).all()
    for row in rows:
        if (row.details or {}).get("previous_owner_id") == member_id:
            return row.created_at + timedelta(days=cooling_days)
    return None


def cooling_message(until: datetime, tz: tzinfo) -> str:
    return f"这条线索是你退回公海的，冷静期内不能再次认领（{until.astimezone(tz):%m-%d %H:%M} 后可认领）。"


def release_lead(
    *, session: Session, actor: Member, customer_id: int, now: datetime, due_hours: float, why: str = ""
) -> LeadAssignment:
    customer = get_customer(session=session, actor=actor, customer_id=customer_id, for_update=True)
    if customer.owner_id is None:
        raise LeadError("这条线索已经在公海里了。")
    if customer.owner_id != actor.id and actor.role == Role.REP:
        raise PermissionDenied("only the owner releases")
    reason = f"{actor.display_name} 退回公海" + (f"：{why.strip()[:100]}" if why.strip() else "")
    return assign_lead(session=session, customer=customer, member=None, team_id=customer.team_id, kind="release",
                       reason=reason, now=now, due_hours=due_hours, actor=actor)


def reassign_lead(
    *, session: Session, actor: Member, customer_id: int, new_owner: Member, now: datetime, due_hours: float
) -> LeadAssignment:
    """A supervisor's 转给: the permission rules of store.customers.reassign_customer, plus the log."""
    before = get_customer(session=session, actor=actor, customer_id=customer_id, for_update=True).owner_id
    if before == new_owner.id:
        raise LeadError(f"这位客户已经由 {new_owner.display_name} 负责。")
    customer = reassign_customer(session=session, actor=actor, customer_id=customer_id, new_owner=new_owner, at=now)
    old = session.get(Member, before) if before is not None else None
    reason = f"{actor.display_name} 把线索从{old.display_name if old else '公海'}转给 {new_owner.display_name}"
    return assign_lead(session=session, customer=customer, member=new_owner, team_id=new_owner.team_id,
                       kind="reassign", reason=reason, now=now, due_hours=due_hours, actor=actor,
                       previous_owner_id=before)


def list_pool(*, session: Session, actor: Member, limit: int = 10) -> list[Customer]:
    stmt = select(Customer).where(col(Customer.owner_id).is_(None), col(Customer.merged_into_id).is_(None))
    if actor.role != Role.ADMIN:
        stmt = stmt.where(col(Customer.team_id) == actor.team_id)
    stmt = stmt.order_by(col(Customer.assigned_at).desc().nulls_last(), col(Customer.id).desc()).limit(limit)
    return list(session.exec(stmt).all())


def count_pool(*, session: Session, actor: Member) -> int:
    stmt = select(func.count()).select_from(Customer).where(
        col(Customer.owner_id).is_(None), col(Customer.merged_into_id).is_(None))
    if actor.role != Role.ADMIN:
        stmt = stmt.where(col(Customer.team_id) == actor.team_id)
    return int(session.exec(stmt).one())


def assignment_log(*, session: Session, actor: Member, customer_id: int, limit: int = 10) -> list[LeadAssignment]:
    get_lead(session=session, actor=actor, customer_id=customer_id)  # permission check
    return list(session.exec(
        select(LeadAssignment).where(col(LeadAssignment.customer_id) == customer_id)
        .order_by(col(LeadAssignment.id).desc()).limit(limit)
    ).all())


# ---------------------------------------------------------------- what the rules need to know


@dataclass
class RepStats:
    active: bool = True
    open_leads: int = 0  # assigned, not yet contacted, not closed
    assigned: int = 0  # leads given to the rep in the conversion window and contacted since
    converted: int = 0  # of those, now 已成交
    exempt_kind: str | None = None
    exempt_until: datetime | None = None


@dataclass
class AssignmentState:
    """A snapshot for the rules; `record` keeps it true while a batch (import) assigns many."""

    window_days: int
    reps: dict[int, RepStats] = field(default_factory=dict)
    last_by_group: dict[str, int] = field(default_factory=dict)  # round robin: who got the group's last lead
    group_counts: dict[str, dict[int, int]] = field(default_factory=dict)  # weighted: leads per rep in window

    def record(self, group: str, member_id: int) -> None:
        self.reps.setdefault(member_id, RepStats()).open_leads += 1
        self.last_by_group[group] = member_id
        counts = self.group_counts.setdefault(group, {})
        counts[member_id] = counts.get(member_id, 0) + 1


def load_assignment_state(
    *, session: Session, member_ids: list[int], groups: list[str], now: datetime, window_days: int,
    exemption_kinds: list[str],
) -> AssignmentState:
    state = AssignmentState(window_days=window_days)
    if not member_ids:
        return state
    since = now - timedelta(days=window_days)
    for m in session.exec(select(Member).where(col(Member.id).in_(member_ids))).all():
        stats = state.reps.setdefault(require_id(m), RepStats())
        stats.active = m.active
        for kind in exemption_kinds:
            if (ex := active_exemption(session=session, member_id=require_id(m), at=now, kind=kind)) is not None:
                stats.exempt_kind, stats.exempt_until = kind, ex.ends_at
                break
    open_rows = session.exec(
        select(Customer.owner_id, func.count()).where(
            col(Customer.owner_id).in_(member_ids), col(Customer.lead_received_at).is_not(None),
            col(Customer.first_contact_at).is_(None), col(Customer.merged_into_id).is_(None),
            col(Customer.stage).not_in([Stage.WON, Stage.LOST]),
        ).group_by(col(Customer.owner_id))
    ).all()
    for owner_id, count in open_rows:
        state.reps.setdefault(int(owner_id or 0), RepStats()).open_leads = int(count)
    given = session.exec(
        select(LeadAssignment.member_id, Customer.id, Customer.stage).join(
            Customer, col(Customer.id) == col(LeadAssignment.customer_id)
        ).where(
            col(LeadAssignment.member_id).in_(member_ids), col(LeadAssignment.kind).in_(ASSIGNED_KINDS),
            col(LeadAssignment.created_at) >= since, col(Customer.owner_id) == col(LeadAssignment.member_id),
            # Only leads the rep has worked: a burst of fresh leads must not dilute the rate that
            # decides who gets the next one.
            col(Customer.first_contact_at).is_not(None),
        ).distinct()
    ).all()
    for member_id, _customer_id, stage in given:
        stats = state.reps.setdefault(int(member_id or 0), RepStats())
        stats.assigned += 1
        stats.converted += stage == Stage.WON
    for group in groups:
        last = session.exec(
            select(LeadAssignment.member_id).where(col(LeadAssignment.group_name) == group,
                                                   col(LeadAssignment.kind) == "auto")
            .order_by(col(LeadAssignment.created_at).desc(), col(LeadAssignment.id).desc()).limit(1)
        ).first()
        if last is not None:
            state.last_by_group[group] = last
    if groups:
        counted = session.exec(
            select(LeadAssignment.group_name, LeadAssignment.member_id, func.count()).where(
                col(LeadAssignment.group_name).in_(groups), col(LeadAssignment.kind) == "auto",
                col(LeadAssignment.created_at) >= since,
            ).group_by(col(LeadAssignment.group_name), col(LeadAssignment.member_id))
        ).all()
        for group_name, member_id, count in counted:
            state.group_counts.setdefault(str(group_name), {})[int(member_id or 0)] = int(count)
    return state
