"""The rep's own book: the customers a memo most likely mentions, most likely first.

Likelihood is what a rep does after a visit: a memo is about a customer visited (or due to be
contacted) today or tomorrow, else one touched recently, else an open stale lead. The same order
decides who gets into Whisper's short prompt and which names the pinyin correction knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlmodel import Session, col, select

from store.models import Customer, Member, Visit
from store.permissions import visible_to

MAX_BOOK = 80  # enough for any prompt and a cheap correction pass; a big team's tail is noise
RECENT_DAYS = 14

# Priority classes, lower is likelier.
DUE_NOW = 0  # a visit or the next contact today or tomorrow
RECENT = 1  # touched in the last RECENT_DAYS days
STALE = 2  # an open lead or a stale customer the rep is being reminded about
OTHER = 3


@dataclass(frozen=True)
class BookEntry:
    name: str
    company: str | None
    priority: int
    last_touch: datetime | None = None


def rank_entries(entries: Sequence[BookEntry]) -> list[BookEntry]:
    """Priority class first, then the most recently touched; stable for equal keys."""
    epoch = datetime.min.replace(tzinfo=None)

    def key(e: BookEntry) -> tuple[int, float]:
        touch = e.last_touch.replace(tzinfo=None) if e.last_touch else epoch
        return e.priority, -(touch - epoch).total_seconds()

    return sorted(entries, key=key)


def _priority(customer: Customer, visit_due: bool, now: datetime, tz: tzinfo) -> int:
    today = now.astimezone(tz).date()
    due_days = {today, today + timedelta(days=1)}
    if visit_due or (customer.next_contact_at and customer.next_contact_at.astimezone(tz).date() in due_days):
        return DUE_NOW
    if customer.last_activity_at and customer.last_activity_at >= now - timedelta(days=RECENT_DAYS):
        return RECENT
    lead_open = customer.lead_due_at is not None and customer.first_contact_at is None
    if customer.stale_rung > 0 or lead_open:
        return STALE
    return OTHER


def load_book(*, session: Session, actor: Member, now: datetime, tz: tzinfo, limit: int = MAX_BOOK) -> list[BookEntry]:
    """The customers `actor` may see, ranked by how likely a memo sent at `now` is about them."""
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    visiting = set(
        session.exec(
            select(Visit.customer_id).where(
                col(Visit.rep_id) == actor.id,
                col(Visit.status) == "scheduled",
                col(Visit.scheduled_at) >= today,
                col(Visit.scheduled_at) < today + timedelta(days=2),
            )
        ).all()
    )
    live = (visible_to(actor), col(Customer.merged_into_id).is_(None))
    customers: list[Customer] = []
    if visiting:
        customers += session.exec(select(Customer).where(*live, col(Customer.id).in_(visiting))).all()
    customers += session.exec(
        select(Customer)
        .where(*live, col(Customer.id).not_in(visiting) if visiting else True)
        # Own customers first for a supervisor, then the freshest; the cap bounds a big team.
        .order_by(col(Customer.owner_id) != actor.id, col(Customer.last_activity_at).desc().nulls_last())
        .limit(limit * 3)
    ).all()
    entries = [
        BookEntry(c.name, c.company, _priority(c, c.id in visiting, now, tz), c.last_activity_at) for c in customers
    ]
    return rank_entries(entries)[:limit]


def load_team_prompt_book(*, session: Session, actor: Member, now: datetime, tz: tzinfo,
                          limit: int = MAX_BOOK) -> list[BookEntry]:
    """The team's customers, ranked like a book: the recogniser's prompt for a rep whose own book is
    empty (a new rep is handed the team's leads and visits them with colleagues).

    For the Whisper prompt only, never for correction, matching or anything shown: a prompt makes
    the recogniser spell a name it heard the team's way, while a colleague's customer never enters a
    card unless the rep said it. Inactive members get nothing, like visible_to.
    """
    if not actor.active:
        return []
    customers = session.exec(
        select(Customer)
        .where(col(Customer.team_id) == actor.team_id, col(Customer.merged_into_id).is_(None))
        .order_by(col(Customer.last_activity_at).desc().nulls_last())
        .limit(limit * 3)
    ).all()
    entries = [BookEntry(c.name, c.company, _priority(c, False, now, tz), c.last_activity_at) for c in customers]
    return rank_entries(entries)[:limit]
