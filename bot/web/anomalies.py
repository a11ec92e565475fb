"""/console/anomalies: open anomaly review items with the card's actions as forms (没问题 /
退回给销售 with an optional note for the rep). A supervisor sees and reviews the team's, an admin
all; a rep sees only their own, without the actions (store/anomalies.py filters)."""

from __future__ import annotations

from functools import partial
from typing import Any

import structlog
from aiohttp import web
from sqlmodel import Session

from bot.anomalies.review import apply_review
from bot.cards.anomalies import KIND_LABELS
from bot.safe_input import parse_id
from bot.web.keys import MEMBER, ConsoleApp
from bot.web.render import PREFIX, redirect
from store.anomalies import AlreadyReviewed, anomaly_items, list_anomalies
from store.console import member_names
from store.db import session_scope
from store.models import AnomalyStatus, Member, Role
from store.permissions import PermissionDenied
from store.privacy import mask_contacts

log = structlog.get_logger("genjin.web.anomalies")
SHOWN = (AnomalyStatus.OPEN, AnomalyStatus.RETURNED)
STATUS_TEXT = {"open": "待复核", "returned": "已退回", "ok": "没问题", "fixed": "已改正"}
DECISIONS = {"ok": AnomalyStatus.OK, "return": AnomalyStatus.RETURNED}


def routes(console: ConsoleApp) -> list[web.RouteDef]:
    return [
        web.get("/anomalies", partial(anomalies_page, console)),
        web.post("/anomalies/{id}", partial(review, console)),
    ]


def _load(console: ConsoleApp, me: Member) -> list[dict[str, Any]]:
    with Session(console.engine) as session:
        rows = list_anomalies(session=session, actor=me, statuses=SHOWN)
        items = anomaly_items(session=session, anomaly_ids=[a.id or 0 for a in rows])
        names = member_names(session=session, ids=[a.rep_id for a in rows])
        out = []
        for a in rows:
            mine = [i for i in items if i.anomaly_id == a.id]
            ids = [i.customer_id for i in mine] + [a.customer_id]
            customers = sorted({c for c in ids if c is not None})
            out.append({"id": a.id, "kind": KIND_LABELS.get(a.kind, a.kind), "rep": names.get(a.rep_id, ""),
                        "summary": a.summary, "status": STATUS_TEXT.get(a.status, a.status), "open": a.status,
                        "at": a.created_at, "reason": a.reason,
                        "records": sum(1 for i in mine if i.followup_id), "customers": customers[:20]})
        return out


async def anomalies_page(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    rows = await console.db(lambda: _load(console, me))
    return console.render(request, "anomalies.html", title="数据异常", nav="anomalies", rows=rows,
                          reviewer=me.role in (Role.SUPERVISOR, Role.ADMIN), done=request.query.get("done", ""))


def _review(console: ConsoleApp, me: Member, anomaly_id: int, decision: str, reason: str) -> str:
    with session_scope(console.engine) as session:
        try:
            apply_review(session=session, settings=console.settings, actor=me, anomaly_id=anomaly_id,
                         decision=decision, reason=reason or None, console_url=console.settings.console.public_url,
                         at=console.clock())
        except PermissionDenied:
            return "denied"
        except AlreadyReviewed:
            return "already"
    log.info("anomaly_reviewed_on_console", anomaly_id=anomaly_id, member_id=me.id, decision=decision)
    return "done"


async def review(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    anomaly_id = parse_id(request.match_info["id"])
    form, refused = await console.checked_form(request)
    if refused is not None:
        return refused
    decision = DECISIONS.get(str(form.get("action", "")))
    if anomaly_id is None or decision is None:
        return console.message(request, 400, "请求无效", "没有这个操作。", link=PREFIX + "/anomalies",
                               link_label="返回异常列表")
    reason = " ".join(mask_contacts(str(form.get("reason", ""))).split())[:200]  # goes to the rep and the row
    outcome = await console.db(lambda: _review(console, me, anomaly_id, decision, reason))
    if outcome == "denied":
        return console.message(request, 404, "找不到这条异常", "这条异常不存在，或你没有权限处理。",
                               link=PREFIX + "/anomalies", link_label="返回异常列表")
    if outcome == "already":
        return console.message(request, 409, "已经处理过了", "这条异常已由他人处理。", link=PREFIX + "/anomalies",
                               link_label="返回异常列表")
    return redirect(f"{PREFIX}/anomalies?done={'ok' if decision == AnomalyStatus.OK else 'returned'}")
