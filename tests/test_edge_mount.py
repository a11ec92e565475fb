"""The sandbox page and API (no authentication: anyone could act as any member and read whole
conversations) exist only under `genjin sandbox`, bound to loopback unless --host says otherwise;
`genjin serve` never mounts them."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from bot import cli
from bot.platforms.sandbox.adapter import SandboxAdapter
from tests.edge_support import edge_app


def sandbox_routes() -> list[tuple[str, str]]:
    """Every (method, path) the sandbox adapter defines: a route added later is covered too."""
    adapter = SandboxAdapter(engine=None, settings=None, on_inbound=None, clock=None)  # type: ignore[arg-type]
    return [(r.method, r.path) for r in adapter.routes()]  # type: ignore[attr-defined]


async def test_only_the_sandbox_app_mounts_the_sandbox(sqlite_url, tmp_path, clock):
    routes = sandbox_routes()
    assert {path for _m, path in routes} >= {"/", "/sandbox/api/members", "/sandbox/api/messages",
                                             "/sandbox/api/actions", "/sandbox/api/voice"}
    async with edge_app(sqlite_url, tmp_path, clock, sandbox=False) as edge:  # what `genjin serve` builds
        for method, path in routes:
            r = await edge.client.request(method, path, params={"member": "rep-a"},
                                          json={"member": "rep-a", "text": "帮助", "action": "confirm:1"})
            assert r.status == 404, (method, path)
        assert edge.inbox() == []
        # The production endpoints are all there.
        assert (await edge.client.get("/healthz")).status == 200
        assert (await edge.client.post("/api/leads", json={})).status == 401
        assert (await edge.client.post("/wecom/callback")).status == 400
    async with edge_app(sqlite_url.replace("genjin.db", "sandbox.db"), tmp_path / "sb", clock, sandbox=True) as edge:
        assert (await edge.client.get("/")).status == 200
        assert (await edge.client.get("/sandbox/api/members")).status == 200


class Started:
    def __init__(self) -> None:
        self.calls: list[tuple[web.Application, dict[str, Any]]] = []

    def __call__(self, app: web.Application, **kwargs: Any) -> None:
        self.calls.append((app, kwargs))


def paths_of(app: web.Application) -> set[str]:
    return {r.canonical for r in app.router.resources()}


@pytest.fixture
def started(monkeypatch, tmp_path) -> Started:
    monkeypatch.setenv("GENJIN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("GENJIN_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GENJIN_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("GENJIN_HTTP_IDLE_TIMEOUT", "12.5")
    calls = Started()
    monkeypatch.setattr(web, "run_app", calls)
    return calls


@pytest.mark.parametrize("configured_host", [None, "0.0.0.0"])
def test_genjin_serve_mounts_no_sandbox(started, monkeypatch, configured_host):
    if configured_host:
        monkeypatch.setenv("GENJIN_HOST", configured_host)
    assert cli.main(["serve"]) == 0
    [(app, kwargs)] = started.calls
    assert not any(p == "/" or p.startswith("/sandbox") for p in paths_of(app))
    assert "/healthz" in paths_of(app) and "/api/leads" in paths_of(app)
    assert kwargs["host"] == (configured_host or "127.0.0.1")
    assert kwargs["keepalive_timeout"] == 12.5  # the server timeouts are applied


@pytest.mark.parametrize("argv, host", [(["sandbox"], "127.0.0.1"), (["sandbox", "--host", "0.0.0.0"], "0.0.0.0")])
def test_genjin_sandbox_binds_loopback_unless_told(started, monkeypatch, argv, host):
    monkeypatch.setenv("GENJIN_HOST", "0.0.0.0")  # meant for `serve`; the sandbox ignores it
    assert cli.main(argv) == 0
    [(app, kwargs)] = started.calls
    assert {"/", "/sandbox/api/messages"} <= paths_of(app)
    assert kwargs["host"] == host
