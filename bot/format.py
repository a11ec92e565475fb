"""How times, money and phones look to a person: Asia/Shanghai, Chinese, checkable at a glance."""

from __future__ import annotations

from datetime import datetime, tzinfo

# The masking helpers live in the store (it writes masked timeline summaries); re-exported here.
from store.privacy import mask_contacts as mask_contacts
from store.privacy import mask_email as mask_email
from store.privacy import mask_phone as mask_phone

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


def for_viewer(text: str, *, owner_id: int | None, viewer_id: int | None) -> str:
    """Text about a customer as `viewer_id` may see it: its owner in full, anyone else (a supervisor,
    an admin, the pool's audience) with every phone and e-mail masked."""
    return text if viewer_id is not None and viewer_id == owner_id else mask_contacts(text)
