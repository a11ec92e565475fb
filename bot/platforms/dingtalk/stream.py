"""DingTalk enterprise robot in Stream mode: frames in over a websocket, one inbox row each, then the ack.

This is the only module that imports dingtalk_stream. We use the SDK's client, frame classes and
handler classes (ChatbotHandler for robot messages, CallbackHandler for card clicks, SystemHandler
for ping/disconnect) but replace `DingTalkStreamClient.start`, because in 0.24.3 it
- opens the connection with blocking `requests` inside the event loop,
- swallows CancelledError (a cancelled client keeps running, so shutdown never finishes),
- reconnects at once, in a tight loop, whenever the socket closes normally,
- acks on `self.websocket`, which after a reconnect is the *new* socket, not the frame's own.
Our `start` opens the connection with aiohttp, reads one socket until it closes, acks each frame on
the socket it came from, and reconnects with exponential backoff; cancelling it shuts down cleanly.

A frame is acknowledged only after its inbox row is committed (ARCHITECTURE invariant 1). When the
insert fails nothing is acked and DingTalk redelivers the frame; a redelivery of a stored frame finds
the (platform, msg_id) key taken and is acked without a second row.
https://open.dingtalk.com/document/orgapp/the-streaming-mode-is-connected-to-the-robot-receiving-message
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

import dingtalk_stream
import structlog
import websockets
from dingtalk_stream.frames import AckMessage, CallbackMessage, SystemMessage
from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.config import DingTalkSettings, Settings
from bot.ops.liveness import Heartbeat
from bot.pipeline.inbox_writer import InboxWriter
from bot.pipeline.media import fetch_before_ack
from bot.pipeline.member_directory import MemberDirectory
from bot.platforms.dingtalk.api import DingTalkApi, DingTalkError, DingTalkHTTPError
from bot.platforms.dingtalk.inbound import MEDIA_PREFIX, Parsed, parse_card_click, parse_message

log = structlog.get_logger("genjin.dingtalk")

TOPIC_BOT = dingtalk_stream.ChatbotMessage.TOPIC  # /v1.0/im/bot/messages/get
TOPIC_CARD = dingtalk_stream.CallbackHandler.TOPIC_CARD_CALLBACK  # /v1.0/card/instances/callback
OnStarted = Callable[["StreamClient", "asyncio.Task[None]"], None]  # e.g. register it for /readyz
def api_from_settings(config: DingTalkSettings) -> DingTalkApi:
    return DingTalkApi(client_id=config.client_id, client_secret=config.client_secret.get_secret_value(),
                       robot_code=config.robot_code, api_base=config.api_base, oapi_base=config.oapi_base)


class Intake:
    """Stores one parsed frame: fetch its file while the downloadCode is valid, insert the row.
    A sender who is not an active member gets the row only: no download, no file."""

    def __init__(self, *, writer: InboxWriter, members: MemberDirectory, on_inbound: Callable[[], None],
                 api: DingTalkApi, media_dir: Path, max_bytes: int, tz: ZoneInfo,
                 download_budget: float = 5.0) -> None:
        self.writer = writer
        self.members = members
        self.on_inbound = on_inbound
        self.api = api
        self.media_dir = media_dir
        self.max_bytes = max_bytes
        self.tz = tz
        # The ack waits for the download; past the budget the code is kept and the file fetched later.
        self.download_budget = download_budget

    async def store(self, parsed: Parsed) -> None:
        inbound = parsed.inbound
        if parsed.download_code is not None:
            if await self.writer.exists(inbound.platform, inbound.msg_id):
                log.info("dingtalk_inbound", msg_id=inbound.msg_id, kind=inbound.kind.value, duplicate=True)
                return  # a redelivery of a stored message: no second download
            if await self.members.is_active(inbound.platform, inbound.sender):
                inbound.media_ref = await self._fetch(parsed)
            else:
                log.info("dingtalk_media_skipped_unknown_sender", msg_id=inbound.msg_id)
        row_id = await self.writer.insert(inbound)  # raises when not stored: then the frame is not acked
        if row_id is not None:
            self.on_inbound()
        log.info("dingtalk_inbound", msg_id=inbound.msg_id, kind=inbound.kind.value, duplicate=row_id is None)

    async def _fetch(self, parsed: Parsed) -> str:
        code = parsed.download_code or ""

        async def download() -> bytes:
            return await self.api.download(code, max_bytes=self.max_bytes)

        return await fetch_before_ack(download, kind=parsed.inbound.kind, media_dir=self.media_dir,
                                      pending_ref=MEDIA_PREFIX + code, budget=self.download_budget,
                                      msg_id=parsed.inbound.msg_id, file_ext=parsed.file_ext,
                                      retryable=(DingTalkError, DingTalkHTTPError))


class ChatbotIntake(dingtalk_stream.ChatbotHandler):
    """Robot messages. Never calls the SDK's reply helpers (blocking requests): replies go via the outbox."""

    def __init__(self, intake: Intake) -> None:
        super().__init__()
        self.intake = intake

    async def process(self, callback: CallbackMessage) -> tuple[int, str]:
        data = callback.data if isinstance(callback.data, dict) else {}
        await self.intake.store(parse_message(data, callback.headers.message_id or "", self.intake.tz))
        return AckMessage.STATUS_OK, "OK"


