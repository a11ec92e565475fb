"""How the push sweeps scale: time one pass of every job over 100k and 1M customers (10 follow-ups
each) on SQLite and PostgreSQL, with nothing due and with 100 customers due, and print the 1M/100k
ratio. A sweep's cost must follow the due work, not the table size.

    python benchmarks/sweep.py                       # sqlite and postgres, 100k and 1M
    python benchmarks/sweep.py --sizes 10000,100000 --backends sqlite
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bot.config import Settings  # noqa: E402
from scheduler.setup import run_sweeps  # noqa: E402
from store.db import make_engine, migrate, session_scope  # noqa: E402
from store.models import JobRun, Member, Role, Team  # noqa: E402

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 11:00 in Shanghai


def sql_ts(dt: datetime, dialect: str) -> str:
    if dialect == "sqlite":
        return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return dt.isoformat()


def populate(url: str, customers: int, followups: int) -> None:
    migrate(url)
    engine = make_engine(url)
    dialect = engine.dialect.name
    with session_scope(engine) as s:
        team = Team(name="bench", created_at=NOW - timedelta(days=60))
        s.add(team)
        s.flush()
        joined = NOW - timedelta(days=60)
        reps = [Member(team_id=team.id, display_name=f"rep{i}", role=Role.REP, sandbox_id=f"r{i}", created_at=joined)
                for i in range(50)]
        s.add_all(reps)
        s.add(Member(team_id=team.id, display_name="sup", role=Role.SUPERVISOR, sandbox_id="sup", created_at=joined))
        s.flush()
        first_rep = reps[0].id
        team_id = team.id
    future = sql_ts(NOW + timedelta(days=30), dialect)
    recent = sql_ts(NOW - timedelta(hours=1), dialect)
    old = sql_ts(NOW - timedelta(days=40), dialect)
    series = (
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s"
        if dialect == "sqlite" else "SELECT i FROM generate_series(1, {n}) AS i"
    )
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO customer (name, name_pinyin, owner_id, team_id, stage, stale_rung, stale_due_at, "
            "last_activity_at, created_at) "
            f"SELECT 'c' || i, 'c' || i, {first_rep} + (i % 50), {team_id}, '需求确认', 0, '{future}', "
            f"'{recent}', '{old}' FROM ({series.format(n=customers)}) AS g"
        ))
        print(f"  {customers:,} customers in {time.perf_counter() - t0:.1f}s", flush=True)
        for k in range(followups):
            conn.execute(text(
                # Checked by the anomaly sweep long ago, as migration 0013 marks the records it finds.
                "INSERT INTO followup (customer_id, rep_id, kind, text, tags, extracted_tags, confirmed, created_at, "
                "anomaly_checked_at) "
                f"SELECT i, {first_rep} + (i % 50), 'chat', '跟进', '[]', '[]', true, '{old}', '{old}' "
                f"FROM ({series.format(n=customers)}) AS g"
            ))
            print(f"  follow-ups {k + 1}/{followups} ({time.perf_counter() - t0:.1f}s)", end="\r", flush=True)
        period = f"{(NOW.date() - timedelta(days=NOW.weekday() + 7)).isocalendar().year}-W"
        del period
    print(flush=True)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    with session_scope(engine) as s:  # this week's report already sent: the weekly job has nothing due
        s.add(JobRun(job="weekly_report", period=_week(NOW), created_at=NOW))
    engine.dispose()


def _week(now: datetime) -> str:
    from scheduler.weekly import due_week

    start, _ = due_week(Settings(), now)  # type: ignore[misc]
    iso = start.date().isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def make_due(url: str, count: int) -> None:
    engine = make_engine(url)
    past = sql_ts(NOW - timedelta(minutes=5), engine.dialect.name)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE customer SET stale_due_at = '{past}' WHERE id <= {count}"))
    engine.dispose()


def time_sweeps(url: str, runs: int = 7) -> float:
    engine = make_engine(url)
    settings = Settings(database_url=url)
    run_sweeps(engine, settings, NOW)  # warm caches and connections
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run_sweeps(engine, settings, NOW)
        samples.append(time.perf_counter() - t0)
    engine.dispose()
    return statistics.median(samples)


def bench_backend(name: str, url_for, sizes: list[int], followups: int) -> None:
    results: dict[int, tuple[float, float]] = {}
    for n in sizes:
        url = url_for(n)
        print(f"[{name}] populating {n:,} customers × {followups} follow-ups", flush=True)
        populate(url, n, followups)
        idle = time_sweeps(url)
        make_due(url, 100)
        # the first pass handles the 100 due customers; time it alone (it does real work)
        engine = make_engine(url)
        t0 = time.perf_counter()
        run_sweeps(engine, Settings(database_url=url), NOW)
        busy = time.perf_counter() - t0
        engine.dispose()
        results[n] = (idle, busy)
        print(f"[{name}] {n:>9,} customers: sweep with nothing due {idle * 1000:7.1f} ms · "
              f"with 100 due {busy * 1000:7.1f} ms", flush=True)
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        print(f"[{name}] ratio {big:,}/{small:,}: nothing due {results[big][0] / results[small][0]:.2f} · "
              f"100 due {results[big][1] / results[small][1]:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--followups", type=int, default=10)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="genjin-bench-"))
    if "sqlite" in args.backends:
        bench_backend("sqlite", lambda n: f"sqlite:///{tmp}/sweep-{n}.db", sizes, args.followups)
    if "postgres" in args.backends:
        from tests.pg_server import PgServer

        server = PgServer().start()
        try:
            bench_backend("postgres", lambda n: server.create_database(f"sweep_{n}"), sizes, args.followups)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
