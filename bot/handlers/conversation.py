"""The minimal-entry conversation: ask only for what is missing, one question at a time.

A new customer needs at most name, phone, product, stage and next contact; every question but
the name accepts 跳过. State lives in the conversation table, so a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.cards.followup import build_duplicate_card
from bot.context import HandlerContext
from bot.extract import normalize_phone, parse_when
from bot.format import fmt_when, mask_phone
from bot.handlers.collision import alert_collision
from bot.handlers.flow import capture, ext_from_data, ext_to_data, next_contact_problem
from bot.handlers.pending import is_new_record, looks_like_name
from bot.router import Router
from store.conversations import clear_conversation, get_conversation, set_conversation
from store.customers import check_duplicates, create_customer
from store.privacy import contains_contact
from store.stages import PROGRESSION, Stage, check_stage_change

router = Router("conversation")

SKIP_WORDS = ("跳过", "/skip", "skip", "不知道", "没有")
FIELDS = ("name", "phone", "product", "stage", "next_contact")
QUESTIONS = {
    "name": "客户叫什么名字？（如：张伟 或 王总）",
    "phone": "客户的电话？（不知道可回复「跳过」）",
    "product": "客户关注哪个产品？（可回复「跳过」）",
    "stage": f"现在是哪个阶段？{' / '.join(PROGRESSION)}（可回复「跳过」，默认 {Stage.FIRST_CONTACT}）",
    "next_contact": "下次什么时候联系？（如：明天下午三点、下周三；可回复「跳过」）",
}


def _awaits_text(ctx: HandlerContext) -> bool:
    """An open question takes only a message shaped like its answer (a name where a name is asked, a
    short value otherwise); a chat or a note goes on to capture, which drops the question."""
    if ctx.inbound.kind != "text":
        return False
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    if conv is None or conv.state not in ("new_customer", "await_customer"):
        return False
    text = ctx.text
    if text in SKIP_WORDS:
        return True
    asks_name = conv.state == "await_customer" or conv.data.get("asking") == "name"
    return looks_like_name(text) if asks_name else not is_new_record(text)


def start_new_customer(ctx: HandlerContext, args: str) -> None:
    fields: dict[str, Any] = {}
    name_words = []
    for token in args.split():
        if "phone" not in fields and (phone := normalize_phone(token)):
            fields["phone"] = phone
        else:
            name_words.append(token)
    if name_words:
        fields["name"] = " ".join(name_words)[:50]
    _ask_next(ctx, fields)


@router.on(_awaits_text)
def on_conversation_answer(ctx: HandlerContext) -> None:
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    assert conv is not None
    if conv.state == "await_customer":
        _on_customer_named(ctx, conv.data)
        return
    fields = dict(conv.data.get("fields", {}))
    asking = conv.data.get("asking", "name")
    answer = ctx.text
    if answer in SKIP_WORDS:
        if asking == "name":
            ctx.reply("客户名字不能跳过。" + QUESTIONS["name"] + "（发送「取消」放弃）")
            return
        fields[asking] = None
    else:
        error = _accept(ctx, asking, answer, fields)
        if error:
            ctx.reply(error)
            return
    _ask_next(ctx, fields)


def _accept(ctx: HandlerContext, field: str, answer: str, fields: dict[str, Any]) -> str | None:
    if field == "name":
        if len(answer) > 50:
            return "名字太长了，请只回复客户的名字。"
        if contains_contact(answer):  # a customer is never named after its phone or e-mail
            return "这像是电话或邮箱，请只回复客户的名字（如：张伟 或 王总）。"
        fields["name"] = answer
    elif field == "phone":
        phone = normalize_phone(answer)
        if phone is None:
            return "没认出这个电话号码，请重新输入（如 13800138000），或回复「跳过」。"
        fields["phone"] = phone
    elif field == "product":
        fields["product"] = answer[:100]
    elif field == "stage":
        if answer not in tuple(Stage):
            return f"请从这些阶段中选一个：{' / '.join(PROGRESSION)}，或回复「跳过」。"
        # A new customer starts at the first stage: the 阶段 command's gate, with no records yet.
        first = Stage.FIRST_CONTACT
        missing = [] if answer == first else check_stage_change(first, answer, [], ctx.settings.stage_evidence)
        if missing:
            return (f"新客户不能直接进入「{answer}」：" + "；".join(missing) + f"。请回复 {PROGRESSION[0]} 或 "
                    f"{PROGRESSION[1]}，或「跳过」；有了跟进记录后再用「阶段」命令推进。")
        fields["stage"] = answer
    elif field == "next_contact":
        parsed = parse_when(answer, ref_time=ctx.local_now)
        if parsed is None:
            return "没认出这个时间，请换个说法（如：明天下午三点、下周三），或回复「跳过」。"
        when, has_time = parsed
        if when <= ctx.now and (problem := next_contact_problem(when, ctx)):
            return problem + "。"  # a question about the next contact wants a time still ahead
        # Beyond the horizon is what the rep typed on purpose (the customer asked for it): kept, as 保留
        # keeps it on a card, never refused or dropped.
        fields["next_contact"] = when.isoformat()
        fields["next_contact_has_time"] = has_time
    return None


def _ask_next(ctx: HandlerContext, fields: dict[str, Any]) -> None:
    for field in FIELDS:
        if field not in fields:
            set_conversation(
                session=ctx.session, at=ctx.now,
                member_id=ctx.member.id or 0,
                state="new_customer",
                data={"fields": fields, "asking": field},
            )
            ctx.reply(QUESTIONS[field])
            return
    clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    finish_new_customer(ctx, fields)


def finish_new_customer(ctx: HandlerContext, fields: dict[str, Any], force_new: bool = False) -> None:
    if not force_new:
        dup = check_duplicates(session=ctx.session, actor=ctx.member, name=fields["name"], phone=fields.get("phone"))
        if dup.taken:
            ctx.reply("这个电话已是其他同事的客户（撞单），未新建。已通知主管协调。")
            alert_collision(ctx, dup.taken_by, phone=fields.get("phone"), email=None)
            return
        if dup.same is not None:
            ctx.reply(f"客户已存在：#{dup.same.id} {dup.same.name}，未重复新建。")
            return
        if dup.likely:
            set_conversation(
                session=ctx.session, at=ctx.now,
                member_id=ctx.member.id or 0,
                state="dup_choice",
                data={"entry": fields, "candidates": [c.id for c in dup.likely[:3]]},
            )
            ctx.reply_card(build_duplicate_card(name=fields["name"], company=None, candidates=dup.likely))
            return
    customer = create_customer(
        session=ctx.session,
        at=ctx.now,
        actor=ctx.member,
        name=fields["name"],
        phone=fields.get("phone"),
        product=fields.get("product"),
        stage=fields.get("stage") or Stage.FIRST_CONTACT,
        source_channel=f"{ctx.inbound.platform}:手动",
    )
    if fields.get("next_contact"):
        customer.next_contact_at = datetime.fromisoformat(fields["next_contact"])
    ctx.session.add(customer)
    nxt = (
        fmt_when(customer.next_contact_at, ctx.settings.tz, bool(fields.get("next_contact_has_time")))
        if customer.next_contact_at
        else "未设置"
    )
    phone = mask_phone(customer.phone) if ctx.inbound.chat is not None else (customer.phone or "—")  # a group sees
    ctx.reply(
        f"已新建客户 #{customer.id} {customer.name}\n电话：{phone}"
        f"\n产品：{customer.product or '—'}\n阶段：{customer.stage}\n下次联系：{nxt}"
    )


def _on_customer_named(ctx: HandlerContext, draft: dict[str, Any]) -> None:
    name = ctx.text
    if len(name) > 50:
        ctx.reply("请只回复客户的名字（如：张伟 或 王总），或发送「取消」。")
        return
    clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    ext = ext_from_data(draft["ext"])
    data = ext_to_data(ext)
    data["customer_name"] = name
    capture(
        ctx,
        ext_from_data(data),
        kind=draft["kind"],
        text=draft["text"],
        transcript=draft.get("transcript"),
        source_inbound_id=draft.get("inbound_id"),
        warnings=draft.get("warnings") or (),
    )
