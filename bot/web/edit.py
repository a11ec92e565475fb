"""The record edit form: every field of a follow-up and its customer, checked server-side with the
parsers the chat uses (phone, amount) and the stage gate of 阶段, saved as Corrections exactly like
a fix on the card (store/followups.py fix_field, toggle_tag), then 确认 as on the card."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from sqlmodel import Session

from bot.config import Settings
from bot.extract import load_tag_rules
from bot.extract.amount import parse_amount
from bot.extract.phone import normalize_phone
from bot.playbook.handoffs import announce_stage_entry
from bot.safe_input import parse_id
from bot.web.keys import MEMBER, ConsoleApp
from bot.web.render import PREFIX, redirect
from store.customers import change_stage
from store.db import session_scope
from store.followups import confirm_followup, confirmed_followups, fix_field, get_followup, toggle_tag
from store.models import Customer, FollowUp, Member
from store.names import customer_name
from store.permissions import PermissionDenied
from store.stages import PROGRESSION, Stage, check_stage_change

log = structlog.get_logger("genjin.web.edit")

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,24}")
ALL_STAGES: tuple[str, ...] = tuple(Stage)


def stage_refusal(customer: Customer, target: str, evidence: list[FollowUp], settings: Settings) -> list[str]:
    """Why the form (its 确认) may not move `customer` to `target`: the same rule as the card's 确认
    (bot/handlers/flow.py stage_refusal) — the 阶段 command's gate, and no step back by one tap
    (going back stays a deliberate 阶段 command). `evidence` counts the record being edited."""
    if not target or target == customer.stage:
        return []
    missing = check_stage_change(customer.stage, target, evidence, settings.stage_evidence)
    if not missing and customer.stage in PROGRESSION and target in PROGRESSION \
            and PROGRESSION.index(Stage(target)) < PROGRESSION.index(Stage(customer.stage)):
        missing = [f"这是回退（{customer.stage} → {target}），确认不会回退阶段；"
                   f"确需回退请发送「阶段 #{customer.id} {target}」"]
    return missing


def routes(console: ConsoleApp) -> list[web.RouteDef]:
    return [
        web.get("/followups/{id}/edit", partial(edit_page, console)),
        web.post("/followups/{id}/edit", partial(save, console)),
        web.post("/followups/{id}/confirm", partial(confirm, console)),
    ]


@lru_cache(maxsize=8)
def tag_names(path: Path | None) -> tuple[str, ...]:
    return tuple(r.name for r in load_tag_rules(path))


def _local_input(value: datetime | None, settings: Settings) -> str:
    return value.astimezone(settings.tz).strftime("%Y-%m-%dT%H:%M") if value else ""


def current_values(followup: FollowUp, customer: Customer, settings: Settings) -> dict[str, Any]:
    return {"customer_name": customer.name, "company": customer.company or "", "phone": customer.phone or "",
            "email": customer.email or "", "product": customer.product or "",
            "amount": str(followup.amount_cny) if followup.amount_cny is not None else "",
            "next_contact": _local_input(followup.next_contact_at, settings),
            "stage": followup.stage_hint or customer.stage, "tags": list(followup.tags)}


@dataclass
class Checked:
    """The submitted form, each field parsed; `changes` holds only what differs, in fix_field's terms."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    changes: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


