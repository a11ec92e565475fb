"""Phone numbers to E.164 via libphonenumber, including dictated (spoken-digit) numbers."""

from __future__ import annotations

import re

import phonenumbers

from bot.extract.numbers import spoken_numbers_to_digits

from .textnorm import normalize_text, spoken_digits_to_ascii

# Numbers the bot should never file as a customer's phone: hotlines are vendors' switchboards.
_SERVICE_PREFIXES = ("+86400", "+86800", "+8695")
_MAX_CANDIDATES = 50
_SPOKEN = "零〇洞幺一二两三四五六七八九"
# Dictated groups are separated by a space, a dash, or in typed notes by 、 or a comma ("139、2245、6708",
# "一三九，二二四五，六七零八"): a comma only joins groups of exactly 3-4 digits, so a list of small
# numbers in a sentence is not glued into a phone number unless it has a phone number's shape.
_GROUP_SEP = r"(?:\s?[ \-、，,]\s?)"
_SPOKEN_GROUPS = re.compile(
    f"(?<![{_SPOKEN}])[{_SPOKEN}]{{3,4}}(?:{_GROUP_SEP}[{_SPOKEN}]{{3,4}}){{1,3}}(?![{_SPOKEN}])"
)
_DIGIT_GROUPS = re.compile(r"(?<![\d])(?:\+?\d{2,4}[、，,])?\d{3,4}(?:[、，,]\d{3,4}){1,2}(?![\d])")


def _join_groups(m: re.Match[str]) -> str:
    joined = re.sub(r"[\s\-、，,]", "", m.group())
    return joined if 7 <= len(joined.lstrip("+")) <= 13 else m.group()


def find_phones(text: str) -> list[str]:
    """All plausible phone numbers in order of appearance, as E.164 strings, de-duplicated."""
    if not text:
        return []
    # ASR often groups a dictated number ("幺三八 一二三四 五六七八"); close the gaps before converting.
    prepared = spoken_digits_to_ascii(_SPOKEN_GROUPS.sub(_join_groups, text))
    prepared = _DIGIT_GROUPS.sub(_join_groups, prepared)
    # Then the digits ASR wrote as homophones inside such a run ("一三八零零一三八零就零").
    prepared = spoken_numbers_to_digits(prepared)
    found: list[str] = []
    matcher = phonenumbers.PhoneNumberMatcher(
        prepared, "CN", leniency=phonenumbers.Leniency.POSSIBLE, max_tries=_MAX_CANDIDATES
    )
    for match in matcher:
        number = match.number
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if not _acceptable(number, e164):
            continue
        if e164 not in found:
            found.append(e164)
    return found


def _acceptable(number: phonenumbers.PhoneNumber, e164: str) -> bool:
    if e164.startswith(_SERVICE_PREFIXES):
        return False
    if number.country_code == 86:
        # Mainland numbers must be valid (right length for the area code / mobile prefix): a local-format
        # foreign number such as "0912-345-678" (Taiwan) would otherwise become a bogus +86 number.
        return phonenumbers.is_valid_number(number)
    return phonenumbers.is_possible_number(number)


def normalize_phone(text: str) -> str | None:
    """The first phone number in ``text`` in E.164 form, or None."""
    phones = find_phones(normalize_text(text))
    return phones[0] if phones else None
