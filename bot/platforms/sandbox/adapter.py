"""The local sandbox chat: an aiohttp page and JSON API that feed the same inbox as WeCom/DingTalk.

The adapter only validates, stores the inbound row and acknowledges; the worker does the rest.
Replies reach the page as sent outbox rows (the sandbox deliverer just marks them delivered), pushed
over server-sent events (GET /sandbox/api/events): each open stream wakes when a message is stored or
a reply delivered and sends the items that are new or changed (a card re-rendered in place, a card
finished by 确认). GET /sandbox/api/messages stays for scripts and tests.
It has no authentication (anyone may act as any seeded member), so only `genjin sandbox` mounts
it, on the loopback interface by default; `genjin serve` never does (bot/app.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.config import Settings
from bot.format import fmt_when
from bot.models import Inbound, InboundKind, Platform
from bot.ocr.engine import sniff
from bot.pipeline.media import media_extension, sniff_audio, store_media
from bot.pipeline.member_directory import MemberDirectory
from bot.pipeline.outbox import RateLimit
from bot.platforms.finish import tap_took_effect
from bot.platforms.sandbox.clock import OffsetClock
from bot.platforms.sandbox.conversation import conversation_items
from bot.platforms.sandbox.events import Changes
from bot.safe_input import BadJson, load_json, parse_bounded_int, scrub_text
from store.db import session_scope
from store.inbox import insert_inbound
from store.models import InboundMessage, Member, OutboxMessage, OutboxStatus

log = structlog.get_logger("genjin.sandbox")
PAGE = Path(__file__).parent / "static" / "sandbox.html"


STREAM_KEEPALIVE = 15.0  # seconds between comment lines on a quiet stream (proxies drop idle ones)
SETTLE = 0.2  # after a wake-up, look again this soon: the sender marks a row sent right after deliver


class SandboxDeliverer:
    """Delivery is the row itself: open event streams are woken to show it. No platform limit applies."""

    platform = Platform.SANDBOX
    limit = RateLimit()

    def __init__(self, changes: Changes | None = None) -> None:
        self.changes = changes or Changes()

    async def deliver(self, row: OutboxMessage) -> None:
        self.changes.notify()


def _bad(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class SandboxAdapter:
    def __init__(self, engine: Engine, settings: Settings, on_inbound: Any, clock: Clock,
                 changes: Changes | None = None, movable_clock: OffsetClock | None = None,
                 sweep: Callable[[], None] | None = None) -> None:
        self.changes = changes or Changes()
        self.movable_clock = movable_clock
        self.sweep = sweep
        self.engine = engine
        self.directory = MemberDirectory(engine)
        self.settings = settings
        self.clock = clock
        self.on_inbound = on_inbound  # nudges the worker

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.page),
            web.get("/sandbox/api/members", self.members),
            web.post("/sandbox/api/messages", self.post_message),
            web.post("/sandbox/api/actions", self.post_action),
            web.post("/sandbox/api/voice", self.post_voice),
            web.post("/sandbox/api/file", self.post_file),
            web.get("/sandbox/api/messages", self.get_messages),
            web.get("/sandbox/api/events", self.events),
            web.get("/sandbox/api/clock", self.get_clock),
            web.post("/sandbox/api/clock", self.move_clock),
        ]

    async def page(self, _request: web.Request) -> web.Response:
        return web.Response(text=PAGE.read_text(encoding="utf-8"), content_type="text/html")

    async def members(self, _request: web.Request) -> web.Response:
        def load() -> list[dict[str, Any]]:
            with Session(self.engine) as session:
                rows = session.exec(select(Member).where(col(Member.sandbox_id).is_not(None))).all()
                return [{"id": m.sandbox_id, "name": m.display_name, "role": m.role} for m in rows]

        return web.json_response(await asyncio.to_thread(load))

    async def _json(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = load_json(await request.read())
        except BadJson as exc:
            log.warning("sandbox_bad_json", path=request.path)
            return _bad(400, f"请求不是有效的 JSON：{exc.reason}")
        if not isinstance(body, dict):
            return _bad(400, "请求必须是 JSON 对象")
        return body

    async def post_message(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if isinstance(body, web.Response):
            return body
        text = body.get("text")
        if not isinstance(text, str):
            return _bad(400, "缺少 text 字段")
        return await self._accept(body, InboundKind.TEXT, text=text.replace("\x00", ""), raw=json.dumps(body))

    async def post_action(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if isinstance(body, web.Response):
            return body
        action = body.get("action")
        if not isinstance(action, str) or not action:
            return _bad(400, "缺少 action 字段")
        return await self._accept(body, InboundKind.CARD_ACTION, text=action, raw=json.dumps(body))

    async def _form(self, request: web.Request) -> Any:
        try:
            return await request.post()
        except web.HTTPException:
            raise  # 413 past client_max_size
        except (ValueError, LookupError, AssertionError, TypeError, HttpProcessingError, aiohttp.ClientError):
            # Malformed multipart (bad boundary, headers, charset, encoding) raises from deep in aiohttp.
            log.warning("sandbox_bad_multipart")
            return _bad(400, "上传格式不正确")

    async def post_file(self, request: web.Request) -> web.Response:
        """An image or a file (photo of a contract, chat screenshot, PDF), as a rep sends one in WeCom or
        DingTalk: stored as it is, then read by the OCR job (bot/handlers/evidence.py)."""
        form = await self._form(request)
        if isinstance(form, web.Response):
            return form
        upload, member, msg_id = form.get("file"), form.get("member"), form.get("msg_id") or None
        if not isinstance(upload, web.FileField) or not isinstance(member, str) or not member:
            return _bad(400, "缺少文件或成员")
        if msg_id is not None and not isinstance(msg_id, str):
            return _bad(400, "msg_id 必须是文本字段")
        name = scrub_text(str(upload.filename))
        body = {"member": member, "msg_id": msg_id, "file": name}
        if not await self.directory.is_active(Platform.SANDBOX, member):
            return await self._accept(body, InboundKind.FILE, text=None, raw=json.dumps(body))
        cap = self.settings.ocr.max_bytes
        data = upload.file.read(cap + 1)
        if len(data) > cap:
            return _bad(413, f"文件超过 {cap // (1024 * 1024)} MB 上限")
        kind = InboundKind.IMAGE if sniff(data[:16]) == "image" else InboundKind.FILE
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else "bin"
        ext = media_extension(data, kind, suffix if suffix.isalnum() and len(suffix) <= 8 else "bin")
        rel = await asyncio.to_thread(store_media, data, self.settings.media_dir, ext)
        text = None if kind == InboundKind.IMAGE else f"[文件] {name}"
        return await self._accept(body, kind, text=text, raw=json.dumps(body), media_ref=rel)

    async def post_voice(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        if isinstance(form, web.Response):
            return form
        upload = form.get("file")
        member = form.get("member")
        msg_id = form.get("msg_id") or None
        if not isinstance(upload, web.FileField) or not isinstance(member, str) or not member:
            return _bad(400, "缺少语音文件或成员")
        if msg_id is not None and not isinstance(msg_id, str):
            return _bad(400, "msg_id 必须是文本字段")
        body = {"member": member, "msg_id": msg_id, "file": scrub_text(str(upload.filename))}
        if not await self.directory.is_active(Platform.SANDBOX, member):
            # Not a member: the message row gets the usual answer; the audio is not kept.
            return await self._accept(body, InboundKind.VOICE, text=None, raw=json.dumps(body))
        data = upload.file.read(self.settings.max_audio_bytes + 1)
        if len(data) > self.settings.max_audio_bytes:
            return _bad(413, f"语音文件超过 {self.settings.max_audio_bytes // (1024 * 1024)} MB 上限")
        ext = sniff_audio(data)
        if ext is None:
            log.warning("sandbox_unknown_audio", size=len(data))
            return _bad(415, "不支持的音频格式（支持 AMR、WAV、MP3、OGG、M4A、SILK）")
        rel = await asyncio.to_thread(store_media, data, self.settings.media_dir, ext)
        return await self._accept(body, InboundKind.VOICE, text=None, raw=json.dumps(body), media_ref=rel)

    async def _accept(self, body: dict[str, Any], kind: InboundKind, *, text: str | None, raw: str,
                      media_ref: str | None = None) -> web.Response:
        member = body.get("member")
        msg_id = body.get("msg_id") or uuid.uuid4().hex
        if not isinstance(member, str) or not member:
            return _bad(400, "缺少 member 字段")
        if not isinstance(msg_id, str):
            return _bad(400, "msg_id 必须是文本")
        try:
            inbound = Inbound(platform=Platform.SANDBOX, msg_id=msg_id, sender=member, kind=kind, text=text,
                              media_ref=media_ref, raw=raw)
        except ValueError as exc:
            return _bad(400, f"消息字段不正确：{exc.errors()[0]['loc'][0] if hasattr(exc, 'errors') else exc}")

        def insert() -> int | None:
            with session_scope(self.engine) as session:
                return insert_inbound(session=session, platform=inbound.platform, msg_id=inbound.msg_id,
                                      sender=inbound.sender, kind=inbound.kind, text=inbound.text,
                                      media_ref=inbound.media_ref, raw=inbound.raw, at=self.clock())

        row_id = await asyncio.to_thread(insert)
        if row_id is not None:
            self.on_inbound()
            self.changes.notify()
        log.info("sandbox_inbound", msg_id=msg_id, kind=kind.value, duplicate=row_id is None)
        return web.json_response({"accepted": True, "duplicate": row_id is None, "msg_id": msg_id})

    async def get_messages(self, request: web.Request) -> web.Response:
        member = scrub_text(request.query.get("member", ""))[:64]
        limit = parse_bounded_int(request.query.get("limit", "200"), low=1, high=500)
        if limit is None:
            return _bad(400, "limit 必须是 1 到 500 之间的整数")
        return web.json_response(await asyncio.to_thread(self._conversation, member, limit))

    def _clock_state(self) -> dict[str, Any]:
        now = self.clock().astimezone(self.settings.tz)
        offset = self.movable_clock.offset if self.movable_clock is not None else None
        return {"now": now.isoformat(), "shown": fmt_when(now, self.settings.tz),
                "movable": offset is not None, "offset_hours": offset.total_seconds() / 3600 if offset else 0}

    async def get_clock(self, _request: web.Request) -> web.Response:
        return web.json_response(self._clock_state())

    async def move_clock(self, request: web.Request) -> web.Response:
        """Sandbox only: move the clock forward by `hours`, then run the push sweeps at the new time."""
        if self.movable_clock is None:
            return _bad(404, "这个实例的时间不能调整")
        body = await self._json(request)
        if isinstance(body, web.Response):
            return body
        hours = body.get("hours")
        if isinstance(hours, bool) or not isinstance(hours, int | float):
            return _bad(400, "hours 必须是数字")
        try:
            self.movable_clock.advance(timedelta(hours=hours))
        except (ValueError, OverflowError):
            return _bad(400, "只能往后调，且一次最多 31 天")
        log.info("sandbox_clock_moved", hours=hours)
        if self.sweep is not None:
            await asyncio.to_thread(self.sweep)
        self.changes.notify()
        return web.json_response(self._clock_state())

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: `items` events carry the member's new or changed items (JSON list)."""
        member = scrub_text(request.query.get("member", ""))[:64]
        if not member:
            return _bad(400, "缺少 member 参数")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        shown: dict[str, str] = {}
        settle = 0
        try:
            while True:
                items = await asyncio.to_thread(self._conversation, member, 200)
                changed = []
                for item in items:
                    digest = json.dumps(item, sort_keys=True, ensure_ascii=False)
                    if shown.get(item["id"]) != digest:
                        shown[item["id"]] = digest
                        changed.append(item)
                if changed:
                    await response.write(f"event: items\ndata: {json.dumps(changed, ensure_ascii=False)}\n\n".encode())
                if await self.changes.wait(SETTLE if settle else STREAM_KEEPALIVE):
                    settle = 3  # look a few more times shortly after: rows are marked sent after deliver
                elif settle:
                    settle -= 1
                else:
                    await response.write(b": keepalive\n\n")
        except ConnectionResetError:
            pass  # the page went away
        return response

    def _conversation(self, member: str, limit: int) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            inbound = session.exec(
                select(InboundMessage).where(col(InboundMessage.platform) == Platform.SANDBOX,
                                             col(InboundMessage.sender) == member)
                .order_by(col(InboundMessage.id).desc()).limit(limit)
            ).all()
            outbound = session.exec(
                select(OutboxMessage).where(col(OutboxMessage.platform) == Platform.SANDBOX,
                                            col(OutboxMessage.recipient) == member,
                                            col(OutboxMessage.status) == OutboxStatus.SENT)
                .order_by(col(OutboxMessage.id).desc()).limit(limit)
            ).all()
            return conversation_items(inbound, outbound, limit,
                                      took_effect=lambda action: tap_took_effect(session, action))
