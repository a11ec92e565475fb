"""DingTalk robot payloads -> neutral Inbound. Pure functions on the decoded frame data (no SDK, no I/O).

A robot message (Stream topic /v1.0/im/bot/messages/get) carries msgId, msgtype, senderStaffId (the
userid our members are keyed by), conversationType ("1" 1:1, "2" group, where the robot only hears
messages that @ it), conversationId, sessionWebhook and its expiry, and a type-specific body:
https://open.dingtalk.com/document/orgapp/receive-message . A card click (topic
/v1.0/card/instances/callback) carries userId, outTrackId (our cardBizId) and a JSON `content` whose
cardPrivateData.actionIds names the clicked button.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot.models import Inbound, InboundKind, Platform
from bot.platforms.dingtalk.render import action_of

MEDIA_PREFIX = "dingtalk:"  # media_ref of a file not downloaded yet: the message's downloadCode
CARD_ID_PREFIX = "card-"


@dataclass
class Parsed:
    inbound: Inbound
    download_code: str | None = None  # fetch now (codes expire) and replace media_ref with the stored path
    file_ext: str | None = None  # for non-audio files; audio is sniffed


def _json_obj(value: Any) -> dict[str, Any]:
    """Body fields arrive as objects or as JSON text, depending on the message type."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return {}
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _build(**values: Any) -> Inbound:
    return Inbound(platform=Platform.DINGTALK, **values)


def parse_message(data: dict[str, Any], frame_id: str, tz: ZoneInfo) -> Parsed:
    """A robot message. Anything we cannot read is still kept, as an event row with the raw payload."""
    msgtype = str(data.get("msgtype") or "")
    content = _json_obj(data.get("content"))
    base: dict[str, Any] = {
        "msg_id": (_str(data.get("msgId")) or frame_id)[:128],
        # senderStaffId is the org userid; senderId (an opaque per-robot id) only when there is none,
        # e.g. a user from another org — the worker then answers "not a member".
        "sender": (_str(data.get("senderStaffId")) or _str(data.get("senderId")) or "unknown")[:64],
        "chat": _str(data.get("conversationId")) if str(data.get("conversationType")) == "2" else None,
        "raw": json.dumps(data, ensure_ascii=False),
    }
    try:
        return _parse_body(msgtype, data, content, base, tz)
    except ValidationError:
        return Parsed(_build(**base, kind=InboundKind.EVENT, text=f"message:{msgtype or 'unknown'}"))


def _parse_body(msgtype: str, data: dict[str, Any], content: dict[str, Any], base: dict[str, Any],
                tz: ZoneInfo) -> Parsed:
    if msgtype == "text":
        text = _json_obj(data.get("text")).get("content")
        return Parsed(_build(**base, kind=InboundKind.TEXT, text=str(text or "").strip()))
    if msgtype == "richText":
        items = [i for i in content.get("richText") or [] if isinstance(i, dict)]
        text = "\n".join(str(i["text"]) for i in items if isinstance(i.get("text"), str)).strip()
        if text:
            return Parsed(_build(**base, kind=InboundKind.TEXT, text=text))
        code = next((_str(i.get("downloadCode")) for i in items if _str(i.get("downloadCode"))), None)
        return _media(base, InboundKind.IMAGE, None, code, "img")
    if msgtype == "audio":
        # DingTalk's own transcript: kept in raw and offered as a draft / cross-check for ours.
        recognition = _str(content.get("recognition"))
        return _media(base, InboundKind.VOICE, recognition, _str(content.get("downloadCode")), None)
    if msgtype == "picture":
        code = _str(content.get("downloadCode")) or _str(content.get("pictureDownloadCode"))
        return _media(base, InboundKind.IMAGE, None, code, "img")
    if msgtype == "file":
        name = _str(content.get("fileName")) or "文件"
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else "bin"
        return _media(base, InboundKind.FILE, f"[文件] {name}", _str(content.get("downloadCode")),
                      ext if ext.isalnum() and len(ext) <= 8 else "bin")
    if msgtype == "video":
        # Videos can be large: keep the code, fetch later if ever needed.
        code = _str(content.get("downloadCode"))
        return Parsed(_build(**base, kind=InboundKind.LINK, text="[视频]",
                             media_ref=MEDIA_PREFIX + code if code else None))
    if msgtype == "chatRecord":
        return Parsed(_build(**base, kind=InboundKind.TEXT, text=render_chat_record(content, tz)))
    return Parsed(_build(**base, kind=InboundKind.EVENT, text=f"message:{msgtype or 'unknown'}"))


