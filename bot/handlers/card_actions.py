"""on_card_action: taps on card buttons and tag toggles (确认, tags, duplicate choices)."""

from __future__ import annotations

from datetime import datetime

from bot.cards.followup import build_followup_card
from bot.context import HandlerContext
from bot.handlers.conversation import finish_new_customer
from bot.handlers.flow import ext_from_data, new_customer_from, next_contact_problem, record, tag_names
from bot.router import Router
from bot.safe_input import parse_bounded_int, parse_id
from store.conversations import clear_conversation, get_conversation
from store.customers import change_stage, get_customer
from store.followups import confirm_followup, confirmed_followups, fix_field, get_followup, toggle_tag
from store.permissions import PermissionDenied
from store.stages import check_stage_change
from store.timeline import recent_events

router = Router("card_actions")


@router.on(lambda ctx: ctx.inbound.kind == "card_action")
def on_card_action(ctx: HandlerContext) -> None:
    action = ctx.text
    verb, _, rest = action.partition(":")
    try:
        if verb == "confirm" and (followup_id := parse_id(rest)) is not None:
            _on_confirm(ctx, followup_id)
        elif verb == "tag":
            fid, _, tag = rest.partition(":")
            followup_id = parse_id(fid)
            if followup_id is None or tag not in tag_names(ctx):
                raise ValueError(action)
            _on_tag(ctx, followup_id, tag)
        elif verb == "fix":
            fid, _, index_text = rest.partition(":")
            followup_id, index = parse_id(fid), parse_bounded_int(index_text, low=0, high=999)
            if followup_id is None or index is None:
                raise ValueError(action)
            _on_fix(ctx, followup_id, index)
        elif verb in ("dup_use", "dup_new"):
            _on_duplicate_choice(ctx, parse_id(rest))
        else:
            raise ValueError(action)
    except PermissionDenied:
        ctx.reply("这张卡片对应的记录不存在，或你没有权限操作。")
    except ValueError:
        ctx.reply("这个按钮已失效，请重新发送消息。")


def _card_for(ctx: HandlerContext, followup_id: int) -> None:
    followup, customer = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id)
    history = recent_events(session=ctx.session, actor=ctx.member, customer_id=customer.id or 0, limit=3)
    ctx.reply_card(
        build_followup_card(
            followup=followup, customer=customer, history=history, all_tags=tag_names(ctx), tz=ctx.settings.tz
        )
    )


def _on_tag(ctx: HandlerContext, followup_id: int, tag: str) -> None:
    followup, _ = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id)
    if followup.confirmed:
        ctx.reply("这条记录已确认，标签不能再改。")
        return
    toggle_tag(session=ctx.session, at=ctx.now, actor=ctx.member, followup_id=followup_id, tag=tag)
    _card_for(ctx, followup_id)


def _on_fix(ctx: HandlerContext, followup_id: int, index: int) -> None:
    """The rep chose an alternative reading offered on the card: apply it, stored as a correction."""
    followup, _ = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id)
    if followup.confirmed:
        ctx.reply("这条记录已确认，不能再改。")
        return
    heard = dict(followup.understanding or {})
    alternatives = list(heard.get("alternatives") or [])
    if index >= len(alternatives):
        raise ValueError("no such alternative")
    chosen = alternatives.pop(index)
    if chosen["field"] == "next_contact_at":
        # The other reading of a date obeys the same rule as ours: future, within the horizon.
        problem = next_contact_problem(datetime.fromisoformat(chosen["value"]), ctx)
        if problem:
            ctx.reply(problem + "，未采用。")
            return
    fix_field(session=ctx.session, at=ctx.now, actor=ctx.member, followup_id=followup_id,
              field=chosen["field"], value=chosen["value"])
    followup.understanding = {**heard, "alternatives": alternatives}  # reassign: JSON is not tracked in place
    ctx.session.add(followup)
    _card_for(ctx, followup_id)


def _on_confirm(ctx: HandlerContext, followup_id: int) -> None:
    followup, customer, newly = confirm_followup(
        session=ctx.session, at=ctx.now, actor=ctx.member, followup_id=followup_id
    )
    if not newly:
        ctx.reply("这条记录已经确认过了。")
        return
    message = f"已保存 {customer.name} 的跟进记录。"
    hint = followup.stage_hint
    if hint and hint != customer.stage:
        evidence = confirmed_followups(session=ctx.session, customer_id=customer.id or 0)
        missing = check_stage_change(customer.stage, hint, evidence, ctx.settings.stage_evidence)
        if missing:
            message += f"\n阶段建议「{hint}」未采用：" + "；".join(missing)
        else:
            before = change_stage(session=ctx.session, actor=ctx.member, customer=customer, stage=hint, at=ctx.now)
            message += f"\n阶段已更新：{before} → {hint}"
    ctx.reply(message)


def _on_duplicate_choice(ctx: HandlerContext, customer_id: int | None) -> None:
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    if conv is None or conv.state != "dup_choice":
        raise ValueError("no pending duplicate choice")
    data = conv.data
    if customer_id is not None and customer_id not in data.get("candidates", []):
        raise ValueError("not a candidate")
    clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    if "entry" in data:  # from the 新客户 questions
        if customer_id is None:
            finish_new_customer(ctx, data["entry"], force_new=True)
        else:
            ctx.reply(f"好的，沿用已有客户 #{customer_id}，未新建。")
        return
    if customer_id is None:
        customer = new_customer_from(ctx, ext_from_data(data["ext"]))
        record(ctx, customer, data, is_new=True)
    else:
        record(ctx, get_customer(session=ctx.session, actor=ctx.member, customer_id=customer_id), data, is_new=False)
