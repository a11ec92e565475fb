"""HTTP server limits: idle and slow clients are disconnected, every request has a deadline.

aiohttp's keepalive_timeout is armed when a connection opens and again after each response, and
closes the connection if the server is still waiting for a complete request by then: an idle
client, and also one that trickles its request line and headers (measured on aiohttp 3.14: the
partial request is dropped at keepalive_timeout whatever it keeps sending). It does not cover a
request whose headers are complete and whose body trickles in: the handler would wait on the
body for ever. The deadline middleware bounds that, and anything else a handler does, with 408
and `Connection: close`; aiohttp then reads what is still coming for at most LINGER_SECONDS
before it closes the socket.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiohttp import web

from bot.config import Settings

log = structlog.get_logger("genjin.http")
LINGER_SECONDS = 2.0  # aiohttp's default is 10 s of reading an unread body after the response


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for web.run_app / web.AppRunner: the same limits in `serve` and in tests."""
    return {"keepalive_timeout": settings.http_idle_timeout, "lingering_time": LINGER_SECONDS}


def deadline_middleware(seconds: float) -> Any:
    @web.middleware
    async def deadline(request: web.Request, handler: Any) -> web.StreamResponse:
        timer = asyncio.timeout(seconds)
        try:
            async with timer:
                response: web.StreamResponse = await handler(request)
                return response
        except TimeoutError:
            if not timer.expired():  # a handler's own TimeoutError is not ours to answer
                raise
        log.warning("http_request_deadline", method=request.method, path=request.path, seconds=seconds)
        response = web.json_response({"error": "timeout", "message": f"请求未在 {seconds:g} 秒内完成"},
                                     status=408)
        response.force_close()
        return response

    return deadline
