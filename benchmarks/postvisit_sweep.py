"""How the post-visit sweep scales: time one pass over N past visits already judged (plus as many
future ones) with nothing due, and with 100 visits due, on SQLite; print the big/small ratio. The
sweep must cost what is due (ix_visit_note_pending), not the size of the visit table.

    python benchmarks/postvisit_sweep.py --sizes 20000,200000
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
from scheduler.postvisit import sweep_postvisit  # noqa: E402
from store.db import make_engine, migrate, session_scope  # noqa: E402
from store.models import Member, Role, Team  # noqa: E402

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday 17:00 in Shanghai


def ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def populate(url: str, visits: int) -> None:
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        team = Team(name="bench", created_at=NOW)
        s.add(team)
        s.flush()
        rep = Member(team_id=team.id, display_name="rep", role=Role.REP, sandbox_id="r", created_at=NOW)
        s.add(rep)
        s.flush()
        rep_id, team_id = rep.id, team.id
    series = "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO customer (name, name_pinyin, owner_id, team_id, stage, stale_rung, created_at, draft, "
            "channel_unknown) "
            f"SELECT 'c' || i, 'c' || i, {rep_id}, {team_id}, '需求确认', 0, '{ts(NOW)}', 0, 0 "
            f"FROM ({series.format(n=visits)}) AS g"))
        # Past visits, all judged; and as many future ones, not yet due.
        conn.execute(text(
            "INSERT INTO visit (customer_id, rep_id, scheduled_at, goal, status, created_at, note_in_time) "
            f"SELECT i, {rep_id}, '{ts(NOW - timedelta(days=30))}', '', 'scheduled', '{ts(NOW)}', 1 "
            f"FROM ({series.format(n=visits)}) AS g"))
        conn.execute(text(
            "INSERT INTO visit (customer_id, rep_id, scheduled_at, goal, status, created_at) "
            f"SELECT i, {rep_id}, '{ts(NOW + timedelta(days=3))}', '', 'scheduled', '{ts(NOW)}' "
            f"FROM ({series.format(n=visits)}) AS g"))
        conn.execute(text("ANALYZE"))
    engine.dispose()


def make_due(url: str, count: int) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE visit SET scheduled_at = '{ts(NOW - timedelta(hours=4))}' "
                          f"WHERE id IN (SELECT id FROM visit WHERE note_in_time IS NULL LIMIT {count})"))
    engine.dispose()


def timed(url: str, runs: int = 7) -> float:
    engine = make_engine(url)
    settings = Settings(database_url=url)
    sweep_postvisit(engine, settings, NOW)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sweep_postvisit(engine, settings, NOW)
        samples.append(time.perf_counter() - t0)
    engine.dispose()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="20000,200000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="genjin-bench-"))
    results: dict[int, tuple[float, float]] = {}
    for n in sizes:
        url = f"sqlite:///{tmp}/postvisit-{n}.db"
        populate(url, n)
        idle = timed(url)
        make_due(url, 100)
        engine = make_engine(url)
        t0 = time.perf_counter()
        sent = sweep_postvisit(engine, Settings(database_url=url), NOW)
        busy = time.perf_counter() - t0
        engine.dispose()
        results[n] = (idle, busy)
        print(f"[sqlite] {2 * n:>9,} visits: nothing due {idle * 1000:7.2f} ms · 100 due {busy * 1000:7.1f} ms "
              f"({sent} cards)", flush=True)
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        print(f"[sqlite] ratio {big:,}/{small:,}: nothing due {results[big][0] / results[small][0]:.2f} · "
              f"100 due {results[big][1] / results[small][1]:.2f}")


if __name__ == "__main__":
    main()
