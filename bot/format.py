"""How times, money and phones look to a person: Asia/Shanghai, Chinese, checkable at a glance."""

from __future__ import annotations

from datetime import datetime, tzinfo

WEEKDAYS = "一二三四五六日"


def fmt_when(dt: datetime, tz: tzinfo, with_time: bool = True) -> str:
    local = dt.astimezone(tz)
    day = f"周{WEEKDAYS[local.weekday()]} {local.month}月{local.day}日"
    return f"{day} {local:%H:%M}" if with_time else day


def fmt_amount(amount: int | None) -> str:
    if amount is None:
        return "—"
    if amount >= 10_000 and amount % 100 == 0:
        return f"{amount / 10_000:g}万元"
    return f"{amount:,}元"


def mask_phone(phone: str | None) -> str:
    if not phone:
        return "—"
    return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else phone
