"""on_visit_command: 拜访 客户 时间 目标 schedules a visit (the pre-visit card job reads it)."""

from __future__ import annotations

from datetime import datetime

from bot.context import HandlerContext
from bot.extract import parse_when
from bot.format import fmt_when
from bot.handlers.card_actions import book_visit
from bot.handlers.command_words import parse_command
from bot.handlers.flow import can_book_visit
from bot.handlers.lookup import resolve_customer
from bot.handlers.pending import awaits_text_answer
from bot.router import Router
from bot.safe_input import parse_id
from store.conversations import clear_conversation, get_conversation
from store.followups import fix_field, get_followup
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


@router.on(awaits_text_answer("visit_time"))
def on_visit_time_answer(ctx: HandlerContext) -> None:
    """The reply to 安排拜访's 「几点拜访？」: a time on the meeting's day ("下午3点"), or a day and a
    time ("周五上午10点") when the meeting moved; the record's next contact and the visit follow it."""
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    assert conv is not None
    try:
        followup, customer = get_followup(session=ctx.session, actor=ctx.member,
                                          followup_id=int(conv.data["followup_id"]))
    except (PermissionDenied, KeyError, ValueError):
        clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
        ctx.reply("这条记录已不存在。")
        return
    when = _visit_time(ctx, followup.next_contact_at)
    if when is None:
        ctx.reply("没认出时间，请回复几点（如：下午3点、10:30），或发送「取消」。")
        return
    if when <= ctx.now:
        ctx.reply(f"{fmt_when(when, ctx.settings.tz)} 已经过去了，请给一个未来的时间，或发送「取消」。")
        return
    clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    if when != followup.next_contact_at:
        fix_field(session=ctx.session, at=ctx.now, actor=ctx.member, followup_id=followup.id or 0,
                  field="next_contact_at", value=when.isoformat())
    followup.next_contact_has_time = True
    ctx.session.add(followup)
    if not can_book_visit(ctx, followup):
        ctx.reply("这个拜访已经安排过了。")
        return
    book_visit(ctx, followup, customer)


def _visit_time(ctx: HandlerContext, day: datetime | None) -> datetime | None:
    """A bare time of day ("下午3点") lands on the meeting's day; an answer that names a day keeps it.
    Read against the time the rep wrote the answer, like every other relative time."""
    written = (ctx.inbound.received_at or ctx.now).astimezone(ctx.settings.tz)
    as_written = parse_when(ctx.text, ref_time=written)
    if as_written is None or not as_written[1]:
        return None
    if day is None:
        return as_written[0]
    meeting_day = day.astimezone(ctx.settings.tz)
    on_meeting_day = parse_when(ctx.text, ref_time=meeting_day.replace(hour=0, minute=0, second=0, microsecond=0))
    names_no_day = as_written[0].date() == written.date() and on_meeting_day is not None \
        and on_meeting_day[0].date() == meeting_day.date()
    return on_meeting_day[0] if names_no_day and on_meeting_day is not None else as_written[0]
