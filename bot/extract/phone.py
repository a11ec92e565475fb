"""Phone numbers to E.164 via libphonenumber, including dictated (spoken-digit) numbers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

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


# Whose number it is, said right before it: "他手机 186…", "小何的电话：136…", "安全员老贺，电话139…".
_OWNER = re.compile(
    r"(?P<who>[\u4e00-\u9fffA-Za-z]{1,8}?)(?:的)?(?:手机号?|电话|座机|号码|联系方式|微信)(?:号码?)?(?:是|为|：|:)?\s*$"
)
_THIRD_PERSON = re.compile(r"^(?:他|她)")
# A person named the way Chinese names someone in passing: 小何, 老贺, 王工, 李经理, Jason.
_NAMED = re.compile(
    r"(?:^|(?<=[的是找打联系]))(?P<name>(?:小|老)[\u4e00-\u9fff]|[\u4e00-\u9fff]{1,2}(?:总|工|经理|主任|助理|老师|师傅|主管)"
    r"|[A-Z][a-z]+)\s*$"
)
_CLAUSE_MARK = re.compile(r"[，,。；;！？!?\n]")


def find_phones(text: str) -> list[str]:
    """All plausible phone numbers in order of appearance, as E.164 strings, de-duplicated."""
    found: list[str] = []
    for e164, _, _, _ in _matches(text):
        if e164 not in found:
            found.append(e164)
    return found


def customer_phones(parts: Sequence[tuple[str, bool]], customer: str | None) -> list[str]:
    """The customer's numbers among the customer-side text: (text, said by the customer in a chat) parts.

    README: a colleague's or a third party's number is not the customer's. In the customer's own chat
    turn "他/她" is someone else, so a number given as theirs ("他手机 186…", or a bare number followed by
    "他周一到周五都在厂里") is a referral; in any text a number given as another named person's ("小何的手机")
    is theirs, not the customer's (a name sharing no character with the customer's)."""
    found: list[str] = []
    for text, customer_turn in parts:
        for e164, prepared, start, end in _matches(text):
            if e164 not in found and not _someone_elses(prepared, start, end, customer_turn, customer):
                found.append(e164)
    return found


def _someone_elses(text: str, start: int, end: int, customer_turn: bool, customer: str | None) -> bool:
    clause_start = max((m.end() for m in _CLAUSE_MARK.finditer(text, 0, start)), default=0)
    before = text[clause_start:start]
    owner = _OWNER.search(before)
    who = owner.group("who") if owner else ""
    if customer_turn and (_THIRD_PERSON.match(who) or _THIRD_PERSON.match(before.strip())):
        return True
    if customer_turn and not before.strip():
        # a bare number, then a clause about someone else ("0512-…，他周一到周五都在厂里")
        following = _CLAUSE_MARK.split(text[end : end + 40], maxsplit=2)
        after = following[1].strip() if len(following) > 1 else ""
        if not following[0].strip() and _THIRD_PERSON.match(after):
            return True
    named = _NAMED.search(who)
    if customer and named:
        return not set(named.group("name")) & set(customer)
    return False


def _matches(text: str) -> Iterator[tuple[str, str, int, int]]:
    """(E.164, prepared text, start, end) for each acceptable number; offsets are into the prepared text."""
    if not text:
        return
    # ASR often groups a dictated number ("幺三八 一二三四 五六七八"); close the gaps before converting.
    prepared = spoken_digits_to_ascii(_SPOKEN_GROUPS.sub(_join_groups, text))
    prepared = _DIGIT_GROUPS.sub(_join_groups, prepared)
    # Then the digits ASR wrote as homophones inside such a run ("一三八零零一三八零就零").
    prepared = spoken_numbers_to_digits(prepared)
    matcher = phonenumbers.PhoneNumberMatcher(
        prepared, "CN", leniency=phonenumbers.Leniency.POSSIBLE, max_tries=_MAX_CANDIDATES
    )
    regions: tuple[str, ...] | None = None  # read only for a number that is no mainland one (rare, and 1-2 ms)
    for match in matcher:
        number = match.number
        glued = match.start > 0 and prepared[match.start - 1].isascii() and prepared[match.start - 1].isalpha()
        if number.country_code == 86 and not glued:
            shaped, contradicted = _grouping(match.raw_string, number)
            if contradicted or not phonenumbers.is_valid_number(number):
                regions = named_regions(text) if regions is None else regions
                number = _abroad(match.raw_string, regions, shaped) or number
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if _acceptable(number, e164):
            yield e164, prepared, match.start, match.end


# Country codes a mainland rep's customers dictate without a plus: Hong Kong, Macau, Taiwan, and the
# neighbours in East and Southeast Asia. A longer list would read order numbers ("2026…") as Egyptian phones.
_NEAR_ABROAD = ("852", "853", "886", "60", "65", "66", "84", "62", "63", "81", "82")


# Every region by its Chinese and its English name, frozen from libphonenumber's geocoding data by
# benchmarks/country_names.py (importing that data costs ~100 MB of RSS per process for a few hundred names).
COUNTRY_NAMES_FILE = Path(__file__).with_name("country_names.json")


@cache
def _country_names() -> tuple[dict[str, str], re.Pattern[str]]:
    """Name -> region ("日本", "Japan", "墨西哥", "Mexico"; not mainland China, the default), and one pattern that finds
    them (longest first; a Latin name as a whole word)."""
    names: dict[str, str] = json.loads(COUNTRY_NAMES_FILE.read_text("utf-8"))["names"]
    alternatives = [rf"(?<![A-Za-z]){re.escape(n)}(?![A-Za-z])" if n.isascii() else re.escape(n)
                    for n in sorted(names, key=len, reverse=True)]
    return names, re.compile("|".join(alternatives))


def named_regions(text: str) -> tuple[str, ...]:
    """The regions whose country the text names, in order of first mention."""
    names, pattern = _country_names()
    return tuple(dict.fromkeys(names[m.group()] for m in pattern.finditer(text)))


# How a number is grouped tells where its owner writes numbers (round 20). A mainland landline is written
# with its trunk 0 and the area code as one group ("0718-4632290", "0755-8888-1234"); three groups of 3-3-4
# with no trunk 0 ("(718) 463-2290", "604-812-3367") are the North American plan's shape, and a trunk 0 group
# that cuts a mainland area code in two ("090-8812-5573" read as 0908 …, "06-6123-4567") is Japan's or Korea's.
_NANP_SHAPE = re.compile(r"\(?[2-9]\d{2}\)?[\s.\-]?[2-9]\d{2}[\s.\-]\d{4}")
_TRUNK_GROUPS = re.compile(r"(0\d{1,3})[\s\-](\d{3,4})[\s\-](\d{4})")


def _grouping(raw: str, number: phonenumbers.PhoneNumber) -> tuple[tuple[str, ...], bool]:
    """The regions whose usual shape the written number has (tried after the regions the text names), and whether
    that shape contradicts the mainland reading: the North American one always does, trunk groups when their first
    group is not the mainland trunk and area code."""
    raw = raw.strip()
    if _NANP_SHAPE.fullmatch(raw):
        return ("US",), True  # the whole plan (+1): Canada's numbers are valid under any NANP region
    groups = _TRUNK_GROUPS.fullmatch(raw)
    if groups is None:
        return (), False
    return ("JP", "KR"), len(groups.group(1)) != 1 + phonenumbers.length_of_national_destination_code(number)


def _abroad(
    raw: str, regions: Sequence[str] = (), shaped: Sequence[str] = ()
) -> phonenumbers.PhoneNumber | None:
    """A number that is no mainland number may be a foreign one written the way its owner writes it: a
    Taiwan mobile in local form ("0921-456-778", 09 + 8 digits, a shape no mainland number has), a
    number dictated with its country code and no plus ("八五二 六七七一 二三零八"), or (round 19) a local
    number of a country the text names ("东京的田中，090-7712-3345 … 日本" is +81 90 7712 3345; a rep
    abroad writes the local form). A number glued to Latin letters is a code (a waybill "YT2026…"), never
    tried."""
    digits = re.sub(r"\D", "", raw)
    # (text, region, only a mobile): a Taiwan shape with no country named must be a mobile to be believed
    candidates: list[tuple[str, str | None, bool]] = []
    if re.fullmatch(r"09\d{8}", digits):
        candidates.append((digits, "TW", True))
    if not raw.lstrip().startswith("+"):  # then the country the text names: context beats a guess by digits
        candidates.extend((digits, region, False) for region in regions)
        # then the country whose way of grouping digits the number is written in
        candidates.extend((raw, region, False) for region in shaped if region not in regions)
    if digits.startswith(_NEAR_ABROAD) and not raw.lstrip().startswith("+"):
        candidates.append(("+" + digits, None, False))
    for text, region, mobile_only in candidates:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if number.country_code != 86 and phonenumbers.is_valid_number(number) and (
            not mobile_only or phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
        ):
            return number
    return None


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
