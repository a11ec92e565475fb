"""Re-scoring cost follows the changes, not the table: 100k and 1M scored leads (one old marketing
event each), 1% of them changed (a fresh price-page view, marked dirty), then one re-scoring sweep.

Printed per size: the sweep with nothing due, the sweep over the 1% changed, and the cost per
changed lead. The baseline, in the same run: re-scoring every lead of the smallest table, the cost a
sweep would have if it followed the table. Bounded means: nothing-due stays flat from 100k to 1M,
the 1% sweep grows with the changed count (10×) so its per-lead cost stays flat, and the 1M sweep
costs a fraction of re-scoring the 100k table.

    python benchmarks/lead_scoring.py                     # sqlite, 100k and 1M
    python benchmarks/lead_scoring.py --backends sqlite,postgres --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.scoring.rescore import rescore_due  # noqa: E402
from store.db import make_engine, migrate, session_scope  # noqa: E402
from store.models import Member, Role, Team  # noqa: E402

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
DIRTY = "2000-01-01 00:00:00.000000"


def sql_ts(dt: datetime, dialect: str) -> str:
    if dialect == "sqlite":
        return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return dt.isoformat()


def populate(url: str, n: int) -> None:
    migrate(url)
    engine = make_engine(url)
    dialect = engine.dialect.name
    with session_scope(engine) as s:
        team = Team(name="bench", created_at=NOW)
        s.add(team)
        s.flush()
        reps = [Member(team_id=team.id, display_name=f"rep{i}", role=Role.REP, sandbox_id=f"r{i}", created_at=NOW)
                for i in range(50)]
        s.add_all(reps)
        s.flush()
        first_rep, team_id = reps[0].id, team.id
    old = sql_ts(NOW - timedelta(days=40), dialect)
    series = ("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s"
              if dialect == "sqlite" else "SELECT i FROM generate_series(1, {n}) AS i").format(n=n)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        # Scored leads with nothing due (lead_score_due_at NULL), a profile the weights know.
        conn.execute(text(
            "INSERT INTO customer (name, name_pinyin, company, owner_id, team_id, stage, stale_rung, industry, "
            "region, latest_channel, channel_unknown, draft, lead_score, lead_score_reasons, lead_scored_at, "
            "created_at) "
            f"SELECT 'c' || i, 'c' || i, 'co' || i || '集团', {first_rep} + (i % 50), {team_id}, '需求确认', 0, "
            f"'制造业', '华东', '官网', false, false, 32, '[]', '{old}', '{old}' FROM ({series}) AS g"))
        conn.execute(text(
            "INSERT INTO marketingevent (source, event_id, type, occurred_at, url, utm, payload, customer_id, "
            f"created_at) SELECT 'web', 'old-' || i, 'page_view', '{old}', 'https://x.cn/a', '{{}}', '{{}}', i, "
            f"'{old}' FROM ({series}) AS g"))
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(f"  {n:,} leads and {n:,} events in {time.perf_counter() - t0:.1f}s", flush=True)
    engine.dispose()


def change(url: str, every: int, tag: str) -> int:
    """A fresh price-page view for every `every`-th lead, marked dirty as the API does."""
    engine = make_engine(url)
    fresh = sql_ts(NOW - timedelta(hours=1), engine.dialect.name)
    dirty = DIRTY if engine.dialect.name == "sqlite" else "2000-01-01T00:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO marketingevent (source, event_id, type, occurred_at, url, utm, payload, customer_id, "
            f"created_at) SELECT 'web', '{tag}-' || id, 'page_view', '{fresh}', 'https://x.cn/pricing', '{{}}', "
            f"'{{}}', id, '{fresh}' FROM customer WHERE id % {every} = 0"))
        changed = conn.execute(text(f"UPDATE customer SET lead_score_due_at = '{dirty}' WHERE id % {every} = 0"))
        count = int(changed.rowcount)
    engine.dispose()
    return count


def timed(engine: Engine, settings: Settings) -> tuple[float, int]:
    t0 = time.perf_counter()
    done = rescore_due(engine, settings, NOW)
    return time.perf_counter() - t0, done


def idle(engine: Engine, settings: Settings, runs: int = 5) -> float:
    return statistics.median(timed(engine, settings)[0] for _ in range(runs))


def bench(name: str, url_for: Callable[[int], str], sizes: list[int]) -> None:
    rows: dict[int, tuple[float, float, int]] = {}
    baseline: tuple[float, int] | None = None
    for n in sizes:
        url = url_for(n)
        print(f"[{name}] populating {n:,} leads", flush=True)
        populate(url, n)
        engine, settings = make_engine(url), Settings(database_url=url)
        timed(engine, settings)  # warm: a connection open, the weights file parsed
        nothing = idle(engine, settings)
        changed = change(url, 100, "d")
        sweep, done = timed(engine, settings)
        assert done == changed, (done, changed)
        rows[n] = (nothing, sweep, done)
        print(f"[{name}] {n:>9,} leads: nothing due {nothing * 1000:7.1f} ms · {done:,} changed (1%) "
              f"{sweep:6.2f} s = {sweep / done * 1e6:6.0f} µs per changed lead", flush=True)
        if baseline is None:  # the table-following cost: every lead of the smallest table re-scored
            changed_all = change(url, 1, "all")
            baseline = timed(engine, settings)
            print(f"[{name}] baseline: all {baseline[1]:,} leads of the {n:,} table re-scored "
                  f"{baseline[0]:6.2f} s = {baseline[0] / baseline[1] * 1e6:6.0f} µs per lead "
                  f"({changed_all:,} marked)", flush=True)
        engine.dispose()
    if len(sizes) >= 2 and baseline is not None:
        small, big = sizes[0], sizes[-1]
        print(f"[{name}] ratio {big:,}/{small:,}: nothing due {rows[big][0] / rows[small][0]:.2f} · "
              f"1% sweep {rows[big][1] / rows[small][1]:.2f} (changed ×{rows[big][2] / rows[small][2]:.0f}) · "
              f"per changed lead {rows[big][1] / rows[big][2] / (rows[small][1] / rows[small][2]):.2f}", flush=True)
        print(f"[{name}] 1% of {big:,} vs re-scoring all {small:,} (baseline): "
              f"{rows[big][1] / baseline[0]:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="genjin-bench-"))
    if "sqlite" in args.backends:
        bench("sqlite", lambda n: f"sqlite:///{tmp}/score-{n}.db", sizes)
    if "postgres" in args.backends:
        from tests.pg_server import PgServer

        server = PgServer().start()
        try:
            bench("postgres", lambda n: server.create_database(f"score_{n}"), sizes)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
