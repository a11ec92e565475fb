"""Validating one lead (an API body or an import row) into a normalized LeadInput, or field errors.

Every problem is reported with its field and a Chinese reason, all at once, before anything is
written: the caller answers 422 (API) or writes the row to the error file (import).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from bot.extract import normalize_phone
from bot.leads.channels import Channel, ChannelTable, UrlError, channel_of, parse_utm
from bot.safe_input import scrub_text

# field -> max length; the limits are the columns' (store/models.py), so nothing is cut on write.
LIMITS = {
    "name": 100, "phone": 40, "email": 200, "company": 200, "title": 50, "region": 50, "industry": 50,
    "product": 100, "grade": 16, "channel": 200, "campaign": 200, "landing_url": 2000, "action": 200,
    "external_id": 100, "note": 500,
}
ALIASES = {"product_interest": "product"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass
class LeadInput:
    name: str
    channel: Channel
    phone: str | None = None
    email: str | None = None
    company: str | None = None
    title: str | None = None
    region: str | None = None
    industry: str | None = None
    product: str | None = None
    grade: str | None = None
    campaign: str | None = None
    landing_url: str | None = None
    action: str | None = None
    external_id: str | None = None
    note: str | None = None
    utm: dict[str, str] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """What was received, normalized, for the touch row (kept as evidence)."""
        out = {k: getattr(self, k) for k in LIMITS if k != "channel" and getattr(self, k, None)}
        out["channel"] = self.channel.raw
        return out


def _clean(value: str) -> str:
    return scrub_text(unicodedata.normalize("NFKC", value)).strip()


def contact_fields(values: dict[str, str], errors: list[FieldError]) -> tuple[str | None, str | None]:
    """The phone (E.164) and e-mail (lower case) among the cleaned `values`, each bad one an error."""
    phone = email = None
    if "phone" in values and (phone := normalize_phone(values["phone"])) is None:
        errors.append(FieldError("phone", "电话号码格式不正确"))
    if "email" in values:
        email = values["email"].lower()
        if not EMAIL_RE.match(email):
            errors.append(FieldError("email", "邮箱格式不正确"))
    return phone, email


def validate_lead(data: Any, *, channels: ChannelTable) -> tuple[LeadInput | None, list[FieldError]]:
    if not isinstance(data, dict):
        return None, [FieldError("(body)", "应为 JSON 对象")]
    errors: list[FieldError] = []
    values: dict[str, str] = {}
    for raw_key, value in data.items():
        key = ALIASES.get(str(raw_key), str(raw_key))
        if key not in LIMITS:
            errors.append(FieldError(str(raw_key)[:64], "不支持的字段"))
        elif value is None:
            continue
        elif not isinstance(value, str | int) or isinstance(value, bool):
            errors.append(FieldError(str(raw_key), "应为文本"))
        elif len(text := _clean(str(value))) > LIMITS[key]:
            errors.append(FieldError(str(raw_key), f"过长（最多 {LIMITS[key]} 个字符）"))
        elif text:
            values[key] = text
    if not values.get("name") and not any(e.field == "name" for e in errors):
        errors.append(FieldError("name", "必填"))
    phone, email = contact_fields(values, errors)
    if "phone" not in values and "email" not in values:
        errors.append(FieldError("phone", "电话和邮箱至少填一项"))
    utm: dict[str, str] = {}
    if "landing_url" in values:
        try:
            utm = parse_utm(values["landing_url"])
        except UrlError:
            errors.append(FieldError("landing_url", "不是有效的网页地址（需 http/https）"))
    channel = channel_of(explicit=values.get("channel"), utm=utm, table=channels)
    if channel is None and not any(e.field == "landing_url" for e in errors):
        errors.append(FieldError("channel", "缺少渠道：落地页地址里没有 utm_source，也没有填写 channel"))
    if errors or channel is None:
        return None, errors
    return LeadInput(
        name=values["name"], channel=channel, phone=phone, email=email, company=values.get("company"),
        title=values.get("title"), region=values.get("region"), industry=values.get("industry"),
        product=values.get("product"), grade=values.get("grade"),
        campaign=values.get("campaign") or utm.get("utm_campaign"), landing_url=values.get("landing_url"),
        action=values.get("action"), external_id=values.get("external_id"), note=values.get("note"), utm=utm,
    ), []