def _media(base: dict[str, Any], kind: InboundKind, text: str | None, code: str | None,
           ext: str | None) -> Parsed:
    inbound = _build(**base, kind=kind, text=text, media_ref=MEDIA_PREFIX + code if code else None)
    return Parsed(inbound, download_code=code, file_ext=ext)


# ---------------------------------------------------------------- merged forwards (chatRecord)

def _record_text(record: dict[str, Any]) -> str:
    kind = str(record.get("msgType") or record.get("msgtype") or "text")
    body = record.get("content")
    if isinstance(body, dict):
        body = body.get("content") or body.get("text") or body.get("recognition")
    if kind in ("text", "markdown", "richText") and isinstance(body, str):
        return body.strip()
    if kind in ("audio", "voice"):
        return f"[语音] {body}" if isinstance(body, str) and body else "[语音]"
    placeholder = {"picture": "[图片]", "image": "[图片]", "file": "[文件]", "video": "[视频]"}.get(kind)
    if placeholder:
        return placeholder
    return body.strip() if isinstance(body, str) else f"[{kind}]"


def _record_time(record: dict[str, Any], tz: ZoneInfo) -> str | None:
    stamp = record.get("createAt") or record.get("sendTime") or record.get("time")
    try:
        millis = int(stamp)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(millis / 1000, tz).strftime("%Y/%m/%d %H:%M")


def render_chat_record(content: dict[str, Any], tz: ZoneInfo) -> str:
    """A merged forward as the rep would paste it ("名字 时间" then the message), so extraction treats
    it as a pasted chat. DingTalk may send only part of a long forward; what arrives is what we keep."""
    records = content.get("chatRecord")
    if isinstance(records, str):
        try:
            records = json.loads(records)
        except (ValueError, RecursionError):
            return records.strip()
    blocks: list[str] = []
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict):
            continue
        name = next((v for k in ("senderNick", "senderName", "nick", "sender")
                     if isinstance(v := record.get(k), str) and v.strip()), "未知")
        text = _record_text(record)
        when = _record_time(record, tz)
        blocks.append(f"{name.strip()} {when}\n{text}" if when else f"{name.strip()}：{text}")
    return "\n".join(blocks)


# ---------------------------------------------------------------- card clicks

def parse_card_click(data: dict[str, Any], frame_id: str) -> Inbound:
    """A click names the button's component id; ours decode to the Card's action key. The frame's
    messageId is the row key: DingTalk repeats it when it redelivers, while two real clicks on the same
    tag (on, then off again) carry identical content and must both count."""
    content = _json_obj(data.get("content"))
    private = _json_obj(content.get("cardPrivateData"))
    action = next((a for i in private.get("actionIds") or [] if isinstance(i, str) and (a := action_of(i))), None)
    params = _json_obj(private.get("params"))
    action = action or _str(params.get("action"))
    space = str(data.get("spaceType") or "")
    chat = _str(data.get("openConversationId")) or (_str(data.get("spaceId")) if "GROUP" in space else None)
    values: dict[str, Any] = {
        "msg_id": (CARD_ID_PREFIX + frame_id)[:128], "sender": (_str(data.get("userId")) or "unknown")[:64],
        "chat": chat, "raw": json.dumps(data, ensure_ascii=False),
    }
    if action is None:
        return _build(**values, kind=InboundKind.EVENT, text="card:unknown_action")
    return _build(**values, kind=InboundKind.CARD_ACTION, text=action)
