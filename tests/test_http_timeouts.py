"""Slow and idle clients are disconnected: a real server on 127.0.0.1 (the production app, started
with the same server options as `genjin serve`) and raw sockets that idle, trickle their headers,
or trickle a body. Small configured timeouts; every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.app import build_runtime, build_web_app
from bot.http_edge import LINGER_SECONDS, server_options
from tests.edge_support import LEAD_TOKEN, edge_settings

IDLE = 0.6
REQUEST = 0.8
SLACK = 1.5  # scheduling on a busy 2-core machine


@contextlib.asynccontextmanager
async def real_server(db_url: str, tmp_path, clock) -> AsyncIterator[int]:
    settings = edge_settings(db_url, tmp_path / "var", http_idle_timeout=IDLE, http_request_timeout=REQUEST)
    runtime = build_runtime(settings, clock=clock)
    runner = web.AppRunner(build_web_app(runtime, background=False), **server_options(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port
    finally:
        await runner.cleanup()
        runtime.engine.dispose()


@pytest.fixture
async def port(sqlite_url, tmp_path, clock) -> AsyncIterator[int]:
    async with real_server(sqlite_url, tmp_path, clock) as p:
        yield p


async def seconds_until_closed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drip: list[bytes],
                               *, every: float = 0.1, limit: float = 8.0) -> tuple[float, bytes]:
    """Send `drip` one piece every `every` seconds until the server closes the socket; how long that
    took and what the server said. Bounded by `limit`."""
    began = time.monotonic()

    async def trickle() -> None:
        for piece in drip:
            writer.write(piece)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            await asyncio.sleep(every)

    async def read_until_closed() -> bytes:
        # b"" or a response, then EOF. A client that has its answer stops sending: bytes still trickling in
        # after the server's lingering close would make its kernel answer with a reset, and on a loaded machine
        # that reset can overtake the EOF (seen in CI as ConnectionResetError). A reset after the answer is a
        # close too.
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := await reader.read(65536):
                received += chunk
                feeder.cancel()
        return received

    feeder = asyncio.create_task(trickle())
    try:
        received = await asyncio.wait_for(read_until_closed(), timeout=limit)
    finally:
        feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)
        writer.close()
    return time.monotonic() - began, received


async def test_an_idle_connection_is_closed(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    took, received = await seconds_until_closed(reader, writer, [])
    assert received == b"" and IDLE * 0.8 <= took <= IDLE + SLACK


async def test_headers_sent_slowly_are_cut_off(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    drip = [b"GET /healthz HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n"] + [b"X-Slow: %d\r\n" % i for i in range(200)]
    took, received = await seconds_until_closed(reader, writer, drip)
    assert received == b"" and IDLE * 0.8 <= took <= IDLE + SLACK  # 200 lines would take 20 s


async def test_a_body_sent_slowly_gets_408_and_the_connection_closed(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (b"POST /api/leads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + LEAD_TOKEN.encode() + b"\r\nContent-Length: 1000\r\n\r\n")
    took, received = await seconds_until_closed(reader, writer, [head] + [b" "] * 300)
    assert received.startswith(b"HTTP/1.1 408 ")
    assert REQUEST * 0.8 <= took <= REQUEST + LINGER_SECONDS + SLACK  # 300 bytes would take 30 s


async def test_a_request_is_answered_then_the_idle_keep_alive_closed(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), timeout=5)
    assert status.startswith(b"HTTP/1.1 200 ")
    began = time.monotonic()
    rest = await asyncio.wait_for(reader.read(), timeout=8)  # the body, then EOF when the server closes
    writer.close()
    assert b'"status": "ok"' in rest and time.monotonic() - began <= IDLE + SLACK

