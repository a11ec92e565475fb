"""Masking personal contact data: one phone, one e-mail, or every phone and e-mail inside free text.

Used wherever someone other than a customer's owner sees it (exports, a supervisor's 历史, 查,
pushes to supervisors), for timeline summaries, which are stored masked, and by the log
processors (bot/logs.py) as the last line of defence. It lives in the store layer because the
store writes the timeline and may not import bot code.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers

# Bounded and anchored like the extractor's pattern, so a long run of junk cannot backtrack quadratically.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,24}"
)
_DIGIT = re.compile(r"\d")
# The fewest digits a phone number the matcher accepts can have (a landline without area code is
# not matched at VALID leniency, so 7 is safely below what can match); below it the matcher is skipped.
_MIN_PHONE_DIGITS = 7
_MAX_CANDIDATES = 200


def mask_phone(phone: str | None) -> str:
    """+8613912345678 -> +86139****5678: the operator prefix and the last four digits stay checkable."""
    if not phone:
        return "—"
    return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else phone


def mask_email(email: str | None) -> str:
    """zhang.wei@example.cn -> z***@example.cn."""
    if not email:
        return "—"
    local, at, domain = email.partition("@")
    if not at:
        return email[:1] + "***"
    return f"{local[:1]}***@{domain}"


def mask_contacts(text: str) -> str:
    """Every phone number and e-mail address inside `text` masked, everything else unchanged.

    Phones are found with libphonenumber's matcher at VALID leniency (region CN): mainland mobiles,
    +86 numbers and landlines with their area code, in any common grouping ("139 1234 5678",
    "010-62345678", "+86 139…"), and foreign numbers written with their + prefix. VALID (not
    POSSIBLE) keeps dates, amounts and ids such as "2026-11-26" or "430000" intact."""
    return _replace_contacts(text, email=mask_email, phone=mask_phone)


def strip_contacts(text: str) -> str:
    """`text` with every phone number and e-mail address removed (each replaced by a space)."""
    return _replace_contacts(text, email=lambda _e: " ", phone=lambda _p: " ")


def contains_contact(text: str) -> bool:
    """Whether `text` holds a phone number or an e-mail address."""
    return strip_contacts(text) != text


def _replace_contacts(text: str, *, email: Callable[[str], str], phone: Callable[[str], str]) -> str:
    if "@" in text:
        text = _EMAIL.sub(lambda m: email(m.group()), text)
    if len(_DIGIT.findall(text)) < _MIN_PHONE_DIGITS:
        return text
    matches = list(phonenumbers.PhoneNumberMatcher(text, "CN", leniency=phonenumbers.Leniency.VALID,
                                                   max_tries=_MAX_CANDIDATES))
    for match in reversed(matches):  # from the end, so earlier offsets stay right
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        text = text[: match.start] + phone(e164) + text[match.end :]
    return text
