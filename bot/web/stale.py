"""The stale list (/console/stale): customers on the stale ladder, with the stale alert card's actions
as forms — 暂缓 with a reason (the owner or a supervisor) and 转给 (a supervisor or admin) — through
the same store functions the card's buttons use (store/customers.snooze_customer, store/leads.reassign_lead)
and the same pushes (the new owner's lead card, the former owner told)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from aiohttp import web
from sqlmodel import Session, col, select

from bot.format import fmt_when, mask_contacts
from bot.leads.intake import push_lead_card
from bot.pipeline.push import push_to_member
from bot.safe_input import parse_id
from bot.web.keys import MEMBER, ConsoleApp
from bot.web.render import PREFIX, redirect
from store.console import member_names, stale_customers
from store.customers import get_customer, snooze_customer
from store.db import session_scope
from store.leads import LeadError, latest_touch, reassign_lead
from store.models import Customer, Member, Role
from store.permissions import PermissionDenied
from store.timeline import add_event

log = structlog.get_logger("genjin.web")
STALE_LIMIT = 100
RUNGS = {1: "已提醒销售", 2: "已提醒主管", 3: "高风险"}
NOTICES = {"snoozed": "已暂缓跟进提醒。", "transferred": "已转给新的负责人，对方会收到线索卡片。"}
MAX_REASON = 100


def routes(console: ConsoleApp) -> list[web.RouteDef]:
    return [
        web.get("/stale", partial(stale_list, console)),
        web.post("/stale/{id}/snooze", partial(snooze, console)),
        web.post("/stale/{id}/transfer", partial(transfer, console)),
    ]


def _manager(member: Member) -> bool:
    return member.role in (Role.SUPERVISOR, Role.ADMIN)


async def stale_list(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    now = console.clock()

    def load() -> dict[str, Any]:
        with Session(console.engine) as session:
            customers = stale_customers(session=session, actor=me, limit=STALE_LIMIT)
            names = member_names(session=session, ids=[c.owner_id for c in customers if c.owner_id is not None])
            # Whom a supervisor may hand a customer to: the active reps of its team (as the card's picker).
            teams = {c.team_id for c in customers}
            reps = session.exec(select(Member).where(col(Member.team_id).in_(teams or {-1}), col(Member.active),
                                                     col(Member.role) == Role.REP)
                                .order_by(col(Member.id))).all() if _manager(me) else []
            rows = [{
                "c": c, "owner": names.get(c.owner_id or 0, ""), "rung": RUNGS.get(min(c.stale_rung, 3), ""),
                "high": c.stale_rung >= 3 or c.risk == "high",
                "idle_days": (now - c.last_activity_at).days if c.last_activity_at else None,
                "snoozed": c.snoozed_until is not None and c.snoozed_until > now,
                "reps": [r for r in reps if r.team_id == c.team_id and r.id != c.owner_id],
            } for c in customers]
            return {"rows": rows}

    data = await console.db(load)
    notice = NOTICES.get(request.query.get("done", ""))
    return console.render(request, "stale.html", title="久未跟进", nav="stale", notice=notice,
                          manager=_manager(me), snooze_days=console.settings.pushes.snooze_days,
                          limit=STALE_LIMIT, **data)


def _refused(console: ConsoleApp, request: web.Request, status: int, text: str) -> web.Response:
    return console.message(request, status, "没有完成", text, link=PREFIX + "/stale", link_label="返回久未跟进列表")


async def snooze(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    form, refused = await console.checked_form(request)
    if refused is not None:
        return refused
    customer_id = parse_id(request.match_info["id"])
    reason = mask_contacts(" ".join(str(form.get("reason", "")).split()))[:MAX_REASON]  # to the timeline: masked
    if not reason:
        return _refused(console, request, 400, "请填写暂缓原因（如：客户出差）。")
    now = console.clock()
    until = now + timedelta(days=console.settings.pushes.snooze_days)
    tz = console.settings.tz

    def write() -> bool:
        with session_scope(console.engine) as session:
            try:
                customer = get_customer(session=session, actor=me, customer_id=customer_id or 0, for_update=True)
            except PermissionDenied:
                return False
            snooze_customer(session=session, customer=customer, until=until)
            add_event(session=session, at=now, customer_id=customer.id or 0, actor_id=me.id, kind="snoozed",
                      summary=f"暂缓提醒至 {fmt_when(until, tz)}：{reason}")
            return True

    if not await console.db(write):
        return _refused(console, request, 404, "客户不存在，或你没有权限操作。")
    log.info("console_snoozed", member_id=me.id, customer_id=customer_id)
    return redirect(f"{PREFIX}/stale?done=snoozed")


async def transfer(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    form, refused = await console.checked_form(request)
    if refused is not None:
        return refused
    if not _manager(me):
        return _refused(console, request, 403, "只有主管可以转给其他销售。")
    customer_id = parse_id(request.match_info["id"]) or 0
    member_id = parse_id(str(form.get("member", ""))) or 0
    now = console.clock()
    settings = console.settings

    def write() -> tuple[int, str]:
        with session_scope(console.engine) as session:
            member = session.get(Member, member_id)
            try:
                if member is None:
                    raise PermissionDenied("no such member")
                row = reassign_lead(session=session, actor=me, customer_id=customer_id, new_owner=member, now=now,
                                    due_hours=settings.pushes.new_lead_hours)
            except PermissionDenied:
                session.rollback()
                return 404, "客户不存在，或不能转给这位成员（需同一团队的在职销售，且客户在你的团队里）。"
            except LeadError as exc:
                session.rollback()
                return 400, str(exc)
            customer = session.get(Customer, customer_id)
            assert customer is not None
            push_lead_card(session=session, settings=settings, customer=customer,
                           touch=latest_touch(session=session, customer_id=customer_id), row=row, member=member,
                           now=now)
            _tell_former_owner(session, settings.enabled_platforms, me, customer, member, row.details,
                               row.id or 0, now)
            return 303, ""

    status, text = await console.db(write)
    if status != 303:
        return _refused(console, request, status, text)
    log.info("console_transferred", member_id=me.id, customer_id=customer_id)
    return redirect(f"{PREFIX}/stale?done=transferred")


def _tell_former_owner(session: Session, platforms: list[str], actor: Member, customer: Customer, member: Member,
                       details: dict[str, object], row_id: int, now: datetime) -> None:
    """As 转给 in chat: the former owner learns the customer is someone else's now (same key as the
    chat's notice, so one transfer is told once)."""
    previous = details.get("previous_owner_id")
    if not isinstance(previous, int) or previous in (member.id, actor.id):
        return
    former = session.get(Member, previous)
    if former is None:
        return
    moved = int(str(details.get("visits_moved") or 0))
    visits = f"，已预约的 {moved} 次拜访也一并转交" if moved else ""
    push_to_member(session=session, member=former, platforms=platforms, dedupe_key=f"handover:{row_id}:from",
                   text=f"【客户转交】{actor.display_name} 已把 {customer.name} 转给 {member.display_name}{visits}。",
                   customer_id=None, at=now)
