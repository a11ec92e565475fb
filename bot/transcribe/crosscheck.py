"""Cross-check our transcript against the platform's own recognition (DingTalk's `recognition`).

Two recognisers that disagree on a number or a date mean at least one misheard it, and those are
the words that matter most in a follow-up (amount, next contact, phone). The card then asks the
rep to check exactly those words; everything else is left alone (the two differ in wording all
the time).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.extract.amount import find_amounts
from bot.extract.phone import find_phones
from bot.extract.textnorm import normalize_text, spoken_digits_to_ascii
from bot.extract.when import find_time_mentions

_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_PLATFORM_NAMES = {"dingtalk": "钉钉", "wecom": "企业微信"}


@dataclass(frozen=True)
class _Facts:
    amounts: dict[int, str]  # yuan -> words as heard
    times: dict[tuple[str, str | None], str]  # (date, time or None) -> words as heard
    phones: dict[str, str]
    numbers: dict[str, str]  # other digit runs, outside the spans above


def _facts(text: str, ref_time: datetime) -> _Facts:
    norm = normalize_text(text)
    taken: list[tuple[int, int]] = []
    amounts: dict[int, str] = {}
    for m in find_amounts(norm):
        amounts.setdefault(m.yuan, norm[m.start : m.end])
        taken.append((m.start, m.end))
    times: dict[tuple[str, str | None], str] = {}
    for t in find_time_mentions(norm, ref_time=ref_time):
        key = (t.when.date().isoformat(), t.when.strftime("%H:%M") if t.has_time else None)
        times.setdefault(key, t.text)
        taken.append((t.start, t.end))
    phones = {p: p.removeprefix("+86") for p in find_phones(norm)}
    digits = spoken_digits_to_ascii(norm)
    numbers: dict[str, str] = {}
    for d in _DIGITS.finditer(digits):
        inside = any(s <= d.start() < e for s, e in taken)
        if not inside and d.group() not in phones.values() and len(d.group()) < 7:
            numbers.setdefault(d.group(), d.group())
    return _Facts(amounts, times, phones, numbers)


def _differ(label: str, ours: Mapping[Any, str], theirs: Mapping[Any, str], platform: str) -> str | None:
    if set(ours) == set(theirs):
        return None
    mine = "、".join(f"「{v}」" for k, v in ours.items() if k not in theirs) or "（无）"
    other = "、".join(f"「{v}」" for k, v in theirs.items() if k not in ours) or "（无）"
    return f"{label}两次识别不一致：本机识别为{mine}，{platform}识别为{other}，请听录音核对"


def disagreements(transcript: str, recognition: str | None, *, ref_time: datetime,
                  platform: str = "dingtalk") -> list[str]:
    """Warnings for the card where the two recognitions disagree on amounts, dates, phones, numbers."""
    if not recognition or not recognition.strip() or not transcript.strip():
        return []
    ours, theirs = _facts(transcript, ref_time), _facts(recognition, ref_time)
    name = _PLATFORM_NAMES.get(platform, "平台")
    found = [
        _differ("金额", ours.amounts, theirs.amounts, name),
        _differ("日期/时间", ours.times, theirs.times, name),
        _differ("电话", ours.phones, theirs.phones, name),
        _differ("数字", ours.numbers, theirs.numbers, name),
    ]
    return [w for w in found if w]
