"""The console's read pages: my customers and drafts, the team pipeline, the customer 360."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aiohttp import web
from sqlmodel import Session

from bot.cards.scores import reason_lines
from bot.format import mask_email, mask_phone
from bot.safe_input import parse_id
from bot.web.keys import MEMBER, ConsoleApp
from bot.web.render import PREFIX
from store.console import (
    TIMELINE_SOURCES,
    PipelineFilter,
    customer_timeline,
    followup_origins,
    member_names,
    pipeline_customers,
    pipeline_grid,
    unconfirmed_followups,
    visible_members,
)
from store.customers import get_customer
from store.models import Member
from store.permissions import PermissionDenied
from store.stages import Stage

PIPELINE_LIMIT = 100
ALL_STAGES: tuple[str, ...] = tuple(Stage)


def routes(console: ConsoleApp) -> list[web.RouteDef]:
    return [
        web.get("/mine", partial(mine, console)),
        web.get("/pipeline", partial(pipeline, console)),
        web.get("/customers/{id}", partial(customer, console)),
    ]


def _row(c: Any, amount: int | None, owner: str = "") -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "company": c.company, "stage": c.stage, "amount": amount,
            "next_contact": c.next_contact_at, "stale": c.stale_rung > 0, "owner": owner}


async def mine(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]

    def load() -> dict[str, Any]:
        with Session(console.read_engine) as session:
            drafts = [{"id": f.id, "customer": c.name, "created": f.created_at, "tags": f.tags}
                      for f, c in unconfirmed_followups(session=session, actor=me)]
            rows = pipeline_customers(session=session, actor=me, flt=PipelineFilter(owner_id=me.id),
                                      limit=PIPELINE_LIMIT, order="recent")
            return {"drafts": drafts, "customers": [_row(r.customer, r.amount) for r in rows]}

    data = await console.db(load)
    return console.render(request, "mine.html", title="我的客户", nav="mine", list_title="我的客户", **data)


def _filter(request: web.Request, members: list[Member]) -> PipelineFilter:
    """Unknown values are dropped, not trusted: a rep id outside what the actor sees filters nothing extra
    (the store filters by visibility anyway)."""
    rep = parse_id(request.query.get("rep", ""))
    stage = request.query.get("stage") or None
    return PipelineFilter(
        owner_id=rep if rep is not None and any(m.id == rep for m in members) else None,
        stage=stage if stage in ALL_STAGES else None,
        channel=(request.query.get("channel") or None) and request.query["channel"][:64],
        product=(request.query.get("product") or None) and request.query["product"][:100],
    )


@dataclass
class GridRow:
    owner_id: int | None
    owner: str
    cells: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    amount: int = 0


async def pipeline(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]

    def load() -> dict[str, Any]:
        with Session(console.read_engine) as session:
            members = visible_members(session=session, actor=me)
            flt = _filter(request, members)
            cells = pipeline_grid(session=session, actor=me, flt=flt)
            names = member_names(session=session, ids=[c.owner_id for c in cells if c.owner_id is not None])
            rows: dict[int | None, GridRow] = {}
            for cell in cells:
                row = rows.setdefault(cell.owner_id, GridRow(cell.owner_id, names.get(cell.owner_id or 0, "公海")))
                row.count += cell.count
                row.amount += cell.amount
            by_key = {(c.owner_id, c.stage): c for c in cells}
            for row in rows.values():
                for stage in ALL_STAGES:
                    found = by_key.get((row.owner_id, stage))
                    row.cells.append({"stage": stage, "count": found.count if found else 0,
                                      "amount": found.amount if found else 0, "stale": found.stale if found else 0})
            listed = pipeline_customers(session=session, actor=me, flt=flt, limit=PIPELINE_LIMIT)
            owners = member_names(session=session, ids=[r.customer.owner_id for r in listed
                                                        if r.customer.owner_id is not None])
            customers = [_row(r.customer, r.amount, owners.get(r.customer.owner_id or 0, "公海")) for r in listed]
            return {"members": members, "flt": flt, "grid": sorted(rows.values(), key=lambda r: r.owner),
                    "customers": customers, "choices": _choices(console)}

    data = await console.db(load)
    return console.render(request, "pipeline.html", title="销售管道", nav="pipeline", stages=ALL_STAGES,
                          limit=PIPELINE_LIMIT, **data)


def _choices(console: ConsoleApp) -> dict[str, list[str]]:
    """What the channel and product filters offer: the configured channel names and catalog (no scan
    of the customers; a value outside them still filters when given in the URL)."""
    settings = console.settings
    return {"channels": sorted(set(settings.leads.channels.values())), "products": list(settings.products)}


def _source_of(kind: str) -> str:
    for name, kinds in TIMELINE_SOURCES.items():
        if any(kind.startswith(k) if k.endswith("_") else kind == k for k in kinds):
            return name
    return "其他"


def _origin(ref: dict[str, Any], origins: dict[int, int | None]) -> list[Any]:
    """Where an event came from: the follow-up record (its edit form) and the message it was made from,
    the lead touch, the visit or the merge. Ids only: what they hold is on their own pages."""
    links: list[tuple[str, str | None]] = []
    fid = ref.get("followup_id")
    if isinstance(fid, int):
        links.append((f"记录 #{fid}", f"{PREFIX}/followups/{fid}/edit"))
        inbound = origins.get(fid)
        if inbound:
            links.append((f"来自消息 #{inbound}", None))
    for key, label in (("inbound_id", "来自消息"), ("touch_id", "线索接入"), ("visit_id", "拜访"),
                       ("merge_id", "合并记录")):
        value = ref.get(key)
        if isinstance(value, int):
            links.append((f"{label} #{value}", None))
    if isinstance(ref.get("source"), str) and "touch_id" in ref:
        links.append((f"来源 {ref['source']}", None))
    if isinstance(ref.get("source"), str) and isinstance(ref.get("event_id"), str):
        # The API call it came from: POST /api/events by this source, with this event id.
        links.append((f"市场事件 {ref['source']}/{ref['event_id']}", None))
    return links


async def customer(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    customer_id = parse_id(request.match_info["id"])
    source = request.query.get("source") or None
    if source not in TIMELINE_SOURCES:
        source = None

    def load() -> dict[str, Any] | None:
        with Session(console.read_engine) as session:
            try:
                c = get_customer(session=session, actor=me, customer_id=customer_id or 0)
                events = customer_timeline(session=session, actor=me, customer_id=customer_id or 0, source=source)
            except PermissionDenied:
                return None
            fids = [int(e.ref["followup_id"]) for e in events if isinstance(e.ref.get("followup_id"), int)]
            origins = followup_origins(session=session, followup_ids=fids)
            actors = member_names(session=session, ids=[i for i in {e.actor_id for e in events} | {c.owner_id}
                                                        if i is not None])
            owner_view = me.id is not None and me.id == c.owner_id
            return {
                "c": c, "owner": actors.get(c.owner_id or 0, "公海"), "stale": c.stale_rung > 0,
                "amount": c.amount_cny,
                # Phones and e-mails in full for the owner only (a supervisor, an admin: masked).
                "phone": (c.phone or "—") if owner_view else mask_phone(c.phone),
                "email": (c.email or "—") if owner_view else mask_email(c.email),
                "score_lines": reason_lines(c.lead_score_reasons, limit=10),
                "events": [{"at": e.created_at, "source": _source_of(e.kind), "summary": e.summary,
                            "actor": actors.get(e.actor_id or 0, ""),
                            "origin": _origin(e.ref or {}, origins)} for e in events],
            }

    data = await console.db(load)
    if data is None:
        # Not found and not allowed look the same: an id says nothing about whether the customer exists.
        return console.message(request, 404, "找不到这位客户", "客户不存在，或你没有权限查看。",
                               link=PREFIX + "/", link_label="返回首页")
    return console.render(request, "customer.html", title=data["c"].name, nav="", sources=list(TIMELINE_SOURCES),
                          source=source, **data)

