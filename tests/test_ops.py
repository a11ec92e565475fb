"""Operability: /metrics (Prometheus text), /healthz, /readyz and /status over real HTTP, on SQLite and
PostgreSQL; readiness follows the background loops and the database."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from bot.app import Runtime, build_runtime, build_web_app, seed_sandbox
from bot.clock import system_clock
from bot.config import DingTalkSettings, Settings
from bot.ops.liveness import Heartbeat, Readiness
from bot.pipeline.outbox import Deliverer, PermanentDeliveryError, RateLimit
from bot.platforms.sandbox.adapter import SandboxDeliverer
from store.db import make_engine
from store.models import InboundMessage, OutboxMessage
from tests.conftest import Clock
from tests.fakes.dingtalk import FakeDingTalk
from tests.pg_server import PgServer

_counter = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(kind, url). SQLite lives in a folder of its own so a test can take the database away."""
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path}/db/genjin.db"
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        yield "postgres", server.create_database(f"ops{os.getpid()}_{next(_counter)}")


def make_settings(tmp_path: Path, url: str, **overrides: Any) -> Settings:
    return Settings(database_url=url, data_dir=tmp_path / "var", worker_poll_seconds=0.05, **overrides)


class ScriptedDeliverer:
    """A platform whose answers the test chooses: per-minute limit 1, some recipients refused."""

    platform = "wecom"
    limit = RateLimit(per_minute=1)

    def __init__(self) -> None:
        self.delivered: list[int] = []

    async def deliver(self, row: OutboxMessage) -> None:
        if row.recipient == "gone":
            raise PermanentDeliveryError("invalid userid")
        if row.recipient == "flaky":
            raise ConnectionError("platform timeout")
        assert row.id is not None
        self.delivered.append(row.id)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, frozenset(s.labels.items()))] = s.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


async def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(await response.text())


async def test_metrics_depth_age_and_counters(backend, tmp_path, clock: Clock):
    _kind, url = backend
    wecom = ScriptedDeliverer()
    deliverers: dict[str, Deliverer] = {"sandbox": SandboxDeliverer(), "wecom": wecom}
    runtime = build_runtime(make_settings(tmp_path, url), clock=clock, deliverers=deliverers)
    seed_sandbox(runtime)
    t0 = clock.now
    with Session(runtime.engine) as s:
        for i, (sender, text) in enumerate([("rep-wangfang", "帮助"), ("rep-liming", "帮助")]):
            s.add(InboundMessage(platform="sandbox", msg_id=f"m{i}", sender=sender, kind="text", text=text,
                                 received_at=t0 + timedelta(seconds=30 * i)))
        for recipient in ("u1", "u1", "gone", "flaky"):  # u1 twice: the second is held by the 1/min limit
            s.add(OutboxMessage(platform="wecom", recipient=recipient, kind="text", payload={"text": "提醒"},
                                created_at=t0))
        s.commit()
    clock.now = t0 + timedelta(seconds=120)

    async with TestClient(TestServer(build_web_app(runtime, background=False))) as client:
        before = await scrape(client)
        assert value(before, "genjin_queue_depth", queue="inbox", status="pending", platform="sandbox") == 2
        assert value(before, "genjin_queue_oldest_age_seconds", queue="inbox", status="pending",
                     platform="sandbox") == 120
        assert value(before, "genjin_queue_depth", queue="outbox", status="pending", platform="wecom") == 4
        assert value(before, "genjin_queue_oldest_age_seconds", queue="outbox", status="pending",
                     platform="wecom") == 120
        # Empty queues read 0 rather than vanish.
        assert value(before, "genjin_queue_depth", queue="transcription", status="pending", platform="sandbox") == 0
        assert value(before, "genjin_queue_depth", queue="ocr", status="pending", platform="sandbox") == 0
        assert value(before, "genjin_queue_depth", queue="inbox", status="failed", platform="wecom") == 0
        assert value(before, "genjin_queue_stats_up") == 1
        assert value(before, "genjin_queue_processed_total", queue="inbox", platform="sandbox") is None

        assert await asyncio.to_thread(runtime.worker.drain) == 2
        clock.now = t0 + timedelta(seconds=125)
        await runtime.sender.run_once()
        after = await scrape(client)

    assert value(after, "genjin_queue_processed_total", queue="inbox", platform="sandbox") == 2
    assert value(after, "genjin_queue_depth", queue="inbox", status="pending", platform="sandbox") == 0
    assert value(after, "genjin_queue_oldest_age_seconds", queue="inbox", status="pending", platform="sandbox") == 0
    # Two help replies delivered in the sandbox, one wecom row; the held, refused and flaky rows are counted.
    assert value(after, "genjin_queue_processed_total", queue="outbox", platform="sandbox") == 2
    assert value(after, "genjin_queue_processed_total", queue="outbox", platform="wecom") == 1
    assert value(after, "genjin_outbox_rate_limit_holds_total", platform="wecom") == 1
    assert value(after, "genjin_queue_failed_total", queue="outbox", platform="wecom") == 1
    assert value(after, "genjin_queue_retried_total", queue="outbox", platform="wecom") == 1
    assert len(wecom.delivered) == 1
    # Latency on the injected clock: created at t0, sent at t0 + 125 s.
    assert value(after, "genjin_outbox_delivery_latency_seconds_count", platform="wecom") == 1
    assert value(after, "genjin_outbox_delivery_latency_seconds_sum", platform="wecom") == 125
    assert value(after, "genjin_outbox_delivery_latency_seconds_bucket", platform="wecom", le="120.0") == 0
    assert value(after, "genjin_outbox_delivery_latency_seconds_bucket", platform="wecom", le="300.0") == 1
    # What is left open: the held row (pending) and the flaky one (pending, retry later); one failed.
    assert value(after, "genjin_queue_depth", queue="outbox", status="pending", platform="wecom") == 2
    assert value(after, "genjin_queue_depth", queue="outbox", status="failed", platform="wecom") == 1


