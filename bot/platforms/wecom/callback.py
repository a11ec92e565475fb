"""WeCom self-built app (自建应用) callback adapter: verify, decrypt, parse, store, acknowledge.

WeCom POSTs `<xml><ToUserName/><Encrypt/><AgentID/></xml>` with msg_signature/timestamp/nonce in the
query (https://developer.work.weixin.qq.com/document/path/90238). Order of checks, each answered
before anything is stored: body over the cap -> 413, a query parameter missing or a timestamp that
is not a number -> 400, a timestamp outside the replay window -> 403, not well-formed or declaring
a DOCTYPE/ENTITY (XXE, billion laughs) -> 400, wrong signature -> 403, undecryptable or not a
message -> 400. The signature covers the timestamp, so the window is what stops a recorded,
correctly signed callback from being replayed later (MsgId alone only stops replays of messages
still in the inbox; events have no MsgId). The URL-verification GET gets the same window.
A good message becomes one inbox row and gets an empty 200 right after the insert. WeCom retries a
callback it got no answer to within 5 s (three tries in all), so the row key makes a retry a no-op:
MsgId for messages, FromUserName+CreateTime+event+key for events (events have no MsgId).

This is the only module that imports wechatpy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from pydantic import ValidationError
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.events import EVENT_TYPES
from wechatpy.enterprise.messages import MESSAGE_TYPES
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.messages import UnknownMessage

from bot.config import SettingsError, WeComSettings
from bot.models import Inbound, InboundKind, Platform
from bot.pipeline.inbox_writer import InboxWriter
from bot.pipeline.media import fetch_before_ack
from bot.pipeline.member_directory import MemberDirectory
from bot.platforms.wecom.api import WeComApi, WeComError, WeComHTTPError
from bot.platforms.wecom.render import TAG_QUESTION_KEY, TAG_SUBMIT_KEY
from bot.platforms.wecom.xml import Rejected, parse_xml, selected_options, text_of

log = structlog.get_logger("genjin.wecom")

CARD_EVENTS = ("template_card_event", "template_card_menu_event")
MEDIA_KINDS = (InboundKind.VOICE, InboundKind.IMAGE, InboundKind.FILE)
MEDIA_PREFIX = "wecom:"  # media_ref of media not yet downloaded: the WeCom MediaId (valid 3 days)


def click_fields(raw: str) -> dict[str, str | None]:
    """EventKey, TaskId, ResponseCode, CardType of a stored card click (wechatpy does not parse it)."""
    fields = parse_xml(raw)
    return {k: text_of(fields, k) for k in ("EventKey", "TaskId", "ResponseCode", "CardType")}


def wechatpy_message(fields: dict[str, Any]) -> Any:
    """wechatpy's own message object for the fields (its parse_message dispatch, minus a second
    XML parse): TextMessage, VoiceMessage ..., UnknownMessage for template_card_event."""
    msg_type = (text_of(fields, "MsgType") or "").lower()
    if msg_type == "event":
        cls = EVENT_TYPES.get((text_of(fields, "Event") or "").lower(), UnknownMessage)
    else:
        cls = MESSAGE_TYPES.get(msg_type, UnknownMessage)
    return cls(fields)


def _event_id(fields: dict[str, Any], event: str) -> str:
    """Events carry no MsgId; a retry repeats FromUserName, CreateTime and the event key exactly."""
    parts = [text_of(fields, "FromUserName") or "", text_of(fields, "CreateTime") or "", event,
             text_of(fields, "EventKey") or "", text_of(fields, "TaskId") or "",
             repr(sorted(selected_options(fields).items()))]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"ev-{text_of(fields, 'CreateTime') or '0'}-{digest}"


def to_inbound(plain: str) -> Inbound:
    """Decrypted XML -> neutral Inbound (media not yet downloaded: media_ref is wecom:<MediaId>)."""
    fields = parse_xml(plain)
    message = wechatpy_message(fields)
    msg_type = (text_of(fields, "MsgType") or "").lower()
    base: dict[str, Any] = {"platform": Platform.WECOM, "sender": text_of(fields, "FromUserName"), "raw": plain}
    if msg_type == "event":
        event = (text_of(fields, "Event") or "").lower()
        key = text_of(fields, "EventKey")
        if event in CARD_EVENTS:
            action = key
            if key == TAG_SUBMIT_KEY:  # the dropdown: the chosen option id is a tag's or a button's action key
                chosen = selected_options(fields).get(TAG_QUESTION_KEY) or []
                action = chosen[0] if chosen else key
            return _build(base, msg_id=_event_id(fields, event), kind=InboundKind.CARD_ACTION, text=action)
        return _build(base, msg_id=_event_id(fields, event), kind=InboundKind.EVENT,
                      text=event + (f":{key}" if key else ""))
    msg_id = text_of(fields, "MsgId")
    if msg_type == "text":
        return _build(base, msg_id=msg_id, kind=InboundKind.TEXT, text=message.content or "")
    if msg_type == "voice":
        media_id = message.media_id
        if not isinstance(media_id, str) or not media_id:
            raise Rejected(400, "voice_without_media_id")
        return _build(base, msg_id=msg_id, kind=InboundKind.VOICE, media_ref=MEDIA_PREFIX + media_id)
    if msg_type == "image":
        media_id = text_of(fields, "MediaId")
        return _build(base, msg_id=msg_id, kind=InboundKind.IMAGE, text=text_of(fields, "PicUrl"),
                      media_ref=MEDIA_PREFIX + media_id if media_id else None)
    if msg_type == "file":
        # Not in WeCom's list of app message types today; kept readable should it be delivered, like an
        # image: the MediaId is downloaded with media/get and a PDF is read (bot/handlers/evidence.py).
        media_id = text_of(fields, "MediaId")
        return _build(base, msg_id=msg_id, kind=InboundKind.FILE, text=text_of(fields, "FileName"),
                      media_ref=MEDIA_PREFIX + media_id if media_id else None)
    if msg_type == "link":
        text = "\n".join(v for v in (text_of(fields, "Title"), text_of(fields, "Description"),
                                     text_of(fields, "Url")) if v)
        return _build(base, msg_id=msg_id, kind=InboundKind.LINK, text=text)
    # video, location ...: kept as a raw event row so nothing is lost; no handler answers yet.
    return _build(base, msg_id=msg_id, kind=InboundKind.EVENT, text=f"message:{msg_type}")


def _build(base: dict[str, Any], **values: Any) -> Inbound:
    try:
        return Inbound(**base, **values)
    except ValidationError as exc:
        raise Rejected(400, f"bad_field:{exc.errors()[0]['loc'][0]}") from None


class WeComAdapter:
    def __init__(self, config: WeComSettings, *, writer: InboxWriter, members: MemberDirectory,
                 on_inbound: Callable[[], None], api: WeComApi | None, media_dir: Path, max_audio_bytes: int,
                 max_body_bytes: int, clock: Callable[[], datetime], download_budget: float = 2.5,
                 max_file_bytes: int | None = None) -> None:
        self.config = config
        self.members = members  # a stranger's voice is neither downloaded nor stored
        self.clock = clock  # the replay window is measured on the injected clock
        try:
            self.crypto = WeChatCrypto(config.token.get_secret_value(), config.encoding_aes_key.get_secret_value(),
                                       config.corp_id)
        except (AssertionError, ValueError) as exc:  # not base64 of a 32-byte key
            raise SettingsError("genjin: invalid configuration\n  wecom.encoding_aes_key "
                                "(GENJIN_WECOM__ENCODING_AES_KEY): not a WeCom EncodingAESKey") from exc
        self.writer = writer
        self.on_inbound = on_inbound
        self.api = api
        self.media_dir = media_dir
        self.max_audio_bytes = max_audio_bytes
        self.max_file_bytes = max_file_bytes or max_audio_bytes  # images and files ([ocr] max_bytes)
        self.max_body_bytes = max_body_bytes
        # Voice is fetched before the ack (media ids expire after 3 days), but never so long that
        # WeCom's 5 s deadline is at risk: past the budget (or on a WeCom error) the row is stored
        # with media_ref wecom:<MediaId> and the MediaId in raw, so nothing is lost.
        self.download_budget = download_budget

    def routes(self) -> list[web.RouteDef]:
        return [web.get(self.config.callback_path, self.verify_url),
                web.post(self.config.callback_path, self.receive)]

    @staticmethod
    def _query(request: web.Request, *names: str) -> list[str]:
        values = [request.query.get(n, "") for n in names]
        if not all(values):
            raise Rejected(400, "missing_query_parameter")
        return values

    def _check_timestamp(self, timestamp: str) -> None:
        """WeCom's timestamp is Unix seconds when it signed the request; outside the window -> 403."""
        if len(timestamp) > 12 or not (timestamp.isascii() and timestamp.isdigit()):
            raise Rejected(400, "bad_timestamp")
        skew = int(timestamp) - self.clock().timestamp()
        if abs(skew) > self.config.replay_window_seconds:
            raise Rejected(403, "timestamp_outside_window")

    async def verify_url(self, request: web.Request) -> web.Response:
        """URL check when the callback is saved in the admin console: answer the decrypted echostr."""
        try:
            signature, timestamp, nonce, echostr = self._query(request, "msg_signature", "timestamp", "nonce",
                                                               "echostr")
            self._check_timestamp(timestamp)
            # A '+' the sender did not percent-encode arrives as a space; base64 never has spaces.
            echostr = echostr.replace(" ", "+")
            plain = self._decrypt(lambda: self.crypto.check_signature(signature, timestamp, nonce, echostr))
        except Rejected as exc:
            log.warning("wecom_verify_rejected", reason=exc.reason, status=exc.status)
            return web.Response(status=exc.status)
        return web.Response(text=plain, content_type="text/plain")

    def _decrypt(self, call: Callable[[], str]) -> str:
        try:
            return call()
        except InvalidSignatureException:
            raise Rejected(403, "bad_signature") from None
        except Exception:  # wrong key, corp id, padding, base64, length: all mean "not for us"
            raise Rejected(400, "undecryptable") from None

    async def receive(self, request: web.Request) -> web.Response:
        try:
            inbound = await self._accept(request)
        except Rejected as exc:
            log.warning("wecom_callback_rejected", reason=exc.reason, status=exc.status)
            return web.Response(status=exc.status)
        # Voice, images and files are fetched before the ack: WeCom media ids expire after 3 days.
        fetched = inbound.kind in MEDIA_KINDS and (inbound.media_ref or "").startswith(MEDIA_PREFIX)
        if fetched and await self.writer.exists(inbound.platform, inbound.msg_id):
            return web.Response(status=200)  # a retry of media already stored: no second download
        if fetched:
            if await self.members.is_active(inbound.platform, inbound.sender):
                inbound.media_ref = await self._fetch_media(inbound.media_ref or "", inbound.msg_id, inbound.kind)
            else:  # the row alone: the worker answers "not a member"; no fetch, no file
                log.info("wecom_media_skipped_unknown_sender", msg_id=inbound.msg_id)
        try:
            row_id = await self.writer.insert(inbound)
        except Exception:  # no durable row, no ack: WeCom will push the callback again
            log.exception("wecom_inbox_insert_failed", msg_id=inbound.msg_id)
            return web.Response(status=500)
        if row_id is not None:
            self.on_inbound()
        # Debug only: the writer logs every committed batch with its msg ids at info (one line per
        # batch instead of one per callback keeps a burst's ack path short).
        log.debug("wecom_inbound", msg_id=inbound.msg_id, kind=inbound.kind.value, duplicate=row_id is None)
        return web.Response(status=200)  # empty body: no passive reply, answers go through the outbox

    async def _accept(self, request: web.Request) -> Inbound:
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise Rejected(413, "body_too_large")
        signature, timestamp, nonce = self._query(request, "msg_signature", "timestamp", "nonce")
        self._check_timestamp(timestamp)
        body = await self._read_capped(request)
        encrypted = text_of(parse_xml(body), "Encrypt")
        if not encrypted:
            raise Rejected(400, "no_encrypt_field")
        plain = self._decrypt(lambda: self.crypto.decrypt_message({"Encrypt": encrypted}, signature, timestamp,
                                                                   nonce))
        return to_inbound(plain)

    async def _read_capped(self, request: web.Request) -> bytes:
        # Chunked bodies carry no Content-Length: count while reading, stop past the cap.
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := await request.content.read(65536):
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise Rejected(413, "body_too_large")
                chunks.append(chunk)
        except (aiohttp.ClientError, ValueError):
            raise Rejected(400, "unreadable_body") from None
        return b"".join(chunks)

    async def _fetch_media(self, media_ref: str, msg_id: str, kind: InboundKind) -> str:
        """Local path of the stored file, or wecom:<MediaId> when it cannot be fetched now."""
        api = self.api
        if api is None:
            return media_ref
        media_id = media_ref.removeprefix(MEDIA_PREFIX)

        async def download() -> bytes:
            cap = self.max_audio_bytes if kind == InboundKind.VOICE else self.max_file_bytes
            return (await api.get_media(media_id, max_bytes=cap))[0]

        return await fetch_before_ack(download, kind=kind, media_dir=self.media_dir,
                                      pending_ref=media_ref, budget=self.download_budget, msg_id=msg_id,
                                      retryable=(WeComError, WeComHTTPError, aiohttp.ClientError))
