"""on_renewal: 续约 [客户] 日期 stores a customer's contract renewal date ("续约 2027-03-01" for the
customer of the rep's latest record, "续约 张伟 2027-03-01" or "续约 #12 3月1日"); the churn warning
(scheduler/churn.py) counts it as it approaches."""

from __future__ import annotations

from sqlmodel import col, select

from bot.context import HandlerContext
from bot.extract import parse_when
from bot.format import fmt_when
from bot.handlers.lookup import reply_private, resolve_customer
from bot.router import Router
from store.customers import get_customer
from store.models import Customer, FollowUp
from store.permissions import PermissionDenied

router = Router("renewal")
USAGE = "用法：续约 日期（最近一条记录的客户），或 续约 客户 日期，例如：续约 张伟 2027-03-01"


def _is_renewal(ctx: HandlerContext) -> bool:
    text = ctx.text.strip()
    return ctx.inbound.kind == "text" and "\n" not in text and len(text) <= 60 and \
        (text == "续约" or text.startswith(("续约 ", "续约：", "续约:")))


@router.on(_is_renewal)
def on_renewal(ctx: HandlerContext) -> None:
    words = ctx.text.strip()[2:].lstrip(" ：:").split()
    if not words:
        ctx.reply(USAGE)
        return
    parsed = parse_when(words[-1], ref_time=ctx.local_now)
    if parsed is None:
        ctx.reply(f"没看懂续约日期「{words[-1]}」。" + USAGE)
        return
    customer = resolve_customer(ctx, " ".join(words[:-1])) if len(words) > 1 else _latest_customer(ctx)
    if customer is None:
        if len(words) == 1:
            ctx.reply("还没有你的跟进记录，请写上客户：" + USAGE)
        return
    customer.renewal_at = parsed[0]
    ctx.session.add(customer)
    reply_private(ctx, f"已记录 {customer.name} 的续约日期：{fmt_when(parsed[0], ctx.settings.tz, False)}。"
                       "临近续约时会计入流失预警。")  # names the customer: never in a group


def _latest_customer(ctx: HandlerContext) -> Customer | None:
    customer_id = ctx.session.exec(
        select(FollowUp.customer_id).where(col(FollowUp.rep_id) == ctx.member.id)
        .order_by(col(FollowUp.id).desc()).limit(1)
    ).first()
    if customer_id is None:
        return None
    try:
        return get_customer(session=ctx.session, actor=ctx.member, customer_id=customer_id)
    except PermissionDenied:
        return None