class CardIntake(dingtalk_stream.CallbackHandler):
    """Card button clicks. The ack carries no card update: the answer comes through the outbox."""

    def __init__(self, intake: Intake) -> None:
        super().__init__()
        self.intake = intake

    async def process(self, callback: CallbackMessage) -> tuple[int, str]:
        data = callback.data if isinstance(callback.data, dict) else {}
        await self.intake.store(Parsed(parse_card_click(data, callback.headers.message_id or "")))
        return AckMessage.STATUS_OK, "OK"


class StreamClient(dingtalk_stream.DingTalkStreamClient):
    websocket: Any  # the SDK's attribute: the live socket, None between connections

    def __init__(self, api: DingTalkApi, *, backoff_base: float = 1.0, backoff_max: float = 60.0,
                 stable_after: float = 30.0, drain_timeout: float = 5.0) -> None:
        credential = dingtalk_stream.Credential(api.client_id, api.client_secret)
        super().__init__(credential, logger=logging.getLogger("genjin.dingtalk_stream"))
        self.api = api
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.stable_after = stable_after  # a socket that lived this long was healthy, whatever it carried
        self.drain_timeout = drain_timeout
        self.connections = 0
        self.reconnect_delays: deque[float] = deque(maxlen=100)
        self._inflight: set[asyncio.Task[None]] = set()  # strong references while frames are handled
        # Beats on connect, on every frame and on a drop. While connected, liveness is the websocket's
        # own ping/pong (websockets closes a socket whose pong is late), so readiness asks `connected`;
        # after a drop, the first reconnect comes after about backoff_base, and readiness allows a few
        # of those (bot/ops/liveness.py) before it reports the stream down.
        self.heartbeat = Heartbeat(backoff_base)

    @property
    def connected(self) -> bool:
        return self.websocket is not None

    def _subscriptions(self) -> list[dict[str, str]]:
        return [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]

    async def start(self) -> None:
        """Connect, read until the socket closes, reconnect with backoff; runs until cancelled."""
        self.pre_start()
        failures = 0
        try:
            while True:
                began = time.monotonic()
                healthy = False
                try:
                    healthy = await self._session()
                except (DingTalkError, DingTalkHTTPError, OSError, TimeoutError,
                        websockets.exceptions.WebSocketException) as exc:
                    log.warning("dingtalk_stream_connect_failed", error=f"{type(exc).__name__}: {exc}")
                except Exception:  # never let one odd failure end the receive loop for good
                    log.exception("dingtalk_stream_failed")
                if healthy or time.monotonic() - began >= self.stable_after:
                    failures, delay = 0, 0.0
                else:
                    failures += 1
                    # Doubling with 0.8-1.0 jitter: many instances do not reconnect in step, and each
                    # delay is still longer than the one before.
                    delay = min(self.backoff_max, self.backoff_base * 2 ** (failures - 1)) * random.uniform(0.8, 1)
                self.reconnect_delays.append(delay)
                log.info("dingtalk_stream_reconnect", delay=round(delay, 3), failures=failures)
                await asyncio.sleep(delay)
        finally:
            await self._drain()

    async def _session(self) -> bool:
        """One connection. True when it delivered at least one callback (the gateway works)."""
        conn = await self.api.open_connection(self._subscriptions(),
                                              user_agent="genjin/dingtalk-stream-sdk-python-0.24.3")
        uri = f"{conn['endpoint']}?ticket={quote_plus(conn['ticket'])}"
        healthy = False
        async with websockets.connect(uri, open_timeout=10, close_timeout=2) as ws:
            self.websocket = ws
            self.heartbeat.beat()
            self.connections += 1
            log.info("dingtalk_stream_connected", connections=self.connections)
            try:
                async for raw in ws:
                    self.heartbeat.beat()
                    try:
                        frame = json.loads(raw)
                    except (ValueError, RecursionError):
                        log.warning("dingtalk_bad_frame", size=len(raw))
                        continue
                    if not isinstance(frame, dict):
                        continue
                    healthy = healthy or frame.get("type") == CallbackMessage.TYPE
                    task = asyncio.create_task(self._route(ws, frame), name="dingtalk-frame")
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
            except websockets.exceptions.ConnectionClosedError as exc:
                log.warning("dingtalk_stream_dropped", code=exc.rcvd.code if exc.rcvd else None)
            finally:
                self.websocket = None
                self.heartbeat.beat()
        return healthy

    async def _route(self, ws: Any, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        try:
            if kind == SystemMessage.TYPE:
                system = SystemMessage.from_dict(frame)
                await self._ack(ws, await self.system_handler.raw_process(system))  # ping: echoes the opaque
                if system.headers.topic == SystemMessage.TOPIC_DISCONNECT:
                    log.info("dingtalk_stream_disconnect_requested")
                    await ws.close()
                return
            if kind != CallbackMessage.TYPE:
                log.info("dingtalk_frame_ignored", type=kind)
                return
            message = CallbackMessage.from_dict(frame)
            handler = self.callback_handler_map.get(message.headers.topic)
            if handler is None:
                log.warning("dingtalk_unknown_topic", topic=message.headers.topic)
                return
            ack = await handler.raw_process(message)
        except Exception:
            # Not stored, so not acked: DingTalk redelivers it and nothing is lost.
            log.exception("dingtalk_frame_not_stored", message_id=(frame.get("headers") or {}).get("messageId"))
            return
        await self._ack(ws, ack)

    async def _ack(self, ws: Any, ack: AckMessage) -> None:
        try:
            await ws.send(json.dumps(ack.to_dict()))
        except websockets.exceptions.ConnectionClosed:
            # The row is stored; DingTalk redelivers the unacked frame and the row key makes it a no-op.
            log.info("dingtalk_ack_lost", message_id=ack.headers.message_id)

    async def _drain(self) -> None:
        """On shutdown let frames being stored finish (their insert runs in a thread anyway)."""
        pending = set(self._inflight)
        if pending:
            _done, late = await asyncio.wait(pending, timeout=self.drain_timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)


def build_stream_client(api: DingTalkApi, intake: Intake, **options: float) -> StreamClient:
    client = StreamClient(api, **options)
    client.register_callback_handler(TOPIC_BOT, ChatbotIntake(intake))
    client.register_callback_handler(TOPIC_CARD, CardIntake(intake))
    return client


@contextlib.asynccontextmanager
async def _running(settings: Settings, engine: Engine, on_inbound: Callable[[], None], clock: Clock,
                   api: DingTalkApi | None, on_started: OnStarted | None = None) -> AsyncIterator[StreamClient]:
    assert settings.dingtalk is not None
    api = api or api_from_settings(settings.dingtalk)
    intake = Intake(writer=InboxWriter(engine, clock), members=MemberDirectory(engine), on_inbound=on_inbound,
                    api=api, media_dir=settings.media_dir, max_bytes=settings.max_audio_bytes, tz=settings.tz)
    client = build_stream_client(api, intake)
    task = asyncio.create_task(client.start(), name="dingtalk-stream")
    if on_started is not None:
        on_started(client, task)
    log.info("dingtalk_stream_started", api_base=api.api_base)
    try:
        yield client
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.close()
        log.info("dingtalk_stream_stopped")


async def stream_context(settings: Settings, engine: Engine, on_inbound: Callable[[], None], clock: Clock,
                         api: DingTalkApi | None = None, on_started: OnStarted | None = None) -> AsyncIterator[None]:
    """For aiohttp's cleanup_ctx: the Stream client lives exactly as long as the web app."""
    async with _running(settings, engine, on_inbound, clock, api, on_started):
        yield
