"""Operator endpoints: /healthz (the process answers), /readyz (it can do its work), /status (queue
counts as JSON, for people and `genjin status`-style scripts) and /metrics (Prometheus text format).

Probes must answer even when the database does not, so every database call runs in a thread under
a timeout, and a failure is reported in the body (ids and error class only, never the error text,
which may carry the URL or bound values).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.ops.liveness import Readiness
from bot.ops.metrics import CONTENT_TYPE, Metrics
from store.queues import count_queues_by_status

log = structlog.get_logger("genjin.ops")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class OpsEndpoints:
    engine: Engine
    metrics: Metrics
    readiness: Readiness
    extra_status: Callable[[], dict[str, Any]]  # in-process counters for /status
    db_timeout: float = 5.0
    token: str | None = None  # settings.ops_token: guards /status and /metrics when set

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/healthz", self.healthz), web.get("/readyz", self.readyz),
                web.get("/status", self._guarded(self.status)), web.get("/metrics", self._guarded(self.metrics_text))]

    def _guarded(self, handler: Handler) -> Handler:
        """Queue sizes and loop names are not personal data, but an operator who cannot keep the port
        on a monitoring network sets a token; the probes stay open so orchestrators need no secret."""
        async def guarded(request: web.Request) -> web.StreamResponse:
            if self.token is not None:
                scheme, _, given = request.headers.get("Authorization", "").partition(" ")
                if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
                    log.warning("ops_unauthorized", path=request.path)
                    return web.json_response({"error": "unauthorized"}, status=401,
                                             headers={"WWW-Authenticate": 'Bearer realm="genjin-ops"'})
            return await handler(request)
        return guarded

    async def healthz(self, _request: web.Request) -> web.Response:
        """Liveness: the event loop answers. Never touches the database, so a database outage does not
        get a healthy process restarted."""
        return web.json_response({"status": "ok"})

    async def readyz(self, _request: web.Request) -> web.Response:
        database_ok = await self._database_ok()
        problems = self.readiness.problems()
        not_ready = ([] if database_ok else ["database"]) + sorted(problems)
        body = {"status": "not ready" if not_ready else "ready", "database": "ok" if database_ok else "unreachable",
                "loops": {name: problems.get(name, "ok") for name in self.readiness.names}, "not_ready": not_ready}
        return web.json_response(body, status=503 if not_ready else 200)

    async def status(self, _request: web.Request) -> web.Response:
        def counts() -> dict[str, dict[str, int]]:
            with Session(self.engine) as session:
                return count_queues_by_status(session=session)

        loops = {"loops": self.readiness.ages(), **self.extra_status()}
        try:
            queues = await asyncio.wait_for(asyncio.to_thread(counts), self.db_timeout)
        except Exception as exc:  # the endpoint must answer even when the DB does not
            log.error("status_db_unreachable", error=type(exc).__name__)
            return web.json_response({"status": "error", "database": "unreachable", **loops}, status=503)
        return web.json_response({"status": "ok", "database": "ok", **queues, **loops})

    async def metrics_text(self, _request: web.Request) -> web.Response:
        body = await asyncio.to_thread(self.metrics.render)  # the queue collector queries the database
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def _database_ok(self) -> bool:
        def probe() -> None:
            # A bare DBAPI connection: a Session would begin a transaction, which on SQLite is BEGIN
            # IMMEDIATE (store/db.py) and would wait behind any writer instead of answering.
            conn = self.engine.raw_connection()
            try:
                cursor = conn.cursor()
                cursor.execute("SELECT 1")
                cursor.close()
            finally:
                conn.close()

        try:
            await asyncio.wait_for(asyncio.to_thread(probe), self.db_timeout)
        except Exception as exc:
            log.warning("readiness_db_unreachable", error=type(exc).__name__)
            return False
        return True
