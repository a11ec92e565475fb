"""on_field_reply: fix one field of the rep's latest unconfirmed record by one reply that names it
("公司 华信物流", "下次 周四下午3点", "阶段 需求确认", "标签 +要报价 -价格异议"), or of any of their
unconfirmed records by the explicit form 改 #记录号 字段 值; and the answer to 改约.

Values go through the same deterministic parsers as extraction (phone, money, dates resolved against
the message's time); each fix is stored as a Correction, like a tag toggle, and answered with the
refreshed card of the same record. The next 确认 saves it.
"""

from __future__ import annotations

import re

from bot.context import HandlerContext
from bot.extract import normalize_phone, parse_amount, parse_when
from bot.handlers.command_words import parse_command
from bot.handlers.flow import reply_followup_card, tag_names
from bot.handlers.pending import TEXT_QUESTIONS, awaits_text_answer, looks_like_name
from bot.handlers.quotes import set_quote
from bot.router import Router
from store.conversations import clear_conversation, get_conversation
from store.customers import create_customer, get_customer, search_customers
from store.followups import fix_field, get_followup, latest_unconfirmed, move_followup, toggle_tag
from store.models import FollowUp
from store.permissions import PermissionDenied
from store.privacy import contains_contact
from store.stages import PROGRESSION, Stage

router = Router("card_edit")

# The word a rep writes -> the record field it fixes.
FIELD_WORDS: dict[str, str] = {
    "客户": "customer_name", "姓名": "customer_name", "名字": "customer_name",
    "公司": "company",
    "电话": "phone", "手机": "phone",
    "邮箱": "email",
    "产品": "product",
    "金额": "amount_cny",
    "下次": "next_contact_at", "下次联系": "next_contact_at",
    "阶段": "stage_hint",
    "标签": "tags",
}
# Words a rep may take for a card field that the card does not have: answered with the field list
# (only while a card waits for 确认), instead of being read as a note.
NOT_FIELDS = frozenset({"地址", "职位", "职务", "头衔", "备注", "微信", "部门", "行业", "地区", "来源", "渠道", "预算"})
FIELD_HINT = ("可以改的字段：客户、公司、电话、邮箱、产品、金额、下次、阶段、标签。"
              "例如：公司 华信物流、下次 周四下午3点、标签 +要报价 -价格异议")
_SPLIT = re.compile(r"[\s:：]+", re.UNICODE)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,24}$")


def split_field(text: str) -> tuple[str, str] | None:
    """("公司", "华信物流") for "公司 华信物流" / "公司：华信物流"; None unless it starts with a field word."""
    if "\n" in text.strip() or len(text) > 120:
        return None
    parts = _SPLIT.split(text.strip(), maxsplit=1)
    if len(parts) != 2 or parts[0] not in FIELD_WORDS or not parts[1].strip():
        return None
    return parts[0], parts[1].strip()


def _is_unknown_field(ctx: HandlerContext) -> bool:
    if ctx.inbound.kind != "text" or "\n" in ctx.text or len(ctx.text) > 60:
        return False
    word = _SPLIT.split(ctx.text.strip(), maxsplit=1)[0]
    if word not in NOT_FIELDS or word == ctx.text.strip():
        return False
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    return (conv is None or conv.state not in TEXT_QUESTIONS) and \
        latest_unconfirmed(session=ctx.session, actor=ctx.member) is not None


def _is_field_reply(ctx: HandlerContext) -> bool:
    if ctx.inbound.kind != "text":
        return False
    found = split_field(ctx.text)
    if found is None:
        return False
    word, value = found
    if word == "阶段" and value not in tuple(Stage):
        return False  # 阶段 客户 阶段: the stage command
    if FIELD_WORDS[word] == "customer_name" and not looks_like_name(value):
        return False  # "客户 说价格太贵了，想打折" is a note, not a name
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    if conv is not None and conv.state in TEXT_QUESTIONS:
        return False  # an open question takes its answer first (it accepts only answer-shaped text)
    return latest_unconfirmed(session=ctx.session, actor=ctx.member) is not None or word != "阶段"


def _is_edit_command(ctx: HandlerContext) -> bool:
    command = parse_command(ctx.text) if ctx.inbound.kind == "text" else None
    return command is not None and command.name == "edit"


