"""From an extraction to a stored follow-up and its confirmation card (shared by chat, voice and
the follow-up questions), including the duplicate check and the next-contact rule."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.cards.followup import build_duplicate_card, build_followup_card
from bot.cards.snippet import candidates_of, history_snippet
from bot.context import HandlerContext
from bot.extract import Extraction, tag_rules
from bot.format import fmt_when, mask_contacts
from bot.handlers.collision import alert_collision
from bot.handlers.promise_capture import note_promises
from bot.handlers.quotes import catalog_lines, propose_quote, quote_section
from bot.models import Card
from bot.understanding.learning import team_weights
from bot.understanding.team_exemplars import exemplars_for_team
from store.conversations import set_conversation
from store.customers import check_duplicates, create_customer, get_customer
from store.followups import confirmed_followups, create_followup, get_followup
from store.models import Customer, FollowUp, Visit
from store.names import is_unnamed
from store.permissions import PermissionDenied
from store.promises import promises_of_followup
from store.stages import PROGRESSION, Stage, check_stage_change
from store.timeline import add_event, snippet_candidates
from store.visits import mark_visit_answered, open_postvisit_prompt

TAKEN_REPLY = (
    "该客户（电话/邮箱相同）已由其他同事跟进，系统已通知主管协调（撞单）。为保护同事的客户资料，这里不显示对方的记录。"
)


def tag_weights(ctx: HandlerContext) -> dict[tuple[str, str], float]:
    """The acting member's team's learned keyword weights (bot/understanding/learning.py)."""
    return team_weights(session=ctx.session, team_id=ctx.member.team_id, rules=tag_rules(ctx.settings.tags_file),
                        now=ctx.now)


def console_url(ctx: HandlerContext) -> str | None:
    """Where card links point: the configured public address; in the sandbox the page's own origin
    (relative links); None (no links) on a platform when the address is not configured."""
    public = ctx.settings.console.public_url
    if public:
        return public
    return "" if ctx.inbound.platform == "sandbox" else None


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


def date_question(followup: FollowUp, ctx: HandlerContext) -> str | None:
    """A stated next contact outside the window stays on the record; the card asks about it until
    the rep taps 保留 or 改约 (never dropped silently)."""
    when = followup.next_contact_at
    if when is None or followup.next_contact_kept or followup.confirmed:
        return None
    limit = ctx.settings.next_contact_max_days
    shown = fmt_when(when, ctx.settings.tz, followup.next_contact_has_time)
    if when <= ctx.now:
        return f"下次联系 {shown} 已经过去：保留这个时间，还是改约？"
    if when > ctx.now + timedelta(days=limit):
        return f"下次联系 {shown} 超过 {limit} 天：客户这样约的就「保留」，否则「改约」"
    return None


def stage_refusal(ctx: HandlerContext, customer: Customer, target: str | None,
                  followup: FollowUp | None = None) -> list[str]:
    """Why 确认 may not move `customer` to `target` (empty: it may). The 阶段 command's gate — no
    skip without the evidence, same Chinese reasons — counting this record as evidence, and no step
    back by one tap: going back stays a deliberate 阶段 command."""
    if not target or target == customer.stage:
        return []
    evidence = confirmed_followups(session=ctx.session, customer_id=customer.id or 0)
    if followup is not None and all(f.id != followup.id for f in evidence):
        evidence.append(followup)
    missing = check_stage_change(customer.stage, target, evidence, ctx.settings.stage_evidence)
    if not missing and customer.stage in PROGRESSION and target in PROGRESSION \
            and PROGRESSION.index(Stage(target)) < PROGRESSION.index(Stage(customer.stage)):
        missing = [f"这是回退（{customer.stage} → {target}），确认不会回退阶段；"
                   f"确需回退请发送「阶段 #{customer.id} {target}」"]
    return missing


# The text names a meeting at the next-contact time: a visit, the customer coming over, a video or
# phone conference ("下周二上午来公司聊", "周四下午3点去拜访", "约了明天视频会").
_MEETING = re.compile(r"拜访|来公司|到公司|来我们公司|上门|见面|面谈|会面|开会|会议|视频会|电话会|线上会"
                      r"|腾讯会议|钉钉会议|过来聊|过去聊|当面")


def names_meeting(followup: FollowUp) -> bool:
    return bool(_MEETING.search(f"{followup.text} {followup.transcript or ''}"))


def offers_visit(ctx: HandlerContext, followup: FollowUp) -> bool:
    """安排拜访 is offered while the record names a meeting at a future next contact that has no
    scheduled visit yet."""
    return not followup.confirmed and can_book_visit(ctx, followup)


def can_book_visit(ctx: HandlerContext, followup: FollowUp) -> bool:
    """The record names a meeting at a future next contact with no visit scheduled at that time."""
    when = followup.next_contact_at
    if when is None or when <= ctx.now or not names_meeting(followup):
        return False
    booked = ctx.session.exec(
        select(Visit.id).where(col(Visit.customer_id) == followup.customer_id, col(Visit.scheduled_at) == when,
                               col(Visit.status) == "scheduled")
    ).first()
    return booked is None


def followup_card(ctx: HandlerContext, followup: FollowUp, customer: Customer, *,
                  warnings: Sequence[str] = ()) -> Card:
    """The confirmation card of a record, the same after every tap or reply."""
    rows = snippet_candidates(session=ctx.session, actor=ctx.member, customer_id=customer.id or 0)
    return build_followup_card(
        followup=followup,
        customer=customer,
        history=history_snippet(candidates_of(rows), now=ctx.now, exclude_followup_id=followup.id),
        all_tags=tag_names(ctx),
        tz=ctx.settings.tz,
        warnings=warnings,
        stage_refusal=stage_refusal(ctx, customer, followup.stage_hint, followup),
        date_question=date_question(followup, ctx),
        offer_visit=offers_visit(ctx, followup),
        in_group=ctx.inbound.chat is not None,
        console_url=console_url(ctx),
        quote=quote_section(ctx, followup),
        promises=promises_of_followup(session=ctx.session, followup_id=followup.id or 0),
    )


def reply_followup_card(ctx: HandlerContext, followup_id: int) -> None:
    followup, customer = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id)
    ctx.reply_card(followup_card(ctx, followup, customer))


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
    values["stage_hint"] = Stage(values["stage_hint"]) if values.get("stage_hint") else None
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
        "sent_at": sent_at(ctx).isoformat(),  # promises resolve against it even when asked for the customer
    }
    answering = postvisit_customer(ctx, ext)
    if answering is not None:  # the answer to a post-visit card: that visit's customer
        record(ctx, answering, draft, is_new=False)
        return
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
        ctx.reply(TAKEN_REPLY)
        alert_collision(ctx, dup.taken_by, phone=ext.phone, email=ext.email)
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


POSTVISIT_ANSWER_WINDOW = timedelta(hours=24)


def awaits_postvisit_answer(ctx: HandlerContext) -> bool:
    """A post-visit card is open: even a reply with no field we recognise is its answer."""
    since = ctx.now - POSTVISIT_ANSWER_WINDOW
    return open_postvisit_prompt(session=ctx.session, actor=ctx.member, since=since) is not None


def postvisit_customer(ctx: HandlerContext, ext: Extraction | None = None) -> Customer | None:
    """The customer of the rep's open post-visit card (scheduler/postvisit.py), when this message
    answers it: it names no one else (no phone or e-mail; no name, or that customer's name). The
    card counts as answered from here on."""
    visit = open_postvisit_prompt(session=ctx.session, actor=ctx.member, since=ctx.now - POSTVISIT_ANSWER_WINDOW)
    if visit is None:
        return None
    try:
        customer = get_customer(session=ctx.session, actor=ctx.member, customer_id=visit.customer_id)
    except PermissionDenied:
        return None
    if ext is not None:
        name = ext.customer_name
        if ext.phone or ext.email or (name and name not in customer.name and customer.name not in name):
            return None
    mark_visit_answered(session=ctx.session, visit_id=visit.id or 0, at=ctx.now)
    return customer


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
        # A customer new to genjin enters at the first stage; the stage its first record suggests is
        # applied by 确认 through the same gate as the 阶段 command (no skip without evidence).
        stage=Stage.FIRST_CONTACT,
        source_channel=f"{ctx.inbound.platform}:{'语音' if ctx.inbound.kind == 'voice' else '聊天'}",
        draft=True,  # until its first record is confirmed (丢弃 leaves nothing)
    )
    return customer


def _stage_hint_for(customer: Customer, hint: Stage | None) -> Stage | None:
    """初步接触 is what the extractor says when a text shows no evidence of more: for a customer whose
    history already put it further it says nothing, so it is no hint (and no suggested step back)."""
    if hint is Stage.FIRST_CONTACT and customer.stage not in (None, Stage.FIRST_CONTACT):
        return None
    return hint


def record(ctx: HandlerContext, customer: Customer, draft: dict[str, Any], *, is_new: bool) -> FollowUp:
    """Store the record unconfirmed and answer with its card (`is_new`: the customer was just made
    from it; the card shows [新客户] while the customer is a draft)."""
    ext = ext_from_data(draft["ext"])
    warnings: list[str] = list(draft.get("warnings") or [])
    next_contact = ext.next_contact  # outside the window it is kept and asked about (date_question)
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
        next_contact_has_time=ext.next_contact_has_time,
        stage_hint=_stage_hint_for(customer, ext.stage_hint),
        source_inbound_id=draft.get("inbound_id"),
        understanding=draft.get("understanding"),
    )
    propose_quote(ctx.session, followup, catalog_lines(ctx, draft["text"]), ctx.now)
    add_event(
        session=ctx.session,
        at=ctx.now,
        customer_id=customer.id or 0,
        actor_id=ctx.member.id,
        kind=f"followup_{draft['kind']}",
        summary=_summary(draft["text"], ext),
        ref={"followup_id": followup.id},
    )
    note_promises(ctx, followup, customer, draft.get("sent_at") or sent_at(ctx).isoformat())
    ctx.reply_card(followup_card(ctx, followup, customer, warnings=warnings))
    return followup


def _fill_missing_contact_fields(customer: Customer, ext: Extraction) -> None:
    for field in ("company", "phone", "email", "product"):
        if not getattr(customer, field) and getattr(ext, field):
            setattr(customer, field, getattr(ext, field) if field != "email" else str(ext.email).lower())


def _summary(text: str, ext: Extraction) -> str:
    first = " ".join(mask_contacts(text).split())[:40]  # masked before the cut: no half phone survives it
    tags = f"［{'、'.join(ext.tags)}］" if ext.tags else ""
    return f"{tags}{first}{'…' if len(text) > 40 else ''}"

