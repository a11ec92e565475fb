"""POST /api/leads: marketing systems (forms, ad platforms, event apps) push leads here.

Each source has its own bearer token (settings.leads.sources) and its own rate limit. The order of
answers is: 401 unknown token, 429 over the limit, 400 not JSON, 422 field errors (all of them, with
the field and a Chinese reason; nothing written), then 201 a new lead / 200 a known customer's touch.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.leads.fields import FieldError, validate_lead
from bot.leads.intake import IntakeResult, channel_table, intake_lead
from bot.safe_input import BadJson, load_json
from store.db import session_scope

log = structlog.get_logger("genjin.leads.api")
WINDOW_SECONDS = 60.0


class RateLimiter:
    """Sliding one-minute window per source. In memory: with several instances each one allows the
    limit; the limit protects the database from a runaway form, it is not a quota."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.hits: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> int:
        """0 and counted, or the seconds to wait."""
        now = self.clock()
        hits = self.hits.setdefault(key, deque())
        while hits and hits[0] <= now - WINDOW_SECONDS:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return max(1, math.ceil(hits[0] + WINDOW_SECONDS - now))
        hits.append(now)
        return 0


def source_of(request: web.Request, settings: Settings) -> str | None:
    """The intake source whose bearer token the request carries (settings.leads.sources), or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    found = None
    for source, expected in settings.leads.sources.items():
        # Compare against every token so the time taken does not tell which one was close.
        if hmac.compare_digest(token.strip().encode(), expected.get_secret_value().encode()):
            found = source
    return found


def admit(request: web.Request, settings: Settings, limiter: RateLimiter) -> tuple[str, web.Response | None]:
    """The source, or the refusal: 401 unknown token, then 429 over the source's limit. Shared by
    /api/leads and /api/events, so both answer the same way."""
    source = source_of(request, settings)
    if source is None:
        return "", web.json_response({"error": "unauthorized", "message": "缺少或错误的 Bearer 令牌"}, status=401,
                                     headers={"WWW-Authenticate": 'Bearer realm="genjin-leads"'})
    wait = limiter.retry_after(source)
    if wait:
        return source, web.json_response({"error": "rate_limited", "message": f"请求过于频繁，请 {wait} 秒后重试"},
                                         status=429, headers={"Retry-After": str(wait)})
    return source, None


async def admitted_json(request: web.Request, settings: Settings,
                        limiter: RateLimiter) -> tuple[str, Any, web.Response | None]:
    """admit(), then the body parsed as JSON (400 when it is not): the source, the data, and the
    refusal to answer instead. Shared by /api/leads and /api/events, so both answer the same way."""
    source, refused = admit(request, settings, limiter)
    if refused is not None:
        return source, None, refused
    try:
        return source, load_json(await request.read()), None
    except BadJson as exc:
        return source, None, web.json_response({"error": "invalid_json", "message": exc.reason}, status=400)


def validation_failed(errors: Sequence[FieldError]) -> web.Response:
    """422 with every field error (the field and a Chinese reason)."""
    return web.json_response({"error": "validation", "errors": [e.as_dict() for e in errors]}, status=422)


class LeadApi:
    def __init__(self, engine: Engine, settings: Settings, *, on_queued: Callable[[], None] | None = None,
                 clock: Callable[[], datetime], limiter: RateLimiter | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.on_queued = on_queued  # wake the outbox sender: the rep's card should go out within seconds
        self.clock = clock
        self.limiter = limiter or RateLimiter(settings.leads.rate_limit_per_minute)
        self.channels = channel_table(settings)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/leads", self.post_lead)]

    async def post_lead(self, request: web.Request) -> web.Response:
        source, data, refused = await admitted_json(request, self.settings, self.limiter)
        if refused is not None:
            return refused
        lead, errors = validate_lead(data, channels=self.channels)
        if lead is None:
            log.info("lead_rejected", source=source, errors=[e.as_dict() for e in errors])
            return validation_failed(errors)

        def work() -> IntakeResult:
            with session_scope(self.engine) as session:
                return intake_lead(session=session, settings=self.settings, lead=lead, source=source, now=self.clock())

        try:
            result = await asyncio.to_thread(work)
        except Exception:  # rolled back as a whole: nothing half-written; the sender retries
            log.exception("lead_intake_failed", source=source)
            return web.json_response({"error": "internal", "message": "服务器内部错误，请稍后重试"}, status=500)
        if self.on_queued is not None:
            self.on_queued()
        log.info("lead_received", source=source, **result.as_dict())
        return web.json_response(result.as_dict(), status=200 if result.duplicate else 201)
