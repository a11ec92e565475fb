"""The weekly health report (Monday 09:00 by default): per rep to the rep, the team to supervisors.

The report for a week is a JobRun marker inserted in the same transaction as its outbox rows: two
instances, a restart or a re-run send it once; after downtime the latest due week is sent late.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.catalog.entries import catalog_entries
from bot.config import Settings
from bot.pipeline.push import push_to_member
from store.anomalies import count_held_anomalies, held_followups
from store.db import session_scope
from store.models import Correction, Customer, FollowUp, JobRun, Member, Role
from store.rep_stats import RepStats as RepStats
from store.rep_stats import rep_stats
from store.upsert import insert_ignore
from store.visits import visit_note_health

OBJECTION_TAGS = ("价格异议", "竞品对比", "流失风险", "技术问题", "决策链变更")


def due_week(settings: Settings, now: datetime) -> tuple[datetime, datetime] | None:
    """The Monday-to-Monday week whose report is due at `now` (local report time has passed)."""
    tz = settings.tz
    local = now.astimezone(tz)
    hh, mm = (int(x) for x in settings.pushes.weekly_report_time.split(":"))
    this_monday = datetime.combine((local - timedelta(days=local.weekday())).date(), time(0), tz)
    report_at = this_monday + timedelta(days=settings.pushes.weekly_report_day, hours=hh, minutes=mm)
    if local < report_at:
        this_monday -= timedelta(days=7)
    return this_monday - timedelta(days=7), this_monday


def send_weekly_reports(engine: Engine, settings: Settings, now: datetime) -> int:
    week = due_week(settings, now)
    if week is None:
        return 0
    start, end = week
    period = f"{start.date().isocalendar().year}-W{start.date().isocalendar().week:02d}"
    with Session(engine) as session:
        if session.exec(select(JobRun).where(col(JobRun.job) == "weekly_report", col(JobRun.period) == period)).first():
            return 0
    with session_scope(engine) as session:
        if (
            insert_ignore(
                session, JobRun, {"job": "weekly_report", "period": period, "created_at": now}, ["job", "period"]
            )
            is None
        ):
            return 0
        return _send(session, settings, start, end, period, now)


def _send(session: Session, settings: Settings, start: datetime, end: datetime, period: str, now: datetime) -> int:
    sent = 0
    # Only reps who were on the team during the week: a new install sends no report of an empty past.
    reps = session.exec(
        select(Member).where(col(Member.active), col(Member.role) == Role.REP, col(Member.created_at) < end)
    ).all()
    by_team: dict[int, list[RepStats]] = {}
    title = f"【周报 {start:%m月%d日}–{(end - timedelta(days=1)):%m月%d日}】"
    catalog = bool(catalog_entries(session=session, settings=settings))
    for rep in reps:
        stats = rep_stats(session, rep, start, end, catalog=catalog)
        by_team.setdefault(rep.team_id, []).append(stats)
        sent += push_to_member(
            session=session, at=now,
            platforms=settings.enabled_platforms,
            member=rep,
            dedupe_key=f"weekly:{period}:{rep.id}",
            text=f"{title}\n{stats.line()}",
        )
    for team_id, lines in by_team.items():
        objections, competitors = team_topics(session, settings, team_id, start, end)
        corrections = tag_correction_rates(session, team_id, start, end)
        noted, judged = visit_note_health(session=session, team_id=team_id, start=start, end=end)
        text = "\n".join(
            [
                f"{title}团队跟进健康度",
                *(s.line() for s in lines),
                "本周主要异议：" + ("、".join(f"{t}({n})" for t, n in objections) or "无"),
                "本周提及竞品：" + ("、".join(f"{c}({n})" for c, n in competitors) or "无"),
                "标签修改率：" + ("、".join(f"{t} {r:.0%}" for t, r in corrections) or "无修改"),
                *([f"拜访后按时记录：{noted}/{judged} 次"] if judged else []),
                *_held_line(session, team_id),
            ]
        )
        sups = session.exec(
            select(Member).where(
                col(Member.team_id) == team_id, col(Member.active), col(Member.role) == Role.SUPERVISOR
            )
        ).all()
        for sup in sups:
            sent += push_to_member(
                session=session, at=now,
                platforms=settings.enabled_platforms,
                member=sup,
                dedupe_key=f"weekly:{period}:team{team_id}:{sup.id}",
                text=text,
            )
    return sent


def _held_line(session: Session, team_id: int) -> list[str]:
    held = count_held_anomalies(session=session, team_id=team_id)
    return [f"待复核的数据异常 {held} 条，相关记录未计入以上数字（控制台「异常」页）"] if held else []


def team_topics(
    session: Session, settings: Settings, team_id: int, start: datetime, end: datetime
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    rows = session.exec(
        select(FollowUp)
        .join(Customer, col(Customer.id) == FollowUp.customer_id)
        .where(col(Customer.team_id) == team_id, col(FollowUp.created_at) >= start, col(FollowUp.created_at) < end,
               col(FollowUp.id).not_in(held_followups()))
    ).all()
    tags = Counter(t for f in rows for t in f.tags if t in OBJECTION_TAGS)
    competitors = Counter(c for f in rows for c in settings.pushes.competitors if c in f"{f.text} {f.transcript or ''}")
    return tags.most_common(3), competitors.most_common(3)


def tag_correction_rates(session: Session, team_id: int, start: datetime, end: datetime) -> list[tuple[str, float]]:
    """Per tag: corrections / times the tag was proposed or toggled on the team's records this week."""
    corrections = session.exec(
        select(Correction).where(
            col(Correction.team_id) == team_id, col(Correction.created_at) >= start, col(Correction.created_at) < end,
            col(Correction.field) == "tag",  # field fixes are corrections too, but not of a tag
            col(Correction.followup_id).not_in(held_followups()),
        )
    ).all()
    changed = Counter((c.before or c.after or "") for c in corrections)
    proposed = Counter(
        t
        for f in session.exec(
            select(FollowUp)
            .join(Customer, col(Customer.id) == FollowUp.customer_id)
            .where(col(Customer.team_id) == team_id, col(FollowUp.created_at) >= start, col(FollowUp.created_at) < end,
                   col(FollowUp.id).not_in(held_followups()))
        ).all()
        for t in f.extracted_tags
    )
    rates = [(tag, n / max(n, proposed.get(tag, 0))) for tag, n in changed.items() if tag]
    return sorted(rates, key=lambda r: -r[1])[:5]
