"""The console's report pages: the funnel by channel, data health per rep, the weekly report as
charts. Each runs as the logged-in member: the reps shown are those the member may see
(store/console.visible_members), the customers counted go through `visible_to`."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from aiohttp import web
from sqlmodel import Session

from bot.catalog.entries import catalog_entries
from bot.format import fmt_amount
from bot.web.charts import bar_chart, sparkline, sparkline_svg
from bot.web.keys import MEMBER, ConsoleApp
from store.console import visible_members
from store.db import session_scope
from store.funnel import CONTACT_WINDOW, WON_WINDOW, funnel_by_channel
from store.health_score import (
    COACHING_BELOW,
    FIELDS,
    FIRST_RESPONSE_TARGET,
    LABELS,
    WEIGHTS,
    HealthCounts,
    HealthScore,
    health_score,
)
from store.health_weeks import TREND_WEEKS, kept_weeks, save_weeks, week_bounds, week_start
from store.models import Member, Role
from store.promises import overdue_promises_per_rep
from store.rep_stats import RepStats, rep_stats

FUNNEL_PERIODS = {"7": ("近 7 天", 7), "30": ("近 30 天", 30), "90": ("近 90 天", 90), "365": ("近一年", 365)}


def routes(console: ConsoleApp) -> list[web.RouteDef]:
    return [
        web.get("/funnel", partial(funnel, console)),
        web.get("/health", partial(health, console)),
        web.get("/weekly", partial(weekly, console)),
    ]


def _reps(members: list[Member], me: Member) -> list[Member]:
    """Whose figures a page shows: reps among the members the actor may see (a rep: oneself)."""
    if me.role == Role.REP:
        return [me]
    return [m for m in members if m.role == Role.REP and m.active]


def _has_catalog(console: ConsoleApp, session: Session) -> bool:
    """Amounts can come from a catalog only where one exists; elsewhere that part is not counted."""
    return bool(catalog_entries(session=session, settings=console.settings))


def _parts(c: HealthCounts | None, score: HealthScore | None) -> list[tuple[str, str, str]]:
    """Each part as the page shows it: its share, what was counted, the points it earned."""
    if c is None or score is None:
        return [("—", "", "") for _ in WEIGHTS]
    details = {
        "completeness": f"{c.fields_filled}/{c.confirmed * len(FIELDS)} 项",
        "plausibility": f"{c.stage_moves} 次变更 · 拒 {c.stage_refused} · 回退 {c.stage_backward}",
        "confirmation": f"{c.confirmed}/{c.records} 条",
        "corrections": f"修改 {c.corrected}/{c.confirmed}",
        "first_response": f"{c.leads_on_time}/{c.leads} 条线索",
        "catalog": f"{fmt_amount(c.amount_from_catalog)}/{fmt_amount(c.amount_total)}",
        "post_visit": f"{c.visits_noted}/{c.visits_judged} 次拜访",
    }
    return [(_pct(score.parts[name]), details[name],
             f"+{score.points[name]:.0f} 分" if name in score.points else "") for name in WEIGHTS]


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


async def funnel(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    period = request.query.get("period", "30")
    if period not in FUNNEL_PERIODS:
        period = "30"
    now = console.clock()
    start = now - timedelta(days=FUNNEL_PERIODS[period][1])

    def load() -> list[Any]:
        with Session(console.read_engine) as session:
            return funnel_by_channel(session=session, actor=me, start=start, end=now, now=now)

    rows = await console.db(load)
    channels = [r for r in rows if r.channel != "合计"]
    charts = [
        bar_chart("新增客户", [(r.channel, r.arrived, str(r.arrived)) for r in channels]),
        bar_chart(f"{CONTACT_WINDOW.days} 天内首次联系率", [(r.channel, r.contact_rate, _pct(r.contact_rate))
                                                   for r in channels], maximum=1),
        bar_chart(f"{WON_WINDOW.days} 天内成交率", [(r.channel, r.won_rate, _pct(r.won_rate)) for r in channels],
                  maximum=1),
    ]
    return console.render(request, "funnel.html", title="渠道漏斗", nav="funnel", rows=rows, charts=charts,
                          periods=FUNNEL_PERIODS, period=period, start=start, now=now, pct=_pct,
                          contact_days=CONTACT_WINDOW.days, won_days=WON_WINDOW.days)


async def health(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    now = console.clock()
    bounds = week_bounds(now, console.settings.tz, TREND_WEEKS)
    this_week = request.query.get("period") == "this"
    shown_bounds = bounds if this_week else bounds[:-1]

    def load() -> dict[str, Any]:
        with Session(console.read_engine) as session:
            reps = _reps(visible_members(session=session, actor=me), me)
            ids = [r.id for r in reps if r.id is not None]
            # Weeks kept per rep and week (store/health_weeks.py, refreshed by the scheduler); only a
            # week missing or due again is counted here, then kept for everyone. 本周至今 is kept too
            # and counted again when its row is REFRESH old.
            counts, fresh = kept_weeks(session=session, rep_ids=ids, bounds=shown_bounds, now=now,
                                       catalog=lambda: _has_catalog(console, session), partial_last=this_week)
            overdue = {m.id: n for m, n in overdue_promises_per_rep(session=session, actor=me, now=now)}
            return {"reps": reps, "counts": counts, "overdue": overdue, "fresh": fresh}

    data = await console.db(load)
    if data["fresh"]:
        def keep() -> None:
            with session_scope(console.engine) as session:
                save_weeks(session=session, counts=data["counts"], fresh=data["fresh"], bounds=shown_bounds, at=now)

        await console.db(keep)
    shown_week = TREND_WEEKS if this_week else TREND_WEEKS - 1
    tz = console.settings.tz
    labels = [f"{b.astimezone(tz):%m-%d} 周" for b in bounds[:TREND_WEEKS]]
    rows = []
    for rep in data["reps"]:
        weeks = [data["counts"].get((rep.id, w)) for w in range(TREND_WEEKS + 1)]
        current = weeks[shown_week]
        score = health_score(current) if current is not None else None
        trend = [health_score(c).score if c is not None else None for c in weeks[:TREND_WEEKS]]
        rows.append({
            "rep": rep, "counts": current, "score": score, "parts": _parts(current, score),
            "coach": score is not None and score.needs_coaching,
            "spark": sparkline_svg(sparkline(trend, low_below=COACHING_BELOW, labels=labels),
                                   f"{rep.display_name} 近 8 周得分"),
            "trend_text": " ".join("—" if t is None else str(t) for t in trend),
            "overdue": data["overdue"].get(rep.id, 0),
        })
    rows.sort(key=lambda r: (r["score"] is None or r["score"].score is None,
                             r["score"].score if r["score"] and r["score"].score is not None else 0))
    period_label = ("本周至今（至多10分钟前的数据）" if this_week else
                    f"上周（{bounds[TREND_WEEKS - 1].astimezone(tz):%m月%d日}–"
                    f"{(bounds[TREND_WEEKS] - timedelta(seconds=1)).astimezone(tz):%m月%d日}）")
    return console.render(request, "health.html", title="数据健康度", nav="health", rows=rows, weights=WEIGHTS,
                          labels=LABELS, fields=FIELDS, coach_below=COACHING_BELOW, this_week=this_week,
                          period_label=period_label, pct=_pct,
                          target_hours=FIRST_RESPONSE_TARGET.total_seconds() / 3600)


WEEKLY_CHARTS: list[tuple[str, str, Any]] = [
    # (title, figure, value of a RepStats for the chart; rates are shares 0..1)
    ("首次响应达标率", "rate", lambda s: s.leads_on_time / s.leads if s.leads else None),
    ("72小时跟进率", "rate", lambda s: (s.active - s.alerted) / s.active if s.active else None),
    ("记录完整度", "rate", lambda s: s.complete / s.followups if s.followups else None),
    ("跟进记录数", "count", lambda s: s.followups),
    ("新线索数", "count", lambda s: s.leads),
    ("被拒的跳阶段", "count", lambda s: s.stage_refused),
    ("标签被修改", "count", lambda s: s.corrected),
]


def _weekly_charts(stats: list[RepStats]) -> list[Any]:
    charts = []
    for title, figure, value in WEEKLY_CHARTS:
        rows = []
        for s in stats:
            v = value(s)
            rows.append((s.name, v, _pct(v) if figure == "rate" else str(v)))
        charts.append(bar_chart(title, rows, maximum=1 if figure == "rate" else None))
    return charts


async def weekly(console: ConsoleApp, request: web.Request) -> web.StreamResponse:
    me = request[MEMBER]
    now = console.clock()
    tz = console.settings.tz
    this_monday = week_start(now, tz)
    last_monday = week_start(this_monday - timedelta(days=7), tz)

    def load() -> dict[str, Any]:
        with Session(console.read_engine) as session:
            reps = _reps(visible_members(session=session, actor=me), me)
            # The weekly report's own figures (store/rep_stats.rep_stats), for two periods.
            catalog = _has_catalog(console, session)
            return {"last": [rep_stats(session, r, last_monday, this_monday, catalog=catalog) for r in reps],
                    "this": [rep_stats(session, r, this_monday, now, catalog=catalog) for r in reps]}

    data = await console.db(load)
    periods = [
        {"id": "this-week", "title": "本周至今",
         "range": f"{this_monday.astimezone(tz):%m月%d日} – {now.astimezone(tz):%m月%d日 %H:%M}",
         "charts": _weekly_charts(data["this"]), "stats": data["this"]},
        {"id": "last-week", "title": "上周",
         "range": f"{last_monday.astimezone(tz):%m月%d日} – "
                  f"{(this_monday - timedelta(seconds=1)).astimezone(tz):%m月%d日}",
         "charts": _weekly_charts(data["last"]), "stats": data["last"]},
    ]
    return console.render(request, "weekly.html", title="周报", nav="weekly", periods=periods)