async def test_each_runtime_has_its_own_registry(tmp_path, clock: Clock):
    """Two runtimes in one process (tests, benchmarks): no clash, no shared counts."""
    first = build_runtime(make_settings(tmp_path, f"sqlite:///{tmp_path}/a.db"), clock=clock)
    second = build_runtime(make_settings(tmp_path, f"sqlite:///{tmp_path}/b.db"), clock=clock)
    first.metrics.processed("inbox", "sandbox")
    assert b'genjin_queue_processed_total{platform="sandbox",queue="inbox"} 1.0' in first.metrics.render()
    assert b"genjin_queue_processed_total{" not in second.metrics.render()


async def test_ops_token_guards_status_and_metrics_but_not_the_probes(tmp_path, clock: Clock):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/t.db", ops_token="s3cret-token")
    runtime = build_runtime(settings, clock=clock)
    async with TestClient(TestServer(build_web_app(runtime, background=False))) as client:
        for path in ("/status", "/metrics"):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}):
                response = await client.get(path, headers=headers)
                assert response.status == 401 and "Bearer" in response.headers["WWW-Authenticate"], (path, headers)
            ok = await client.get(path, headers={"Authorization": "Bearer s3cret-token"})
            assert ok.status == 200, path
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/readyz")).status in (200, 503)  # answers without a token


