"""on_card_action: taps on card buttons and tag toggles (确认, 丢弃, tags, 保留/改约, 安排拜访,
alternative readings, duplicate choices)."""

from __future__ import annotations

from bot.context import HandlerContext
from bot.format import fmt_when, mask_contacts
from bot.handlers.conversation import finish_new_customer
from bot.handlers.flow import (
    can_book_visit,
    ext_from_data,
    names_meeting,
    new_customer_from,
    record,
    reply_followup_card,
    stage_refusal,
    tag_names,
)
from bot.handlers.quotes import pick_product, use_amount
from bot.playbook.handoffs import announce_stage_entry
from bot.router import Router
from bot.safe_input import parse_bounded_int, parse_id
from store.conversations import clear_conversation, get_conversation, set_conversation
from store.customers import change_stage, get_customer
from store.followups import confirm_followup, discard_followup, fix_field, get_followup, toggle_tag
from store.models import Customer, FollowUp
from store.permissions import PermissionDenied
from store.visits import schedule_visit

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
        elif verb == "quote_pick":
            fid, _, key = rest.partition(":")
            followup_id = parse_id(fid)
            if followup_id is None or "|" not in key:
                raise ValueError(action)
            _on_quote_pick(ctx, followup_id, key)
        elif verb in _RECORD_VERBS and (followup_id := parse_id(rest)) is not None:
            _RECORD_VERBS[verb](ctx, followup_id)
        elif verb in ("dup_use", "dup_new"):
            _on_duplicate_choice(ctx, parse_id(rest))
        else:
            raise ValueError(action)
    except PermissionDenied:
        ctx.reply("这张卡片对应的记录不存在，或你没有权限操作。")
    except ValueError:
        ctx.reply("这个按钮已失效，请重新发送消息。")


def _card_for(ctx: HandlerContext, followup_id: int) -> None:
    reply_followup_card(ctx, followup_id)


def _on_tag(ctx: HandlerContext, followup_id: int, tag: str) -> None:
    followup, _ = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id, for_update=True)
    if followup.confirmed:
        ctx.reply("这条记录已确认，标签不能再改。")
        return
    toggle_tag(session=ctx.session, at=ctx.now, actor=ctx.member, followup_id=followup_id, tag=tag)
    _card_for(ctx, followup_id)


def _on_fix(ctx: HandlerContext, followup_id: int, index: int) -> None:
    """The rep chose an alternative reading offered on the card: apply it, stored as a correction."""
    followup, _ = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id, for_update=True)
    if followup.confirmed:
        ctx.reply("这条记录已确认，不能再改。")
        return
    heard = dict(followup.understanding or {})
    alternatives = list(heard.get("alternatives") or [])
    if index >= len(alternatives):
        raise ValueError("no such alternative")
    chosen = alternatives.pop(index)
    if chosen["field"] == "next_contact_at":
        # The other reading of a date is treated like ours: a reading outside the window is applied
        # and asked about on the card (保留 / 改约), never refused or dropped.
        followup.next_contact_kept = False
    fix_field(session=ctx.session, at=ctx.now, actor=ctx.member, followup_id=followup_id,
              field=chosen["field"], value=chosen["value"])
    followup.understanding = {**heard, "alternatives": alternatives}  # reassign: JSON is not tracked in place
    ctx.session.add(followup)
    _card_for(ctx, followup_id)


def _on_confirm(ctx: HandlerContext, followup_id: int) -> None:
    _, before = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id)
    was_draft = before.draft
    followup, customer, newly = confirm_followup(
        session=ctx.session, at=ctx.now, actor=ctx.member, followup_id=followup_id
    )
    if not newly:
        ctx.reply("这条记录已经确认过了。")
        return
    message = f"已保存 {customer.name} 的跟进记录。" + ("（新客户已建档）" if was_draft else "")
    hint = followup.stage_hint
    if hint:
        # The 阶段 command's gate, this record counting as evidence; no skip and no step back by one tap.
        # Decided by change_stage on the locked row: another instance may have just moved the customer
        # (already there: nothing to say, no second event or hand-off).
        change = change_stage(session=ctx.session, actor=ctx.member, customer=customer, stage=hint, at=ctx.now,
                              check=lambda _current: stage_refusal(ctx, customer, hint))
        if change.refused:
            message += f"\n阶段建议「{hint}」未采用：" + "；".join(change.refused)
        elif change.changed:
            announce_stage_entry(session=ctx.session, settings=ctx.settings, customer=customer, at=ctx.now)
            message += f"\n阶段已更新：{change.before} → {hint}"
    ctx.reply(message)


def _unconfirmed(ctx: HandlerContext, followup_id: int) -> bool:
    """The record is still a draft. Read locked (for_update), like every tap that checks `confirmed`
    before changing a draft: a 确认 handled by another instance at the same moment is either seen
    here or waits for this tap's change, never confirms a record this tap then changes or deletes."""
    followup, _ = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id, for_update=True)
    if followup.confirmed:
        ctx.reply("这条记录已确认，不能再改。")
        return False
    return True


