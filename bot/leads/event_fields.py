"""Validating marketing behaviour events (POST /api/events) into EventRecords, or field errors.

Like leads (bot/leads/fields.py): every problem with its field and a Chinese reason, all at once,
before anything is written. In a batch the field names carry the item's index: "[2].occurred_at".
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any

from bot.leads.channels import UTM_KEYS, ChannelTable, UrlError, parse_utm
from bot.leads.fields import FieldError, contact_fields
from bot.safe_input import scrub_text
from store.marketing import EVENT_TYPES, EventRecord

MAX_BATCH = 100
TEXT_LIMITS = {"event_id": 128, "url": 2000, "title": 300, "phone": 40, "email": 200, "external_id": 100}
FIELDS = set(TEXT_LIMITS) | {"type", "occurred_at", "duration_seconds", "utm"}
MAX_DURATION = 24 * 3600
FUTURE_SLACK = timedelta(minutes=5)  # a sender's clock a little ahead is fine; an hour ahead is a bug


def _clean(value: str) -> str:
    return scrub_text(unicodedata.normalize("NFKC", value)).strip()


def _text_fields(data: dict[str, Any], errors: list[FieldError]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, limit in TEXT_LIMITS.items():
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            errors.append(FieldError(key, "应为文本"))
        elif len(text := _clean(str(value))) > limit:
            errors.append(FieldError(key, f"过长（最多 {limit} 个字符）"))
        elif text:
            values[key] = text
    return values


def _occurred_at(value: Any, now: datetime, errors: list[FieldError]) -> datetime | None:
    if value is None or value == "":
        errors.append(FieldError("occurred_at", "必填（ISO 8601 时间，带时区，如 2026-11-16T10:00:00+08:00）"))
        return None
    if not isinstance(value, str):
        errors.append(FieldError("occurred_at", "应为 ISO 8601 时间文本"))
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        errors.append(FieldError("occurred_at", "时间格式不正确（ISO 8601，如 2026-11-16T10:00:00+08:00）"))
        return None
    if when.tzinfo is None:
        errors.append(FieldError("occurred_at", "缺少时区（如 +08:00 或 Z）"))
        return None
    if when > now + FUTURE_SLACK:
        errors.append(FieldError("occurred_at", "时间在未来"))
        return None
    return when


def _duration(value: Any, errors: list[FieldError]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        errors.append(FieldError("duration_seconds", "应为秒数（整数）"))
        return None
    if not 0 <= value <= MAX_DURATION:
        errors.append(FieldError("duration_seconds", f"应在 0 到 {MAX_DURATION} 秒之间"))
        return None
    return int(value)


def _utm(value: Any, url: str | None, errors: list[FieldError]) -> dict[str, str]:
    found: dict[str, str] = {}
    if url:
        try:
            found = parse_utm(url)
        except UrlError:
            errors.append(FieldError("url", "不是有效的网页地址（需 http/https）"))
    if value is None:
        return found
    if not isinstance(value, dict):
        errors.append(FieldError("utm", "应为对象，如 {\"utm_source\": \"dy\"}"))
        return found
    for key, item in value.items():
        name = str(key).strip().lower()
        if name not in UTM_KEYS:
            errors.append(FieldError(f"utm.{str(key)[:32]}", "不支持的 UTM 字段"))
        elif not isinstance(item, str) or len(item) > 200:
            errors.append(FieldError(f"utm.{name}", "应为不超过 200 个字符的文本"))
        elif item.strip():
            found[name] = _clean(item)  # the explicit field wins over the URL's
    return found


def validate_event(data: Any, *, now: datetime, channels: ChannelTable) -> tuple[EventRecord | None, list[FieldError]]:
    if not isinstance(data, dict):
        return None, [FieldError("(body)", "应为 JSON 对象或对象数组")]
    errors = [FieldError(str(k)[:64], "不支持的字段") for k in data if k not in FIELDS]
    values = _text_fields(data, errors)
    if "event_id" not in values and not any(e.field == "event_id" for e in errors):
        errors.append(FieldError("event_id", "必填（事件编号，重发时保持不变）"))
    kind = data.get("type")
    if kind not in EVENT_TYPES:
        errors.append(FieldError("type", "应为 " + " / ".join(EVENT_TYPES)))
    when = _occurred_at(data.get("occurred_at"), now, errors)
    duration = _duration(data.get("duration_seconds"), errors)
    utm = _utm(data.get("utm"), values.get("url"), errors)
    phone, email = contact_fields(values, errors)
    if not {"phone", "email", "external_id"} & values.keys():
        errors.append(FieldError("phone", "电话、邮箱、external_id 至少填一项（用来找到客户）"))
    if errors or when is None or not isinstance(kind, str):
        return None, errors
    payload: dict[str, Any] = {}
    if utm.get("utm_source"):
        payload["channel"] = channels.resolve(utm["utm_source"]).name  # dy -> 抖音, for the timeline line
    return EventRecord(event_id=values["event_id"], type=kind, occurred_at=when, url=values.get("url"),
                       title=values.get("title"), duration_seconds=duration, utm=utm, payload=payload,
                       phone=phone, email=email, external_id=values.get("external_id")), []


def validate_events(data: Any, *, now: datetime, channels: ChannelTable
                    ) -> tuple[list[EventRecord] | None, list[FieldError], bool]:
    """One object or a list of up to MAX_BATCH; (records, errors, is_batch). Any error: no records."""
    if not isinstance(data, list):
        single, single_errors = validate_event(data, now=now, channels=channels)
        return ([single] if single is not None else None), single_errors, False
    if not data:
        return None, [FieldError("(body)", "事件列表为空")], True
    if len(data) > MAX_BATCH:
        return None, [FieldError("(body)", f"一次最多 {MAX_BATCH} 个事件")], True
    records: list[EventRecord] = []
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        event, errs = validate_event(item, now=now, channels=channels)
        errors += [FieldError(f"[{i}].{e.field}" if e.field != "(body)" else f"[{i}]", e.reason) for e in errs]
        if event is not None:
            if event.event_id in seen:
                errors.append(FieldError(f"[{i}].event_id", "与本批中另一个事件重复"))
            seen.add(event.event_id)
            records.append(event)
    return (None if errors else records), errors, True
