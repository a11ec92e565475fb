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


def dialable_phone(value: str) -> str:
    """An E.164 number as a rep dials it from a phone: +8675512345678 -> 0755-12345678, a mobile
    +8613812345678 -> 13812345678 (no spaces, so chat apps make it tappable); other countries stay
    E.164, which dials from anywhere. Anything else (a masked number, a dash) is returned unchanged."""
    import phonenumbers  # the extractor's dependency; imported here so bot.format stays light

    if not (value.startswith("+") and value[1:].isdigit()):
        return value
    try:
        number = phonenumbers.parse(value)
    except phonenumbers.NumberParseException:
        return value
    if number.country_code != 86 or not phonenumbers.is_possible_number(number):
        return value
    groups = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL).split()
    if groups[0].startswith("0"):  # a landline: area code with its trunk 0, then the number
        return groups[0] + "-" + "".join(groups[1:])
    return "".join(groups)
