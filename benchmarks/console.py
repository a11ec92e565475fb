"""Console page times on a generated book: the pipeline (a supervisor's team, an admin's whole org,
one rep filtered), the data-health page (a supervisor's team, an admin's whole org), a customer 360
page and a rep's 我的 page, each requested over loopback HTTP from the real app (session cookie signed
with the configured key), p50/p95 of N requests. Run at two sizes to see how each page scales with
the data.

Usage: python benchmarks/console.py [--customers 10000] [--events-per-customer 10] [--scale 10]
       [--requests 20] [--database-url postgresql://…/a --database-url postgresql://…/b]
       (default: a fresh SQLite file per size in a temp dir)
50 reps in 5 teams (a supervisor each) and an admin; two records per customer (one confirmed, with
an amount, kept on the customer as the app keeps it) and the timeline events spread over each
customer's life (arrival within the last year, up to now), a fifth of them stage changes; a third of
the customers are leads from the intake. Target (issue #15): p95 <= 200 ms per page, and 10x the data
costs at most 2x (the grid reads the totals the customer triggers keep, the health page the weeks the
scheduled job keeps). Always exits 0 (a report, not a gate).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # allow running from a checkout without installing the package

import aiohttp  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bot.app import build_runtime, build_web_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.web.sessions import Signer  # noqa: E402
from scheduler.health_weeks import count_health_weeks  # noqa: E402
from store.models import Customer, FollowUp, Member, Team, TimelineEvent  # noqa: E402
from store.stages import Stage  # noqa: E402
from store.totals import rebuild_pipeline_totals  # noqa: E402

KEY = "benchmark-console-signing-key-000000"
NOW = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
REPS, TEAMS = 50, 5
CHANNELS = ["抖音", "小红书", "官网", "展会活动", "转介绍", "百度"]
PRODUCTS = ["移动CRM", "运输管理系统", "ERP", "SaaS"]
KINDS = ["followup_chat", "followup_confirmed", "stage_changed", "lead_touch", "visit_scheduled"]
STAGES = [str(s) for s in Stage]
PATH = STAGES[:-1]  # the deal path, without 已流失
BATCH = 5000


def _chunks(rows: list[dict[str, Any]]) -> Any:
    for i in range(0, len(rows), BATCH):
        yield rows[i:i + BATCH]


def seed(engine: Any, customers: int, events_per_customer: int) -> dict[str, int]:
    rng = random.Random(15)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:
            # Bulk seeding: the customer triggers' per-row plpgsql call made a 1M seed run for an hour; they
            # are off for this transaction only (we own the throwaway server) and the totals are rebuilt
            # from the customers afterwards, exactly what `genjin totals --rebuild` does.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        team_ids = [conn.execute(insert(Team).values(name=f"组{t}", created_at=NOW)).inserted_primary_key[0]
                    for t in range(TEAMS)]
        reps = []
        for i in range(REPS):
            team = team_ids[i % TEAMS]
            reps.append((conn.execute(insert(Member).values(team_id=team, display_name=f"销售{i}", role="rep",
                                                            active=True, created_at=NOW)).inserted_primary_key[0],
                         team))
        supervisor = conn.execute(insert(Member).values(team_id=team_ids[0], display_name="主管", role="supervisor",
                                                        active=True, created_at=NOW)).inserted_primary_key[0]
        admin = conn.execute(insert(Member).values(team_id=team_ids[0], display_name="管理员", role="admin",
                                                   active=True, created_at=NOW)).inserted_primary_key[0]
        rows = []
        amounts = [rng.randint(1, 90) * 10_000 for _ in range(customers)]
        created_at = [NOW - timedelta(days=rng.randint(1, 365), minutes=rng.randint(0, 1439)) for _ in range(customers)]
        for i in range(customers):
            owner, team = reps[i % REPS]
            created = created_at[i]
            lead = i % 3 == 0
            rows.append({"amount_cny": amounts[i], "lead_received_at": created if lead else None,
                         "first_contact_at": created + timedelta(minutes=rng.randint(5, 600)) if lead else None,
                         "name": f"客户{i}", "name_pinyin": f"kehu{i}", "owner_id": owner, "team_id": team,
                         "stage": rng.choice(STAGES), "product": rng.choice(PRODUCTS),
                         "source_channel": rng.choice(CHANNELS), "latest_channel": rng.choice(CHANNELS),
                         "phone": f"+86139{i:08d}", "next_contact_at": NOW + timedelta(hours=rng.randint(-48, 200)),
                         "last_activity_at": created, "stale_rung": rng.choice([0, 0, 0, 1, 2]),
                         "stale_due_at": created, "created_at": created, "channel_unknown": False, "risk": None})
        for chunk in _chunks(rows):
            conn.execute(insert(Customer), chunk)
        first = conn.execute(Customer.__table__.select().order_by(Customer.__table__.c.id).limit(1)).first()
        first_id = int(first.id)  # type: ignore[union-attr]
        ids = range(first_id, first_id + customers)
        followups = []
        def during(cid: int) -> datetime:  # an instant in the customer's life so far
            created = created_at[cid - first_id]
            return created + (NOW - created) * rng.random()

        for cid in ids:
            owner = reps[(cid - first_id) % REPS][0]
            first, second = sorted((during(cid), during(cid)))
            followups.append({"customer_id": cid, "rep_id": owner, "kind": "chat", "text": "客户说下周演示",
                              "tags": ["要演示"], "extracted_tags": ["要演示"],
                              "amount_cny": amounts[cid - first_id], "confirmed": True, "created_at": first})
            followups.append({"customer_id": cid, "rep_id": owner, "kind": "chat", "text": "价格太高",
                              "tags": ["价格异议"], "extracted_tags": ["价格异议"], "amount_cny": None,
                              "confirmed": False, "created_at": second})
        for chunk in _chunks(followups):
            conn.execute(insert(FollowUp), chunk)
        events = _events(ids, reps, first_id, events_per_customer, rng, during)
        if postgres:
            _copy_events(conn, events)
        else:
            batch: list[dict[str, Any]] = []
            for cid, owner, kind, summary, created in events:
                batch.append({"customer_id": cid, "actor_id": owner, "kind": kind, "summary": summary, "ref": {},
                              "created_at": created})
                if len(batch) >= BATCH * 4:
                    conn.execute(insert(TimelineEvent), batch)
                    batch = []
            if batch:
                conn.execute(insert(TimelineEvent), batch)
    if postgres:
        with Session(engine) as session:
            rebuild_pipeline_totals(session=session)
            session.commit()
    return {"supervisor": supervisor, "admin": admin, "rep": reps[0][0], "customer": first_id, "rebuilt": postgres}


def _events(ids: range, reps: list[tuple[int, int]], first_id: int, per_customer: int, rng: random.Random,
            during: Any) -> Iterator[tuple[int, int, str, str, datetime]]:
    """The timeline: (customer, actor, kind, summary, created_at), `per_customer` events each."""
    for cid in ids:
        owner = reps[(cid - first_id) % REPS][0]
        for e in range(per_customer):
            kind = KINDS[e % len(KINDS)]
            summary = f"阶段 {rng.choice(PATH)} → {rng.choice(PATH)}" if kind == "stage_changed" else f"事件 {e}"
            yield cid, owner, kind, summary, during(cid)


def _copy_events(conn: Any, events: Iterator[tuple[int, int, str, str, datetime]]) -> None:
    """PostgreSQL: the timeline through COPY (10M rows by executemany took most of an hour)."""
    table = TimelineEvent.__tablename__
    with conn.connection.cursor() as cursor, cursor.copy(
        f"COPY {table} (customer_id, actor_id, kind, summary, ref, created_at) FROM STDIN"
    ) as copy:
        for cid, owner, kind, summary, created in events:
            copy.write_row((cid, owner, kind, summary, "{}", created))


PAGES = [  # (label, path, who asks); {rep} and {customer} are filled in per database
    ("pipeline, supervisor (team)", "/console/pipeline", "supervisor"),
    ("pipeline, admin (all)", "/console/pipeline", "admin"),
    ("pipeline, one rep", "/console/pipeline?rep={rep}", "supervisor"),
    ("health, supervisor (team)", "/console/health", "supervisor"),
    ("health, admin (all)", "/console/health", "admin"),
    ("health, supervisor, 本周至今", "/console/health?period=this", "supervisor"),
    ("customer 360", "/console/customers/{customer}", "rep"),
    ("我的 (rep)", "/console/mine", "rep"),
]


async def prepare(database_url: str, data_dir: Path, customers: int,
                  events: int) -> tuple[Any, TestServer, dict[str, int]]:
    settings = Settings(database_url=database_url, data_dir=data_dir, console={"session_key": KEY})
    runtime = build_runtime(settings, clock=lambda: NOW)
    print(f"{customers:,} customers ({database_url.split(':', 1)[0]}):")
    started = time.perf_counter()
    ids = seed(runtime.engine, customers, events)
    if runtime.engine.dialect.name == "postgresql":
        # Autovacuum analyses tables this size on its own; right after a bulk insert the planner has no
        # statistics yet and picks plans no running server would (我的 took 450 ms instead of 5).
        with runtime.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    print(f"  seeded {customers:,} customers, {customers * 2:,} records, {customers * events:,} timeline events "
          f"in {time.perf_counter() - started:.1f} s (pipeline totals "
          + ("rebuilt after the trigger-less bulk seed)" if ids.get("rebuilt") else "kept by the customer triggers)"))
    # What the scheduler does at start-up and every 10 minutes: the health page's full weeks, counted
    # ahead and kept (store/health_weeks.py); the page then reads rows. Off the request path, timed here.
    started = time.perf_counter()
    rows = count_health_weeks(runtime.engine, settings, NOW)
    print(f"  health weeks counted ahead: {rows} rows in {time.perf_counter() - started:.1f} s (scheduled job)")
    server = TestServer(build_web_app(runtime, background=False), host="127.0.0.1")
    await server.start_server()
    return runtime, server, ids


async def get(http: aiohttp.ClientSession, url: str, cookie: str) -> tuple[float, int]:
    start = time.perf_counter()
    async with http.get(url, allow_redirects=False, cookies={"genjin_session": cookie}) as resp:
        await resp.read()
        return (time.perf_counter() - start) * 1000, resp.status


async def run(urls: list[str], tmp: Path, sizes: list[int], events: int, requests: int) -> list[dict[str, Any]]:
    """Seed every size, then time each page on all sizes in turn, request by request: on a shared
    machine a burst of load elsewhere then hits every size alike instead of skewing the ratio."""
    prepared = [await prepare(url, tmp / f"var{n}", size, events)
                for n, (url, size) in enumerate(zip(urls, sizes, strict=True))]
    signer = Signer(KEY.encode(), lambda: NOW)
    results: list[dict[str, Any]] = [{} for _ in prepared]
    try:
        async with aiohttp.ClientSession() as http:
            for label, path, who in PAGES:
                times: list[list[float]] = [[] for _ in prepared]
                statuses = set()
                for r in range(requests + 2):
                    for n, (_, server, ids) in enumerate(prepared):
                        url = str(server.make_url(path.format(rep=ids["rep"], customer=ids["customer"])))
                        cookie = signer.dumps("session", {"m": ids[who], "sid": "bench"}, ttl_seconds=3600)
                        ms, status = await get(http, url, cookie)
                        statuses.add(status)
                        if r >= 2:  # warm-up: the first two of each
                            times[n].append(ms)
                for n in range(len(prepared)):
                    results[n][label] = (statistics.median(times[n]), statistics.quantiles(times[n], n=20)[18])
                line = "   ".join(f"{sizes[n]:>9,}: p50 {p50:6.1f} p95 {p95:6.1f} ms"
                                   for n, (p50, p95) in ((n, results[n][label]) for n in range(len(prepared))))
                print(f"  {label:<30} {line}   (HTTP {','.join(map(str, sorted(statuses)))})")
    finally:
        for runtime, server, _ in prepared:
            await server.close()
            runtime.engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--events-per-customer", type=int, default=10)
    parser.add_argument("--scale", type=int, default=10, help="second size with this many times the customers")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database-url", action="append", default=[],
                        help="an empty database to fill (default: SQLite in a temp dir); give it once per size "
                             "(e.g. two PostgreSQL databases)")
    args = parser.parse_args()
    sizes = [args.customers] + ([args.customers * args.scale] if args.scale > 1 else [])
    with tempfile.TemporaryDirectory() as tmp:
        urls = [args.database_url[n] if n < len(args.database_url) else f"sqlite:///{tmp}/console{n}.db"
                for n in range(len(sizes))]
        runs = asyncio.run(run(urls, Path(tmp), sizes, args.events_per_customer, args.requests))
    print(f"page times at {sizes[0]:,} and {sizes[-1]:,} customers; ratio at {args.scale}x the data (p50, p95):")
    for label in runs[0]:
        (a50, a95), (b50, b95) = runs[0][label], runs[-1][label]
        print(f"  {label:<30} {a95:6.1f} → {b95:6.1f} ms p95   {b50 / a50:5.1f}x {b95 / a95:5.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
