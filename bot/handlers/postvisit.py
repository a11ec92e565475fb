"""The post-visit card's answers (scheduler/postvisit.py sends it): 今天没去, 改约 and the new time
after 改约. The reply or voice memo that answers the three questions is an ordinary record: capture
files it under the visit's customer (bot/handlers/flow.py, postvisit_customer)."""

from __future__ import annotations

from bot.context import HandlerContext
from bot.extract import parse_when
from bot.format import fmt_when
from bot.handlers.pending import awaits_text_answer
from bot.router import Router
from bot.safe_input import parse_id
from store.conversations import clear_conversation, get_conversation, set_conversation
from store.customers import get_customer
from store.permissions import PermissionDenied
from store.visits import get_visit, mark_visit_answered, mark_visit_missed, reschedule_visit

router = Router("postvisit")
MOVE_STATE = "postvisit_move"


def _is_postvisit_tap(ctx: HandlerContext) -> bool:
    return ctx.inbound.kind == "card_action" and ctx.text.startswith(("pv_missed:", "pv_move:"))


@router.on(_is_postvisit_tap)
def on_postvisit_tap(ctx: HandlerContext) -> None:
    verb, _, rest = ctx.text.partition(":")
    visit_id = parse_id(rest)
    try:
        if visit_id is None:
            raise PermissionDenied("bad visit id")
        visit = get_visit(session=ctx.session, actor=ctx.member, visit_id=visit_id)
        customer = get_customer(session=ctx.session, actor=ctx.member, customer_id=visit.customer_id)
    except PermissionDenied:
        ctx.reply("这次拜访不存在，或你没有权限操作。")
        return
    if visit.status != "scheduled":
        ctx.reply("这次拜访已经处理过了。")
        return
    if verb == "pv_missed":
        mark_visit_missed(session=ctx.session, actor=ctx.member, visit_id=visit_id, at=ctx.now)
        ctx.reply(f"好的，已记下今天没去拜访 {customer.name}。要重新约，发送：拜访 {customer.name} 时间")
        return
    mark_visit_answered(session=ctx.session, visit_id=visit_id, at=ctx.now)
    set_conversation(session=ctx.session, member_id=ctx.member.id or 0, state=MOVE_STATE,
                     data={"visit_id": visit_id}, at=ctx.now)
    ctx.reply(f"拜访 {customer.name} 改到什么时候？请回复新的时间（如：周四下午3点），或发送「取消」。")


@router.on(awaits_text_answer(MOVE_STATE))
def on_postvisit_new_time(ctx: HandlerContext) -> None:
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    assert conv is not None
    if ctx.text in ("取消", "算了"):
        clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
        ctx.reply("好的，拜访时间不变。")
        return
    parsed = parse_when(ctx.text, ref_time=ctx.local_now)
    if parsed is None or parsed[0] <= ctx.now:
        ctx.reply("没认出一个未来的时间，请换个说法（如：周四下午3点、下周一上午），或发送「取消」。")
        return
    when, has_time = parsed
    shown = fmt_when(when, ctx.settings.tz, has_time)
    try:
        reschedule_visit(session=ctx.session, actor=ctx.member, visit_id=int(conv.data["visit_id"]), when=when,
                         when_text=shown, at=ctx.now)
    except (PermissionDenied, KeyError, ValueError):
        ctx.reply("这次拜访已不存在。")
    else:
        ctx.reply(f"拜访已改到 {shown}，拜访前会提醒你。")
    clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