def check_form(form: Any, followup: FollowUp, customer: Customer, evidence: list[FollowUp], settings: Settings,
               now: datetime) -> Checked:
    text = {k: str(form.get(k, "")).strip() for k in
            ("customer_name", "company", "phone", "email", "product", "amount", "next_contact", "stage")}
    allowed = tag_names(settings.tags_file)
    tags = sorted({str(t) for t in form.getall("tags", []) if str(t) in allowed})
    checked = Checked(values={**text, "tags": tags}, tags=tags)
    before = current_values(followup, customer, settings)
    errors, changes = checked.errors, checked.changes

    name = " ".join(text["customer_name"].split())
    if not name or len(name) > 50 or customer_name(name) != name:
        errors["customer_name"] = "客户姓名必填，50 字以内，不能包含电话或邮箱"
    elif name != customer.name:
        changes["customer_name"] = name
    if len(text["company"]) > 200:
        errors["company"] = "公司名称最多 200 字"
    elif text["company"] and text["company"] != before["company"]:
        changes["company"] = text["company"]
    if text["phone"] and text["phone"] != before["phone"]:
        phone = normalize_phone(text["phone"][:40])
        if phone is None:
            errors["phone"] = "电话号码无法识别，请写手机号或带区号的座机号"
        elif phone != customer.phone:
            changes["phone"] = phone
    if text["email"] and text["email"].lower() != before["email"]:
        if len(text["email"]) > 200 or not _EMAIL.fullmatch(text["email"]):
            errors["email"] = "邮箱格式不正确"
        else:
            changes["email"] = text["email"].lower()
    if len(text["product"]) > 100:
        errors["product"] = "产品名称最多 100 字"
    elif text["product"] and text["product"] != before["product"]:
        changes["product"] = text["product"]
    amount = None
    if text["amount"] and text["amount"] != before["amount"]:
        amount = parse_amount(text["amount"][:30])
        if amount is None:
            errors["amount"] = "金额无法识别，请写如 50000 或 5万"
        elif amount != followup.amount_cny:
            changes["amount_cny"] = str(amount)
    if text["next_contact"] and text["next_contact"] != before["next_contact"]:
        try:
            when = datetime.fromisoformat(text["next_contact"][:16]).replace(tzinfo=settings.tz)
        except ValueError:
            errors["next_contact"] = "下次联系时间格式不正确"
        else:
            if when <= now:
                errors["next_contact"] = "下次联系时间已经过去，请选一个将来的时间"
            else:
                changes["next_contact_at"] = when.astimezone(now.tzinfo).isoformat()
    stage = text["stage"]
    if stage not in ALL_STAGES:
        errors["stage"] = f"没有「{stage[:16]}」这个阶段"
    elif stage != before["stage"]:
        if stage != customer.stage:
            # The gate of the 阶段 command, with this record (as it would be saved) counted as evidence.
            draft = FollowUp(customer_id=followup.customer_id, rep_id=followup.rep_id, text=followup.text,
                             transcript=followup.transcript, tags=tags,
                             amount_cny=amount if amount is not None else followup.amount_cny,
                             created_at=followup.created_at)
            missing = stage_refusal(customer, stage, [*evidence, draft], settings)
            if missing:
                errors["stage"] = f"不能从「{customer.stage}」改为「{stage}」：" + "；".join(missing)
        if "stage" not in errors:
            changes["stage_hint"] = stage
    return checked


def _load(console: ConsoleApp, me: Member, followup_id: int) -> dict[str, Any] | None:
    with Session(console.engine) as session:
        try:
            followup, customer = get_followup(session=session, actor=me, followup_id=followup_id)
        except PermissionDenied:
            return None
        return {"f": followup, "customer": customer, "text": followup.transcript or followup.text,
                "values": current_values(followup, customer, console.settings)}


def _render(console: ConsoleApp, request: web.Request, data: dict[str, Any], *, values: dict[str, Any],
            errors: dict[str, str] | None = None, notice: str | None = None, status: int = 200) -> web.Response:
    return console.render(request, "edit.html", status, title=f"记录 #{data['f'].id}", nav="", f=data["f"],
                          customer=data["customer"], text=data["text"], v=values, errors=errors or {},
                          notice=notice, stages=ALL_STAGES, products=console.settings.products,
                          all_tags=tag_names(console.settings.tags_file))


def _not_found(console: ConsoleApp, request: web.Request) -> web.Response:
    return console.message(request, 404, "找不到这条记录", "记录不存在，或你没有权限查看。", link=PREFIX + "/",
                           link_label="返回首页")


