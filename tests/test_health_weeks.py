"""The data-health page's weeks kept per rep and week (store/health_weeks.py): the scheduled job
counts each once per slot on N instances, recounts only the week still settling, and the page reads
the kept rows instead of counting eight weeks of records."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from scheduler.health_weeks import count_health_weeks, health_weeks_job
from store.db import session_scope
from store.followups import confirm_followup, create_followup
from store.health_score import HealthCounts
from store.health_weeks import REFRESH, TREND_WEEKS, week_start
from store.models import HealthWeek, Member, Role
from tests.console_support import client, console_stack, follow
from tests.test_console_reports import login


def _rows(engine) -> list[HealthWeek]:
    with Session(engine) as s:
        return list(s.exec(select(HealthWeek).order_by(col(HealthWeek.rep_id), col(HealthWeek.week_start))).all())


@pytest.fixture
async def stack(tmp_path, db_url, clock):
    async with console_stack(tmp_path, db_url, clock, sandbox=True) as s:
        yield s


async def test_job_counts_each_week_once_and_recounts_only_the_settling_one(stack, clock):
    engine, settings = stack.runtime.engine, stack.runtime.settings
    with Session(engine) as s:
        reps = s.exec(select(Member.id).where(col(Member.role) == Role.REP, col(Member.active))).all()
    assert health_weeks_job(engine, settings, lambda: clock.now) == len(reps) * TREND_WEEKS
    assert health_weeks_job(engine, settings, lambda: clock.now) == 0  # same slot: another instance's
    assert count_health_weeks(engine, settings, clock.now) == 0  # nothing due: every row is fresh
    rows = _rows(engine)
    assert len(rows) == len(reps) * TREND_WEEKS  # one row per rep and week
    clock.now += REFRESH
    # Only last week (ended less than SETTLE ago) is due again; the seven before it are final.
    assert health_weeks_job(engine, settings, lambda: clock.now) == len(reps)
    last_week = week_start(clock.now, settings.tz) - timedelta(days=7)
    assert {r.week_start for r in _rows(engine) if r.computed_at == clock.now} == {last_week}
    assert len(_rows(engine)) == len(rows)


async def test_page_reads_the_kept_weeks_and_counts_a_late_confirm_when_due(stack, clock):
    engine, settings = stack.runtime.engine, stack.runtime.settings
    count_health_weeks(engine, settings, clock.now)
    rep_b = stack.org.rep_b.id
    last_week = week_start(clock.now, settings.tz) - timedelta(days=7)
    with session_scope(engine) as s:  # what the page shows for 李明 last week comes from this row
        row = s.exec(select(HealthWeek).where(col(HealthWeek.rep_id) == rep_b,
                                              col(HealthWeek.week_start) == last_week)).one()
        row.counts = asdict(HealthCounts(records=4, confirmed=4, fields_filled=20))
        s.add(row)

    def li_ming(text: str) -> str:
        row = text.split(f'data-rep="{rep_b}"', 1)[1].split("</tr>", 1)[0]
        return row.split('<span class="score">', 1)[1].split("</span>", 1)[0]

    async with client() as http:
        await login(stack, http, "sup")
        _, text, _ = await follow(http, stack.url("/console/health"))
        assert li_ming(text) == "100"  # the kept row, not a recount (李明 made no record last week)
        with session_scope(engine) as s:  # a record of last week, confirmed late
            member = s.get(Member, rep_b)
            f = create_followup(session=s, actor=member, customer_id=stack.book.others, kind="chat", text="周总要报价",
                                tags=["要报价"], at=clock.now - timedelta(days=4))
            confirm_followup(session=s, actor=member, followup_id=f.id or 0, at=clock.now)
        clock.now += REFRESH  # the row is due again: the page counts the week and keeps it
        _, text, _ = await follow(http, stack.url("/console/health"))
        assert li_ming(text) not in ("100", "—", "")
    kept = next(r for r in _rows(engine) if r.rep_id == rep_b and r.week_start == last_week)
    assert kept.computed_at == clock.now and kept.counts["records"] == 1


async def test_this_week_so_far_is_kept_for_a_refresh_and_never_taken_for_the_full_week(stack, clock):
    engine, settings = stack.runtime.engine, stack.runtime.settings
    count_health_weeks(engine, settings, clock.now)
    rep_b = stack.org.rep_b.id
    monday = week_start(clock.now, settings.tz)

    def this_week_row() -> HealthWeek | None:
        return next((r for r in _rows(engine) if r.rep_id == rep_b and r.week_start == monday), None)

    def record(text: str) -> None:
        with session_scope(engine) as s:
            member = s.get(Member, rep_b)
            f = create_followup(session=s, actor=member, customer_id=stack.book.others, kind="chat", text=text,
                                tags=["要报价"], at=clock.now - timedelta(minutes=1))
            confirm_followup(session=s, actor=member, followup_id=f.id or 0, at=clock.now - timedelta(minutes=1))

    async with client() as http:
        await login(stack, http, "sup")
        record("周总要报价")
        await follow(http, stack.url("/console/health?period=this"))
        first = this_week_row()
        assert first is not None and first.computed_at == clock.now  # counted when shown, then kept
        seen = first.counts["records"]
        record("周总又问了报价")
        clock.now += timedelta(minutes=5)  # within REFRESH: the kept row is what the page shows
        await follow(http, stack.url("/console/health?period=this"))
        assert this_week_row().computed_at == first.computed_at
        clock.now += REFRESH  # due again: counted with the new record
        await follow(http, stack.url("/console/health?period=this"))
        again = this_week_row()
        assert again.computed_at == clock.now and again.counts["records"] == seen + 1
    # Once the week is over, the row counted while it ran is due at once, for the job as for the page.
    clock.now = monday + timedelta(days=7, minutes=1)
    assert count_health_weeks(engine, settings, clock.now) >= 1
    assert this_week_row().computed_at == clock.now
