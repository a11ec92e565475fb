"""Money amounts in yuan: Arabic or Chinese numerals, 万/千/k units, ¥ and 元 markers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import cn2an

from .textnorm import normalize_text

_CN = "零〇一二两三四五六七八九十百千万亿点幺"
# Bounded and anchored at a number's start: unbounded digit runs backtrack quadratically on long junk.
_NUM = r"(?<!\d)(?<!\d[.,])\d[\d,]{0,14}(?:\.\d{1,6})?(?![\d,])"
_CNUM = f"(?<![{_CN}])[{_CN}]{{1,20}}"
_UNIT = r"(?:万|亿|千|k|K|w|W)"
_CURRENCY_AFTER = r"(?:元|块钱|块|人民币|RMB|rmb|CNY)"
_CURRENCY_BEFORE = r"(?:¥|RMB|rmb|CNY|人民币)"
# Things counted rather than paid: "120万用户", "3万台" are quantities, not money.
_QUANTITY_AFTER = re.compile(
    r"^(?:多|余)?(?:人|个|台|件|次|套|家|条|字|吨|公里|平|平米|平方|户|用户|名|位|张|份|箱|本|辆|行|元素|门店)"
)
_CANDIDATE = re.compile(
    rf"(?P<before>{_CURRENCY_BEFORE})\s*(?P<n1>{_NUM})\s*(?P<u1>{_UNIT})?"
    rf"|(?P<n2>{_NUM})\s*(?P<u2>{_UNIT})?\s*(?P<cur2>{_CURRENCY_AFTER})"
    rf"|(?P<n3>{_NUM})\s*(?P<u3>万|亿|w|W)"
    rf"|(?P<c4>{_CNUM}[万亿千][{_CN}]{{0,10}})(?P<cur4>{_CURRENCY_AFTER})?"
    rf"|(?P<c5>{_CNUM})(?P<cur5>{_CURRENCY_AFTER})"
)
# The amount column is INTEGER (int4 on PostgreSQL): an amount past 2^31-1 yuan (about 21亿) cannot be
# stored and used to fail the whole message there. It is left out of the record; the text keeps it.
MAX_AMOUNT_CNY = 2**31 - 1
# 块 is both "yuan" and a measure word ("三十块屏", "两块地"): it is money only when nothing follows it
# or what follows is money talk (钱, 左右, 一个, 每…), never when a noun it counts follows.
_KUAI_AS_MEASURE = re.compile(r"^[\u4e00-\u9fff]")
_KUAI_MONEY_FOLLOWERS = ("钱", "左右", "上下", "出头", "一", "每", "的价", "多")
_MULTIPLIER = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "千": 1_000, "k": 1_000, "K": 1_000}


@dataclass(frozen=True)
class AmountMatch:
    yuan: int
    start: int
    end: int
    explicit_currency: bool


def _arabic(number: str, unit: str | None) -> int | None:
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None
    return int(value * _MULTIPLIER.get(unit or "", 1))


def chinese_number(text: str) -> int | None:
    """Chinese numeral (possibly colloquial, e.g. 三万九千八 / 二十万八 / 三点九八万) to an integer."""
    text = text.replace("幺", "一")
    unit = 1
    # cn2an rejects decimals before a unit ("三点九八万"): scale the decimal part ourselves.
    if "点" in text and text[-1] in "万亿":
        unit = 10_000 if text[-1] == "万" else 100_000_000
        text = text[:-1]
    try:
        value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return int(Decimal(str(value)) * unit)


def find_amounts(text: str) -> list[AmountMatch]:
    """Money mentions in order of appearance; percentages and counted quantities are skipped."""
    found: list[AmountMatch] = []
    for m in _CANDIDATE.finditer(text):
        start, end = m.span()
        if text[max(0, start - 3) : start].endswith("百分之") or text[end : end + 1] in ("%", "％"):
            continue
        explicit = bool(m.group("before") or m.group("cur2") or m.group("cur4") or m.group("cur5"))
        currency = m.group("cur2") or m.group("cur4") or m.group("cur5") or ""
        after = text[end : end + 2]
        if currency == "块" and _KUAI_AS_MEASURE.match(after) and not after.startswith(_KUAI_MONEY_FOLLOWERS):
            continue
        if not explicit and _QUANTITY_AFTER.match(text[end : end + 3]):
            continue
        yuan: int | None
        if m.group("n1"):
            yuan = _arabic(m.group("n1"), m.group("u1"))
        elif m.group("n2"):
            yuan = _arabic(m.group("n2"), m.group("u2"))
        elif m.group("n3"):
            yuan = _arabic(m.group("n3"), m.group("u3"))
        else:
            raw = m.group("c4") or m.group("c5")
            if raw.startswith("点") or raw.endswith("点"):
                continue
            yuan = chinese_number(raw)
        if yuan is None or not 0 < yuan <= MAX_AMOUNT_CNY:
            continue
        found.append(AmountMatch(yuan, start, end, explicit))
    return found


def parse_amount(text: str) -> int | None:
    """An amount in yuan from a short expression ("50万", "¥39,800", "三万九千八"), or None."""
    text = normalize_text(text).strip()
    if not text:
        return None
    amounts = find_amounts(text)
    if amounts:
        return amounts[0].yuan
    # A bare number typed as a command argument ("39800", "三万九千八") is taken as yuan.
    bare = text.replace(",", "").replace(" ", "")
    yuan = None
    if re.fullmatch(r"\d{1,15}(?:\.\d{1,6})?", bare):
        yuan = _arabic(bare, None)
    elif re.fullmatch(_CNUM, bare):
        yuan = chinese_number(bare)
    return yuan if yuan is not None and 0 < yuan <= MAX_AMOUNT_CNY else None
