"""本周: the weekly report's figures for the week so far, on demand (a rep its own, a supervisor the
team, an admin every team). The week is Monday 00:00 to now on the team's clock (Asia/Shanghai),
measured with the same store.rep_stats the Monday report uses."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.catalog.entries import catalog_entries
from bot.context import HandlerContext
from bot.handlers.lookup import reply_private
from store.members import reps_visible_to
from store.models import Role
from store.rep_stats import rep_stats


def week_start(ctx: HandlerContext) -> datetime:
    local = ctx.local_now
    return datetime.combine((local - timedelta(days=local.weekday())).date(), time(0), ctx.settings.tz)


def on_week(ctx: HandlerContext, _args: str) -> None:
    start = week_start(ctx)
    reps = reps_visible_to(session=ctx.session, actor=ctx.member)
    if not reps:
        ctx.reply("团队里还没有销售。")
        return
    catalog = bool(catalog_entries(session=ctx.session, settings=ctx.settings))
    lines = [rep_stats(ctx.session, rep, start, ctx.now, catalog=catalog).line() for rep in reps]
    who = "" if ctx.member.role == Role.REP else "团队"
    title = f"【{who}本周至今 {start:%m月%d日}–{ctx.local_now:%m月%d日 %H:%M}】"
    # Figures name reps and count their customers: in a group they go to the asker alone.
    reply_private(ctx, "\n".join([title, *lines]))