async def wait_for_ready(client: TestClient, *, ready: bool, timeout: float = 15.0,
                         naming: str | None = None) -> dict[str, Any]:
    """Poll /readyz until it is (not) ready — and, with `naming`, until that loop is among the not-ready
    ones: on a loaded machine other loops may turn stale for a moment first."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get("/readyz")
        body = await response.json()
        assert response.status == (200 if body["status"] == "ready" else 503)
        done = (response.status == 200) == ready and (naming is None or naming in body.get("not_ready", []))
        if done or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.05)


async def test_readyz_before_start_while_running_and_after_a_loop_stops(tmp_path, clock: Clock):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/g.db")
    idle = build_runtime(settings, clock=clock)
    async with TestClient(TestServer(build_web_app(idle, background=False))) as client:
        response = await client.get("/readyz")
        body = await response.json()
        assert response.status == 503 and body["database"] == "ok"
        assert body["not_ready"] == ["ocr", "outbox", "transcriber", "worker"]
        assert body["loops"]["worker"] == "not started"
        assert (await client.get("/healthz")).status == 200

    runtime = build_runtime(settings, clock=clock)
    async with TestClient(TestServer(build_web_app(runtime))) as client:
        body = await wait_for_ready(client, ready=True)
        assert body["status"] == "ready", body
        assert set(body["loops"]) == {"worker", "outbox", "transcriber", "ocr", "scheduler"}
        # The scheduler ran its start-up sweep, and /metrics counts it by job id.
        deadline = asyncio.get_running_loop().time() + 15
        while value(await scrape(client), "genjin_scheduler_job_runs_total", job="push_sweeps") != 1:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        status = await (await client.get("/status")).json()
        assert status["loops"]["worker"] is not None and status["workers_running"] == 4
        assert set(status) >= {"inbox", "outbox", "transcription", "ocr"}

        worker = next(t for t in runtime.tasks if t.get_name() == "worker")
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        response = await client.get("/readyz")
        body = await response.json()
        assert response.status == 503 and body["not_ready"] == ["worker"] and body["loops"]["worker"] == "stopped"
        assert (await client.get("/healthz")).status == 200


async def test_readyz_names_a_stuck_loop(tmp_path, clock: Clock):
    """A loop whose task lives but no longer goes round (a handler hung) turns stale, then recovers."""
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/g.db", readiness_stale_factor=2,
                             readiness_min_stale_seconds=0.5)
    runtime = build_runtime(settings, clock=clock)
    seed_sandbox(runtime)
    release = threading.Event()

    class Hung:
        def dispatch(self, _ctx: Any) -> str:
            release.wait(20)
            return "hung"

    runtime.worker.dispatcher = Hung()  # type: ignore[assignment]
    async with TestClient(TestServer(build_web_app(runtime, sandbox=True))) as client:
        assert (await wait_for_ready(client, ready=True))["status"] == "ready"
        await client.post("/sandbox/api/messages", json={"member": "rep-wangfang", "text": "帮助"})
        try:
            body = await wait_for_ready(client, ready=False, naming="worker")
            assert "worker" in body["not_ready"] and body["loops"]["worker"].startswith("stale"), body
        finally:
            release.set()
        assert (await wait_for_ready(client, ready=True))["status"] == "ready"


def take_database_away(kind: str, url: str, tmp_path: Path, runtime: Runtime) -> None:
    if kind == "sqlite":
        (tmp_path / "db").rename(tmp_path / "db-away")
    else:  # refuse new connections and end the open ones, as a failed-over or stopped server would
        _admin(url, 'ALTER DATABASE "{db}" WITH ALLOW_CONNECTIONS false',
               "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'")
    runtime.engine.dispose()  # pooled connections would still reach the old file or session


def bring_database_back(kind: str, url: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        (tmp_path / "db-away").rename(tmp_path / "db")
    else:
        _admin(url, 'ALTER DATABASE "{db}" WITH ALLOW_CONNECTIONS true')


def _admin(url: str, *statements: str) -> None:
    import psycopg

    db = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.format(db=db))


async def test_readyz_fails_when_the_database_is_unreachable(backend, tmp_path, clock: Clock):
    kind, url = backend
    runtime = build_runtime(make_settings(tmp_path, url), clock=clock)
    async with TestClient(TestServer(build_web_app(runtime))) as client:
        assert (await wait_for_ready(client, ready=True))["status"] == "ready"
        take_database_away(kind, url, tmp_path, runtime)
        try:
            response = await client.get("/readyz")
            body = await response.json()
            assert response.status == 503 and body["database"] == "unreachable"
            assert body["not_ready"] == ["database"]  # the loops themselves still go round
            health = await client.get("/healthz")
            assert health.status == 200 and (await health.json())["status"] == "ok"
            assert (await client.get("/status")).status == 503
            metrics = await scrape(client)  # counters still scrape; the queue gauges say they are blind
            assert value(metrics, "genjin_queue_stats_up") == 0
        finally:
            bring_database_back(kind, url, tmp_path)
        assert (await wait_for_ready(client, ready=True))["status"] == "ready"


def test_readiness_rules():
    now = [100.0]
    readiness = Readiness(stale_factor=3, min_stale_seconds=10)
    readiness.expect("worker")
    readiness.expect("stream")
    assert readiness.problems() == {"worker": "not started", "stream": "not started"}
    worker, stream = Heartbeat(5, monotonic=lambda: now[0]), Heartbeat(1, monotonic=lambda: now[0])
    alive, connected = [True], [False]
    readiness.started("worker", worker, alive=lambda: alive[0])
    readiness.started("stream", stream, alive=lambda: True, connected=lambda: connected[0])
    assert readiness.problems() == {"worker": "no heartbeat yet", "stream": "not connected"}
    worker.beat()
    connected[0] = True
    assert readiness.problems() == {}
    now[0] += 15  # 3 x 5 s: the limit itself is still fine
    assert readiness.problems() == {}
    now[0] += 1
    assert readiness.problems() == {"worker": "stale: last heartbeat 16.0s ago (limit 15s)"}
    worker.beat()
    stream.beat()  # dropped now: 10 s grace (the floor), then not ready
    connected[0] = False
    now[0] += 10
    assert readiness.problems() == {}
    now[0] += 1
    assert readiness.problems() == {"stream": "disconnected: last heartbeat 11.0s ago (limit 10s)"}
    alive[0] = False
    assert readiness.problems()["worker"] == "stopped"


async def test_readyz_follows_the_dingtalk_stream(tmp_path, sqlite_url: str):
    """With DingTalk configured the stream connection and the deferred-media fetcher are loops too: ready
    once connected; a dropped stream that cannot reconnect turns the instance unready after the grace."""
    fake = await FakeDingTalk().start()
    settings = make_settings(tmp_path, sqlite_url, readiness_stale_factor=2, readiness_min_stale_seconds=0.5,
                             dingtalk=DingTalkSettings(client_id=fake.client_id, client_secret=fake.client_secret,
                                                       robot_code=fake.client_id, api_base=fake.base_url))
    runtime = build_runtime(settings, clock=system_clock)
    try:
        async with TestClient(TestServer(build_web_app(runtime))) as client:
            body = await wait_for_ready(client, ready=True)
            assert body["status"] == "ready", body
            assert set(body["loops"]) == {"worker", "outbox", "transcriber", "ocr", "scheduler", "deferred_media",
                                          "dingtalk_stream"}
            fake.open_failures = 1000  # the gateway refuses every reconnect
            fake.abort_connections()
            body = await wait_for_ready(client, ready=False, naming="dingtalk_stream")
            assert "dingtalk_stream" in body["not_ready"], body
            assert body["loops"]["dingtalk_stream"].startswith("disconnected")
            fake.open_failures = 0
    finally:
        await fake.close()


def test_genjin_status_prints_every_queue(tmp_path, sqlite_url: str, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENJIN_DATABASE_URL", sqlite_url)
    monkeypatch.setattr("bot.cli.configure_logging", lambda *_a, **_k: None)
    engine = make_engine(sqlite_url)
    with Session(engine) as s:
        s.add(InboundMessage(platform="wecom", msg_id="m1", sender="u1", kind="text", text="帮助",
                             received_at=datetime(2026, 11, 16, 2, 0, tzinfo=UTC)))
        s.commit()
    engine.dispose()
    assert main(["status"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"inbox": {"pending": 1}, "outbox": {}, "transcription": {}, "ocr": {}}
