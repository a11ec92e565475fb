"""POST /api/events: marketing behaviour (page views, downloads, webinar watches, form submissions,
ad clicks) from the same sources and tokens as /api/leads (settings.leads.sources).

Order of answers, like /api/leads: 401 unknown token, 429 over the source's limit
(leads.events_rate_limit_per_minute), 400 not JSON, 422 field errors (all of them; nothing written),
then 201 stored / 200 a replay (same source and event_id: nothing written again). A JSON list posts a
batch of up to 100 (answer 200 with one result per event). A matched event goes on the customer's
timeline and re-scores the lead in the same transaction; an unmatched one waits for its customer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.leads.api import RateLimiter, admitted_json, validation_failed
from bot.leads.event_fields import validate_events
from bot.leads.intake import channel_table
from bot.scoring.rescore import rescore_customers
from bot.scoring.weights import WeightsError, load_weights
from store.db import session_scope
from store.leads import lock_contact_keys
from store.marketing import EventRecord, Recorded, record_marketing_event

log = structlog.get_logger("genjin.events.api")


class EventApi:
    def __init__(self, engine: Engine, settings: Settings, *, clock: Callable[[], datetime],
                 limiter: RateLimiter | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.limiter = limiter or RateLimiter(settings.leads.events_rate_limit_per_minute)
        self.channels = channel_table(settings)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/events", self.post_events)]

    def _store(self, source: str, events: list[EventRecord], now: datetime) -> list[Recorded]:
        with session_scope(self.engine) as session:
            # A batch takes all its contact locks up front, in one order: two batches cannot deadlock.
            lock_contact_keys(session=session, keys=[k for e in events for k in (e.phone, e.email) if k])
            results = [record_marketing_event(session=session, source=source, event=e, at=now) for e in events]
            matched = [r.customer_id for r in results if r.customer_id is not None and not r.replayed]
            if matched:
                try:
                    weights = load_weights(self.settings.scoring.weights_file)
                except WeightsError as exc:  # the rows stay dirty; the timer scores them once it is fixed
                    log.error("scoring_weights_invalid", error=str(exc))
                else:
                    session.flush()
                    rescore_customers(session=session, customer_ids=matched, weights=weights, now=now)
            return results

    async def post_events(self, request: web.Request) -> web.Response:
        source, data, refused = await admitted_json(request, self.settings, self.limiter)
        if refused is not None:
            return refused
        now = self.clock()
        events, errors, batch = validate_events(data, now=now, channels=self.channels)
        if events is None:
            log.info("events_rejected", source=source, errors=[e.as_dict() for e in errors][:20])
            return validation_failed(errors)
        try:
            results = await asyncio.to_thread(self._store, source, events, now)
        except SQLAlchemyError:  # rolled back as a whole: nothing half-written; the sender retries
            log.exception("events_store_failed", source=source)
            return web.json_response({"error": "unavailable", "message": "暂时无法保存，请稍后重试"}, status=503,
                                     headers={"Retry-After": "5"})
        body: list[dict[str, Any]] = [
            {"event_id": e.event_id, "replayed": r.replayed, "matched": r.customer_id is not None}
            for e, r in zip(events, results, strict=True)]
        log.info("events_received", source=source, count=len(events),
                 new=sum(not r.replayed for r in results), matched=sum(r.customer_id is not None for r in results))
        if batch:
            return web.json_response({"results": body}, status=200)
        return web.json_response(body[0], status=200 if results[0].replayed else 201)