async def edit_page(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    followup_id = parse_id(request.match_info["id"])
    data = await console.db(lambda: _load(console, me, followup_id or 0))
    if data is None:
        return _not_found(console, request)
    notice = {"saved": "已保存修改。确认无误后点「确认」。"}.get(request.query.get("done", ""))
    return _render(console, request, data, values=data["values"], notice=notice)


async def save(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    followup_id = parse_id(request.match_info["id"]) or 0
    form, refused = await console.checked_form(request)
    if refused is not None:
        return refused

    def apply() -> tuple[str, dict[str, Any] | None, Checked | None]:
        now = console.clock()
        with session_scope(console.engine) as session:
            try:
                followup, customer = get_followup(session=session, actor=me, followup_id=followup_id, for_update=True)
            except PermissionDenied:
                return "missing", None, None
            if followup.confirmed:
                return "confirmed", None, None
            evidence = confirmed_followups(session=session, customer_id=customer.id or 0)
            checked = check_form(form, followup, customer, evidence, console.settings, now)
            if checked.errors:
                session.rollback()
                return "invalid", None, checked
            toggled = sorted(set(followup.tags) ^ set(checked.tags))
            for name, value in checked.changes.items():
                fix_field(session=session, actor=me, followup_id=followup_id, field=name, value=value, at=now)
            for tag in toggled:
                toggle_tag(session=session, actor=me, followup_id=followup_id, tag=tag, at=now)
            log.info("followup_edited", followup_id=followup_id, member_id=me.id, fields=sorted(checked.changes),
                     tags_changed=len(toggled))
            return "saved", None, checked

    outcome, _, checked = await console.db(apply)
    if outcome == "missing":
        return _not_found(console, request)
    data = await console.db(lambda: _load(console, me, followup_id))
    if data is None:
        return _not_found(console, request)
    if outcome == "confirmed":
        return _render(console, request, data, values=data["values"], notice="这条记录已确认，不能再修改。",
                       status=409)
    if outcome == "invalid" and checked is not None:
        return _render(console, request, data, values=checked.values, errors=checked.errors, status=422)
    if form.get("then") == "confirm":  # 确认 on the form: what is on the page is saved first
        return await confirmed_page(console, request, me, followup_id)
    return redirect(f"{PREFIX}/followups/{followup_id}/edit?done=saved")


def _confirm(console: ConsoleApp, me: Member, followup_id: int) -> str | None:
    """确认, as the card's button does: the record is saved, its next contact applied, and its suggested
    stage applied only when the 阶段 gate allows it (otherwise the reasons are shown). None: not visible."""
    now = console.clock()
    with session_scope(console.engine) as session:
        try:
            followup, customer, newly = confirm_followup(session=session, actor=me, followup_id=followup_id, at=now)
        except PermissionDenied:
            return None
        if not newly:
            return "这条记录已经确认过了。"
        message = f"已保存 {customer.name} 的跟进记录。"
        hint = followup.stage_hint
        if hint:
            evidence = confirmed_followups(session=session, customer_id=customer.id or 0)
            # Decided on the locked row (store/customers.change_stage), as the card's 确认 does.
            change = change_stage(session=session, actor=me, customer=customer, stage=hint, at=now,
                                  check=lambda _current: stage_refusal(customer, hint, evidence, console.settings))
            if change.refused:
                message += f"\n阶段建议「{hint}」未采用：" + "；".join(change.refused)
            elif change.changed:
                announce_stage_entry(session=session, settings=console.settings, customer=customer, at=now)
                message += f"\n阶段已更新：{change.before} → {hint}"
        log.info("followup_confirmed_on_form", followup_id=followup_id, member_id=me.id)
        return message


async def confirmed_page(console: ConsoleApp, request: web.Request, me: Member, followup_id: int) -> web.Response:
    message = await console.db(lambda: _confirm(console, me, followup_id))
    data = await console.db(lambda: _load(console, me, followup_id))
    if message is None or data is None:
        return _not_found(console, request)
    return _render(console, request, data, values=data["values"], notice=message)


async def confirm(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    followup_id = parse_id(request.match_info["id"]) or 0
    _form, refused = await console.checked_form(request)
    if refused is not None:
        return refused
    return await confirmed_page(console, request, me, followup_id)
