"""on_visit_command: 拜访 客户 时间 目标 schedules a visit (the pre-visit card job reads it)."""

from __future__ import annotations

from datetime import datetime

from bot.context import HandlerContext
from bot.extract import parse_when
from bot.format import fmt_when
from bot.handlers.command_words import parse_command
from bot.handlers.lookup import resolve_customer
from bot.router import Router
from bot.safe_input import parse_id
from store.permissions import PermissionDenied
from store.visits import cancel_visit, reschedule_visit, schedule_visit

router = Router("visit")

USAGE = "用法：拜访 客户 时间 目标，例如：拜访 张伟 明天下午3点 演示方案"


def _is_visit(ctx: HandlerContext) -> bool:
    command = parse_command(ctx.text) if ctx.inbound.kind == "text" else None
    return command is not None and command.name in ("visit", "reschedule", "cancel_visit")


def split_when_goal(words: list[str], ctx: HandlerContext) -> tuple[tuple[datetime, bool], str] | None:
    """The leading words that read as a time, and the rest as the goal: grow the time phrase one
    word at a time while each word still changes the parsed time ("明天 下午3点 演示")."""
    best: tuple[datetime, bool] | None = None
    used = 0
    for end in range(1, len(words) + 1):
        parsed = parse_when("".join(words[:end]), ref_time=ctx.local_now)
        if parsed is None or parsed == best:
            break
        best, used = parsed, end
    if best is None:
        return None
    return best, " ".join(words[used:])


@router.on(_is_visit)
def on_visit_command(ctx: HandlerContext) -> None:
    command = parse_command(ctx.text)
    assert command is not None
    if command.name != "visit":
        _on_change_visit(ctx, command.name, command.args.split())
        return
    words = command.args.split()
    if len(words) < 2:
        ctx.reply(USAGE)
        return
    customer = resolve_customer(ctx, words[0])
    if customer is None:
        return
    found = split_when_goal(words[1:], ctx)
    if found is None:
        ctx.reply("没认出拜访时间。" + USAGE)
        return
    (when, has_time), goal = found
    if when <= ctx.now:
        ctx.reply(f"拜访时间 {fmt_when(when, ctx.settings.tz, has_time)} 已经过去了，请给一个未来的时间。")
        return
    visit = schedule_visit(
        session=ctx.session,
        actor=ctx.member,
        customer_id=customer.id or 0,
        when=when,
        goal=goal,
        when_text=fmt_when(when, ctx.settings.tz, has_time),
        at=ctx.now,
    )
    ctx.reply(
        f"已安排拜访 {customer.name}：{fmt_when(when, ctx.settings.tz, has_time)}"
        + (f"\n目标：{goal}" if goal else "")
        + f"\n（拜访编号 {visit.id}）"
    )


def _on_change_visit(ctx: HandlerContext, name: str, words: list[str]) -> None:
    """改约 拜访编号 时间 / 取消拜访 拜访编号."""
    visit_id = parse_id(words[0]) if words else None
    if visit_id is None:
        ctx.reply("用法：改约 拜访编号 新时间，或：取消拜访 拜访编号")
        return
    try:
        if name == "cancel_visit":
            cancel_visit(session=ctx.session, actor=ctx.member, visit_id=visit_id, at=ctx.now)
            ctx.reply(f"已取消拜访 {visit_id}，不会再发送拜访提醒。")
            return
        found = split_when_goal(words[1:], ctx)
        if found is None:
            ctx.reply("没认出新的拜访时间，例如：改约 3 周五下午两点")
            return
        (when, has_time), _goal = found
        if when <= ctx.now:
            ctx.reply("新的拜访时间已经过去了，请给一个未来的时间。")
            return
        text = fmt_when(when, ctx.settings.tz, has_time)
        reschedule_visit(
            session=ctx.session, actor=ctx.member, visit_id=visit_id, when=when, when_text=text, at=ctx.now
        )
        ctx.reply(f"拜访 {visit_id} 已改到 {text}，提醒会按新时间发送。")
    except PermissionDenied:
        ctx.reply(f"没有找到拜访 {visit_id}（或你没有权限）。")
