"""Marketing behaviour events (POST /api/events): recording, matching to customers, timeline rows.

An event names its person by phone, e-mail or the sender's external id. When a customer with one of
those exists the event goes on that customer's timeline at once; otherwise it waits (customer_id
None) and is matched when a customer with that phone or e-mail is created or updated, or a lead with
that external id arrives, whichever write path did it: the after-flush hook in store/contact_hooks.py
calls `match_waiting_events`, so no write path can forget it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, insert, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from store.leads import find_by_contact, lock_contact_keys
from store.models import Customer, LeadTouch, MarketingEvent, TimelineEvent
from store.scores import mark_score_dirty
from store.timeline import stored_summary
from store.upsert import insert_ignore

EVENT_TYPES: dict[str, str] = {
    "page_view": "浏览网页", "download": "下载资料", "webinar": "观看直播", "form_submit": "提交表单",
    "ad_click": "点击广告",
}
KIND_PREFIX = "mkt_"  # timeline kinds: mkt_page_view, mkt_download ...


@dataclass(frozen=True)
class EventRecord:
    """What the API stores for one event (validated by bot/leads/event_fields.py)."""

    event_id: str
    type: str
    occurred_at: datetime
    url: str | None = None
    title: str | None = None
    duration_seconds: int | None = None
    utm: dict[str, str] | None = None
    payload: dict[str, Any] | None = None
    phone: str | None = None
    email: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class Recorded:
    id: int | None  # None: a replay of an event already stored
    customer_id: int | None  # None: kept until the customer appears
    replayed: bool


def fmt_duration(seconds: int | None) -> str:
    """2分17秒, 1小时5分, 45秒."""
    if not seconds:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    if minutes:
        return f"{minutes}分{secs}秒" if secs else f"{minutes}分钟"
    return f"{secs}秒"


def _page(url: str | None, title: str | None) -> str:
    if title:
        return title
    if not url:
        return ""
    parts = urlsplit(url)
    return (parts.netloc + parts.path)[:80]


def event_summary(*, type: str, url: str | None, title: str | None, duration_seconds: int | None,
                  utm: dict[str, Any] | None, channel: str | None = None) -> str:
    """The timeline line a rep reads: 查看了官网页面「A产品」，停留2分17秒."""
    page = _page(url, title)
    stay = fmt_duration(duration_seconds)
    source = channel or (utm or {}).get("utm_source")
    if type == "page_view":
        text = f"查看了官网页面「{page}」" + (f"，停留{stay}" if stay else "")
    elif type == "download":
        text = f"下载了「{page}」"
    elif type == "webinar":
        text = f"观看了直播「{page}」" + (f"{stay}" if stay else "")
    elif type == "form_submit":
        text = f"提交了表单「{page}」"
    else:
        text = f"点击了广告「{page}」" if page else "点击了广告"
    return text + (f"（来源 {source}）" if source else "")


def _ref(source: str, event_id: str, row_id: int) -> dict[str, Any]:
    # The API call it came from: the source (its token) and the sender's event id.
    return {"source": source, "event_id": event_id, "marketing_event_id": row_id}


def find_event_customer(*, session: Session, source: str, phone: str | None, email: str | None,
                        external_id: str | None) -> Customer | None:
    """External id first (a lead the same source posted with that id), then phone, then e-mail."""
    if external_id:
        touch = session.exec(select(LeadTouch).where(col(LeadTouch.dedupe_key) == f"api:{source}:{external_id}")
                             ).first()
        if touch is not None and (customer := _live(session, touch.customer_id)) is not None:
            return customer
    return find_by_contact(session=session, phone=phone, email=email)


def _live(session: Session, customer_id: int) -> Customer | None:
    """The customer, or the one it was merged into."""
    customer = session.get(Customer, customer_id)
    for _ in range(5):
        if customer is None or customer.merged_into_id is None:
            return customer
        customer = session.get(Customer, customer.merged_into_id)
    return None


def record_marketing_event(*, session: Session, source: str, event: EventRecord, at: datetime) -> Recorded:
    """Store one event, idempotent on (source, event id): a replay writes nothing and reports the
    customer the first one went to. A matched event goes on the timeline at its own time.

    The phone and e-mail are locked first (PostgreSQL advisory locks, the ones lead intake takes),
    so an event and a lead for the same new person posted at the same instant cannot miss each other."""
    lock_contact_keys(session=session, keys=[k for k in (event.phone, event.email) if k])
    customer = find_event_customer(session=session, source=source, phone=event.phone, email=event.email,
                                   external_id=event.external_id)
    values = {
        "source": source, "event_id": event.event_id, "type": event.type, "occurred_at": event.occurred_at,
        "url": event.url, "title": event.title, "duration_seconds": event.duration_seconds, "utm": event.utm or {},
        "payload": event.payload or {}, "phone": event.phone, "email": event.email,
        "external_id": event.external_id, "customer_id": customer.id if customer is not None else None,
        "created_at": at,
    }
    row_id = insert_ignore(session, MarketingEvent, values, ["source", "event_id"])
    if row_id is None:
        seen = session.exec(select(MarketingEvent).where(
            col(MarketingEvent.source) == source, col(MarketingEvent.event_id) == event.event_id)).first()
        return Recorded(id=None, customer_id=seen.customer_id if seen is not None else None, replayed=True)
    if customer is not None and customer.id is not None:
        add_marketing_timeline(session.connection(), customer_id=customer.id, rows=[{**values, "id": row_id}])
        mark_score_dirty(session.connection(), customer_ids=[customer.id])
    return Recorded(id=row_id, customer_id=customer.id if customer is not None else None, replayed=False)


def add_marketing_timeline(conn: Connection, *, customer_id: int, rows: list[dict[str, Any]]) -> None:
    """Timeline rows for matched events (Core inserts: also called from inside a flush)."""
    if not rows:
        return
    conn.execute(insert(TimelineEvent), [
        {"customer_id": customer_id, "actor_id": None, "kind": KIND_PREFIX + r["type"],
         "summary": stored_summary(event_summary(type=r["type"], url=r["url"], title=r["title"],
                                                 duration_seconds=r["duration_seconds"], utm=r["utm"],
                                                 channel=(r.get("payload") or {}).get("channel"))),
         "ref": _ref(r["source"], r["event_id"], int(r["id"])), "created_at": r["occurred_at"]}
        for r in rows
    ])


_COLUMNS = ("id", "source", "event_id", "type", "occurred_at", "url", "title", "duration_seconds", "utm", "payload")


def match_waiting_events(conn: Connection, *, customer_id: int, phone: str | None = None, email: str | None = None,
                         source: str | None = None, external_id: str | None = None) -> int:
    """Give the waiting (unmatched) events with this phone, e-mail or (source, external id) to the
    customer. The UPDATE re-checks customer_id IS NULL, so of two transactions matching the same
    event only one gets it (and writes its timeline row). Returns how many were matched."""
    table = MarketingEvent.__table__  # type: ignore[attr-defined]
    keys: list[Any] = []
    if phone:
        keys.append(table.c.phone == phone)
    if email:
        keys.append(table.c.email == email.lower())
    if source and external_id:
        keys.append((table.c.source == source) & (table.c.external_id == external_id))
    if not keys:
        return 0
    ids = [int(i) for (i,) in conn.execute(sa_select(table.c.id).where(table.c.customer_id.is_(None), or_(*keys)))]
    if not ids:
        return 0
    won = [int(i) for (i,) in conn.execute(
        update(table).where(table.c.id.in_(ids), table.c.customer_id.is_(None))
        .values(customer_id=customer_id).returning(table.c.id))]
    if won:
        rows = conn.execute(sa_select(*[table.c[c] for c in _COLUMNS]).where(table.c.id.in_(won))).mappings().all()
        add_marketing_timeline(conn, customer_id=customer_id, rows=[dict(r) for r in rows])
    return len(won)


def events_since(*, session: Session, customer_id: int, since: datetime) -> list[MarketingEvent]:
    """The customer's events from `since` on (ix_marketingevent_customer_occurred), for scoring."""
    return list(session.exec(
        select(MarketingEvent).where(col(MarketingEvent.customer_id) == customer_id,
                                     col(MarketingEvent.occurred_at) >= since)
        .order_by(col(MarketingEvent.occurred_at))
    ).all())