@router.on(_is_field_reply)
def on_field_reply(ctx: HandlerContext) -> None:
    found = split_field(ctx.text)
    assert found is not None
    followup = latest_unconfirmed(session=ctx.session, actor=ctx.member)
    if followup is None:
        ctx.reply("没有待确认的跟进记录可改。改客户资料请先粘贴一段聊天，或用「改名」「阶段」等命令。")
        return
    _apply(ctx, followup, *found)


@router.on(_is_unknown_field)
def on_unknown_field(ctx: HandlerContext) -> None:
    word = _SPLIT.split(ctx.text.strip(), maxsplit=1)[0]
    ctx.reply(f"卡片上没有「{word}」这一项。" + FIELD_HINT)


@router.on(_is_edit_command)
def on_edit_command(ctx: HandlerContext) -> None:
    command = parse_command(ctx.text)
    assert command is not None
    ref, _, rest = command.args.partition(" ")
    if not (ref.startswith("#") and ref[1:].isdigit()) or not rest.strip():
        ctx.reply("用法：改 #记录号 字段 新值，例如：改 #12 公司 华信物流\n" + FIELD_HINT)
        return
    word, _, value = rest.strip().partition(" ")
    if word not in FIELD_WORDS or not value.strip():
        ctx.reply(f"不认识的字段「{word}」。" + FIELD_HINT if word not in FIELD_WORDS else "请写上新值。" + FIELD_HINT)
        return
    try:
        # Locked: the confirmed check below must hold until this change is written (a 确认 racing it).
        followup, _ = get_followup(session=ctx.session, actor=ctx.member, followup_id=int(ref[1:]), for_update=True)
    except PermissionDenied:
        ctx.reply(f"没有找到记录 {ref}（或你没有权限）。")
        return
    if followup.confirmed:
        ctx.reply(f"记录 {ref} 已确认，不能再改。")
        return
    _apply(ctx, followup, word, value.strip())


@router.on(awaits_text_answer("redate"))
def on_redate_answer(ctx: HandlerContext) -> None:
    """The one reply after 改约: a new time for the record (a chat or note of its own never gets here)."""
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    assert conv is not None
    try:
        followup, _ = get_followup(session=ctx.session, actor=ctx.member, followup_id=int(conv.data["followup_id"]),
                                   for_update=True)
    except (PermissionDenied, KeyError, ValueError):
        clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
        ctx.reply("这条记录已不存在。")
        return
    if followup.confirmed:  # confirmed after 改约 was tapped (its card's 确认, or another instance)
        clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
        ctx.reply(f"记录 #{followup.id} 已确认，不能再改下次联系时间。")
        return
    if _set_next_contact(ctx, followup, ctx.text):
        clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)


def _apply(ctx: HandlerContext, followup: FollowUp, word: str, value: str) -> None:
    field = FIELD_WORDS[word]
    fid = followup.id or 0
    if field == "next_contact_at":
        _set_next_contact(ctx, followup, value)
        return
    if field == "customer_name":
        _set_customer(ctx, followup, value)
        return
    if field == "product" and set_quote(ctx, followup, value):
        reply_followup_card(ctx, fid)  # catalog products: the record's quote lines (bot/handlers/quotes.py)
        return
    if field == "tags":
        error = _set_tags(ctx, followup, value)
        if error:
            ctx.reply(error)
        else:
            reply_followup_card(ctx, fid)
        return
    parsed, error = _parse(field, value)
    if error:
        ctx.reply(error)
        return
    assert parsed is not None
    fix_field(session=ctx.session, at=ctx.now, actor=ctx.member, followup_id=fid, field=field, value=parsed)
    reply_followup_card(ctx, fid)


def _parse(field: str, value: str) -> tuple[str | None, str | None]:
    """(stored text form, None) or (None, a Chinese reason)."""
    if field == "customer_name":
        if len(value) > 50 or contains_contact(value):
            return None, "请只写客户的姓名（50 字以内，不含电话或邮箱），例如：客户 赵一鸣"
        return value, None
    if field == "company":
        return (value, None) if len(value) <= 200 else (None, "公司名太长了（200 字以内）。")
    if field == "product":
        return (value, None) if len(value) <= 100 else (None, "产品名太长了（100 字以内）。")
    if field == "phone":
        phone = normalize_phone(value)
        return (phone, None) if phone else (None, "没认出这个电话号码，例如：电话 13912345678 或 电话 0755-12345678")
    if field == "email":
        return (value.lower(), None) if _EMAIL.match(value) else (None, "没认出这个邮箱，例如：邮箱 zhao@example.com")
    if field == "amount_cny":
        amount = parse_amount(value)
        return (str(amount), None) if amount else (None, "没认出这个金额，例如：金额 5万 或 金额 39800")
    if field == "stage_hint":
        if value not in tuple(Stage):
            return None, f"没有「{value}」这个阶段，可选：{' → '.join(PROGRESSION)}，或 {Stage.LOST}"
        return value, None
    return None, FIELD_HINT