def _on_discard(ctx: HandlerContext, followup_id: int) -> None:
    """丢弃: the draft record goes, and its customer too when nothing else made it."""
    if not _unconfirmed(ctx, followup_id):
        return
    customer, removed = discard_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id)
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    if conv is not None and conv.data.get("followup_id") == followup_id:
        clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    ctx.reply(f"已丢弃这条记录，未新建客户 {customer.name}。" if removed
              else f"已丢弃这条记录，{customer.name} 的客户档案未改动。")


def _on_keep_date(ctx: HandlerContext, followup_id: int) -> None:
    """保留: the customer did say that date; the card stops asking."""
    if not _unconfirmed(ctx, followup_id):
        return
    followup, _ = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id)
    followup.next_contact_kept = True
    ctx.session.add(followup)
    _card_for(ctx, followup_id)


def _on_redate(ctx: HandlerContext, followup_id: int) -> None:
    """改约: one reply with the new time (bot/handlers/card_edit.py answers it)."""
    if not _unconfirmed(ctx, followup_id):
        return
    set_conversation(session=ctx.session, at=ctx.now, member_id=ctx.member.id or 0, state="redate",
                     data={"followup_id": followup_id})
    ctx.reply("请回复新的下次联系时间（如：周四下午3点、下周一上午），或发送「取消」。")


def _on_visit(ctx: HandlerContext, followup_id: int) -> None:
    """安排拜访: the meeting the text names becomes a Visit at the record's next contact, so the
    pre-visit card fires (scheduler/previsit.py) without a separate 拜访 command. The record is read
    locked: the same button tapped twice, handled by two instances, books one visit."""
    followup, customer = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id, for_update=True)
    when = followup.next_contact_at
    if when is None or not names_meeting(followup):
        raise ValueError("no meeting on this record")
    if not can_book_visit(ctx, followup):  # an older card's button too, confirmed or not
        ctx.reply("这个拜访已经安排过了，或时间已过。")
        return
    if not followup.next_contact_has_time:
        # "明天视频会" names a day, not a time: a visit booked at an invented hour would send the
        # pre-visit card at the wrong moment, so the one tap asks for the time instead.
        set_conversation(session=ctx.session, at=ctx.now, member_id=ctx.member.id or 0, state="visit_time",
                         data={"followup_id": followup_id})
        day = fmt_when(when, ctx.settings.tz, False)
        ctx.reply(f"{day}几点拜访？请回复时间（如：下午3点、10:30），或发送「取消」。")
        return
    book_visit(ctx, followup, customer)


def book_visit(ctx: HandlerContext, followup: FollowUp, customer: Customer) -> None:
    """The visit at the record's next contact (a time of day known), its reply and the refreshed card."""
    when = followup.next_contact_at
    assert when is not None
    followup_id = followup.id or 0
    shown = fmt_when(when, ctx.settings.tz, True)
    goal = _meeting_goal(followup.text)
    visit = schedule_visit(session=ctx.session, actor=ctx.member, customer_id=customer.id or 0, when=when,
                           goal=goal, when_text=shown, at=ctx.now)
    ctx.reply(f"已安排拜访 {customer.name}：{shown}（拜访编号 {visit.id}），拜访前会提醒你。")
    _card_for(ctx, followup_id)


def _meeting_goal(text: str) -> str:
    """The first line of the record, masked (it goes on the timeline and the pre-visit card)."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return " ".join(mask_contacts(first).split())[:60]


def _on_quote_amount(ctx: HandlerContext, followup_id: int, *, catalog: bool) -> None:
    """用目录合计 / 用 X万元: which of the two amounts the record keeps (both stay on the card)."""
    if not _unconfirmed(ctx, followup_id):
        return
    followup, _ = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id)
    use_amount(ctx, followup, catalog=catalog)
    _card_for(ctx, followup_id)


def _on_quote_pick(ctx: HandlerContext, followup_id: int, key: str) -> None:
    """选 <产品 版本>: one edition of a product the text named without it joins the quote."""
    if not _unconfirmed(ctx, followup_id):
        return
    followup, _ = get_followup(session=ctx.session, actor=ctx.member, followup_id=followup_id, for_update=True)
    if not pick_product(ctx, followup, key):
        raise ValueError("no such product")
    _card_for(ctx, followup_id)


_RECORD_VERBS = {
    "quote_spoken": lambda ctx, fid: _on_quote_amount(ctx, fid, catalog=False),
    "quote_catalog": lambda ctx, fid: _on_quote_amount(ctx, fid, catalog=True),
    "discard": _on_discard,
    "keep_date": _on_keep_date,
    "redate": _on_redate,
    "visit": _on_visit,
}


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
