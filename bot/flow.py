"""From an extraction to a stored follow-up and its confirmation card (shared by chat, voice and
the follow-up questions), including the duplicate check and the next-contact rule."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.cards.followup import build_duplicate_card, build_followup_card
from bot.config import STAGES
from bot.context import HandlerContext
from bot.extract import Extraction, TagRule, load_tag_rules
from bot.format import fmt_when, mask_contacts, mask_email, mask_phone
from bot.understanding.learning import team_weights
from bot.understanding.team_exemplars import exemplars_for_team
from store.conversations import set_conversation
from store.customers import check_duplicates, create_customer
from store.followups import create_followup
from store.members import supervisors_of
from store.models import Customer, FollowUp
from store.names import is_unnamed
from store.timeline import add_event, recent_events

TAKEN_REPLY = (
    "该客户（电话/邮箱相同）已由其他同事跟进，系统已通知主管协调（撞单）。为保护同事的客户资料，这里不显示对方的记录。"
)


@lru_cache(maxsize=8)
def tag_rules(path: Path | None) -> tuple[TagRule, ...]:
    return load_tag_rules(path)


def tag_weights(ctx: HandlerContext) -> dict[tuple[str, str], float]:
    """The acting member's team's learned keyword weights (bot/understanding/learning.py)."""
    return team_weights(session=ctx.session, team_id=ctx.member.team_id, rules=tag_rules(ctx.settings.tags_file),
                        now=ctx.now)


def team_exemplars(ctx: HandlerContext) -> dict[str, list[str]]:
    """The acting member's team's learned tag exemplars (bot/understanding/team_exemplars.py)."""
    return exemplars_for_team(session=ctx.session, team_id=ctx.member.team_id, at=ctx.now)


def sent_at(ctx: HandlerContext) -> datetime:
    """When the rep sent the message, in the team's zone: the reference time for relative dates.

    A message handled late (a retry, a backlog, a voice memo transcribed minutes later) must resolve
    "明天" against the day it was said, not the day the worker got to it. The inbox row's
    `received_at` is stamped when the platform delivered it; `ctx.now` stands in only for a row that
    has none yet (a message synthesised in-process)."""
    sent = ctx.inbound.received_at or ctx.now
    if sent.tzinfo is None:  # SQLite hands back naive UTC
        sent = sent.replace(tzinfo=UTC)
    return sent.astimezone(ctx.settings.tz)


def tag_names(ctx: HandlerContext) -> list[str]:
    return [r.name for r in tag_rules(ctx.settings.tags_file)]


def next_contact_problem(when: datetime, ctx: HandlerContext) -> str | None:
    """Next contact must be in the future and within the configured horizon."""
    limit = ctx.settings.next_contact_max_days
    if when <= ctx.now:
        return f"下次联系时间 {fmt_when(when, ctx.settings.tz)} 已经过去，请给一个未来 {limit} 天内的时间"
    if when > ctx.now + timedelta(days=limit):
        return f"下次联系时间 {fmt_when(when, ctx.settings.tz)} 超过 {limit} 天，请约在 {limit} 天之内"
    return None


def ext_to_data(ext: Extraction) -> dict[str, Any]:
    data = dataclasses.asdict(ext)
    data["tags"] = list(ext.tags)
    data["next_contact"] = ext.next_contact.isoformat() if ext.next_contact else None
    return data


def ext_from_data(data: dict[str, Any]) -> Extraction:
    values = dict(data)
    values["tags"] = tuple(values.get("tags") or ())
    nc = values.get("next_contact")
    values["next_contact"] = datetime.fromisoformat(nc) if nc else None
    return Extraction(**values)


def capture(
    ctx: HandlerContext,
    ext: Extraction,
    *,
    kind: str,
    text: str,
    transcript: str | None = None,
    source_inbound_id: int | None = None,
    warnings: Sequence[str] = (),
    understanding: dict[str, Any] | None = None,
) -> None:
    """Resolve the customer, then record; asks the rep when the customer is unknown or ambiguous.

    `warnings` (e.g. words two voice recognitions disagree on) ride in the draft, so they reach
    the card even when the rep is asked for the customer first."""
    draft: dict[str, Any] = {
        "ext": ext_to_data(ext),
        "kind": kind,
        "text": text,
        "transcript": transcript,
        "inbound_id": source_inbound_id or ctx.inbound.id,
        "warnings": list(warnings),
        "understanding": understanding,
    }
    if not ext.customer_name and not ext.phone and not ext.email:
        set_conversation(session=ctx.session, member_id=ctx.member.id or 0, state="await_customer", data=draft,
                         at=ctx.now)
        ctx.reply("这条记录是跟哪位客户的？请回复客户姓名（如：张伟 或 王总），或发送「取消」。")
        return
    dup = check_duplicates(
        session=ctx.session,
        actor=ctx.member,
        name=ext.customer_name,
        company=ext.company,
        phone=ext.phone,
        email=ext.email,
    )
    if dup.taken:
        _report_taken(ctx, ext)
        return
    if dup.same is not None:
        record(ctx, dup.same, draft, is_new=False)
        return
    if dup.likely:
        draft["candidates"] = [c.id for c in dup.likely[:3]]
        set_conversation(session=ctx.session, at=ctx.now, member_id=ctx.member.id or 0, state="dup_choice", data=draft)
        ctx.reply_card(build_duplicate_card(name=ext.customer_name or "", company=ext.company, candidates=dup.likely))
        return
    customer = new_customer_from(ctx, ext)
    record(ctx, customer, draft, is_new=True)


def new_customer_from(ctx: HandlerContext, ext: Extraction, name: str | None = None) -> Customer:
    customer = create_customer(
        session=ctx.session,
        at=ctx.now,
        actor=ctx.member,
        name=name or ext.customer_name or "",  # none: a placeholder, never the phone (store/names.py)
        company=ext.company,
        phone=ext.phone,
        email=ext.email,
        product=ext.product,
        # A customer new to genjin enters at the stage its first record shows (an existing deal
        # being onboarded); later moves go through the stage rules.
        stage=ext.stage_hint if ext.stage_hint in STAGES else STAGES[0],
        source_channel=f"{ctx.inbound.platform}:{'语音' if ctx.inbound.kind == 'voice' else '聊天'}",
    )
    return customer


def record(ctx: HandlerContext, customer: Customer, draft: dict[str, Any], *, is_new: bool) -> FollowUp:
    ext = ext_from_data(draft["ext"])
    warnings: list[str] = list(draft.get("warnings") or [])
    next_contact = ext.next_contact
    if next_contact is not None and (problem := next_contact_problem(next_contact, ctx)):
        warnings.append(problem + "，本条未设置下次联系")
        next_contact = None
    _fill_missing_contact_fields(customer, ext)
    if is_unnamed(customer.name):
        warnings.append(f"没有识别到客户姓名，暂记为「{customer.name}」。请发送「改名 #{customer.id} 客户姓名」补上")
    followup = create_followup(
        session=ctx.session,
        at=ctx.now,
        actor=ctx.member,
        customer_id=customer.id or 0,
        kind=draft["kind"],
        text=draft["text"],
        transcript=draft.get("transcript"),
        tags=list(ext.tags),
        amount_cny=ext.amount_cny,
        next_contact_at=next_contact,
        stage_hint=ext.stage_hint,
        source_inbound_id=draft.get("inbound_id"),
        understanding=draft.get("understanding"),
    )
    history = recent_events(session=ctx.session, actor=ctx.member, customer_id=customer.id or 0, limit=3)
    add_event(
        session=ctx.session,
        at=ctx.now,
        customer_id=customer.id or 0,
        actor_id=ctx.member.id,
        kind=f"followup_{draft['kind']}",
        summary=_summary(draft["text"], ext),
        ref={"followup_id": followup.id},
    )
    ctx.reply_card(
        build_followup_card(
            followup=followup,
            customer=customer,
            history=history,
            all_tags=tag_names(ctx),
            tz=ctx.settings.tz,
            next_contact_has_time=ext.next_contact_has_time,
            warnings=warnings,
            is_new_customer=is_new,
        )
    )
    return followup


def _fill_missing_contact_fields(customer: Customer, ext: Extraction) -> None:
    for field in ("company", "phone", "email", "product"):
        if not getattr(customer, field) and getattr(ext, field):
            setattr(customer, field, getattr(ext, field) if field != "email" else str(ext.email).lower())


def _summary(text: str, ext: Extraction) -> str:
    first = " ".join(mask_contacts(text).split())[:40]  # masked before the cut: no half phone survives it
    tags = f"［{'、'.join(ext.tags)}］" if ext.tags else ""
    return f"{tags}{first}{'…' if len(text) > 40 else ''}"


def _report_taken(ctx: HandlerContext, ext: Extraction) -> None:
    ctx.reply(TAKEN_REPLY)
    contact = mask_phone(ext.phone) if ext.phone else mask_email(ext.email)  # the other rep's customer
    for sup in supervisors_of(session=ctx.session, member=ctx.member):
        ctx.notify(
            sup.id or 0,
            text=f"【撞单提醒】{ctx.member.display_name} 提交的客户（{contact}）已有其他同事跟进，请协调归属。",
        )