def _set_customer(ctx: HandlerContext, followup: FollowUp, value: str) -> None:
    """客户 X: the record is about X. A known customer of that exact name (or #编号) takes the record;
    otherwise a draft customer is renamed, and a record filed under a real customer moves to a new
    draft customer (renaming the real one would rewrite someone else's file)."""
    fid = followup.id or 0
    _, current = get_followup(session=ctx.session, actor=ctx.member, followup_id=fid)
    if value.startswith("#") and value[1:].isdigit():
        try:
            target = get_customer(session=ctx.session, actor=ctx.member, customer_id=int(value[1:]))
        except PermissionDenied:
            ctx.reply(f"没有找到客户 {value}（或你没有查看权限）。")
            return
        move_followup(session=ctx.session, actor=ctx.member, followup_id=fid, customer_id=target.id or 0, at=ctx.now)
        reply_followup_card(ctx, fid)
        return
    name, error = _parse("customer_name", value)
    if error or name is None:
        ctx.reply(error or FIELD_HINT)
        return
    found = search_customers(session=ctx.session, actor=ctx.member, query=name, include_drafts=True)
    exact = [c for c in found if c.name == name and c.id != current.id]
    if len(exact) > 1:
        listing = "、".join(f"#{c.id}" + (f"（{c.company}）" if c.company else "") for c in exact[:5])
        ctx.reply(f"有多位「{name}」：{listing}。请回复：客户 #编号")
        return
    if exact:
        move_followup(session=ctx.session, actor=ctx.member, followup_id=fid, customer_id=exact[0].id or 0,
                      at=ctx.now)
    elif current.draft:
        fix_field(session=ctx.session, at=ctx.now, actor=ctx.member, followup_id=fid, field="customer_name", value=name)
    else:
        fresh = create_customer(session=ctx.session, at=ctx.now, actor=ctx.member, name=name, draft=True,
                                source_channel=current.source_channel)
        move_followup(session=ctx.session, actor=ctx.member, followup_id=fid, customer_id=fresh.id or 0, at=ctx.now)
    reply_followup_card(ctx, fid)


def _set_next_contact(ctx: HandlerContext, followup: FollowUp, value: str) -> bool:
    # "周四下午3点" means the Thursday after the rep wrote it, even when the message is processed later.
    written = (ctx.inbound.received_at or ctx.now).astimezone(ctx.settings.tz)
    parsed = parse_when(value, ref_time=written)
    if parsed is None:
        ctx.reply("没认出这个时间，请换个说法（如：周四下午3点、下周一上午），或发送「取消」。")
        return False
    when, has_time = parsed
    fix_field(session=ctx.session, at=ctx.now, actor=ctx.member, followup_id=followup.id or 0,
              field="next_contact_at", value=when.isoformat())
    followup.next_contact_has_time = has_time
    followup.next_contact_kept = False  # outside the window, the card asks again (保留 / 改约)
    ctx.session.add(followup)
    reply_followup_card(ctx, followup.id or 0)
    return True


def _set_tags(ctx: HandlerContext, followup: FollowUp, value: str) -> str | None:
    """"+要报价 -价格异议": add / remove; a bare name toggles. Nothing changes unless every name is known."""
    known = tag_names(ctx)
    wanted: list[tuple[str, bool | None]] = []
    for token in value.replace("，", " ").replace(",", " ").split():
        sign = token[0] if token[0] in "+-＋－" else ""
        name = token[1:] if sign else token
        if name not in known:
            return f"没有「{name}」这个标签，可选：{'、'.join(known)}。例如：标签 +要报价 -价格异议"
        wanted.append((name, None if not sign else sign in "+＋"))
    if not wanted:
        return "请写上要增删的标签，例如：标签 +要报价 -价格异议"
    for name, on in wanted:
        if on is None or (name in followup.tags) != on:
            toggle_tag(session=ctx.session, at=ctx.now, actor=ctx.member, followup_id=followup.id or 0, tag=name)
    return None
