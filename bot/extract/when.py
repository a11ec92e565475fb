"""Chinese time expressions: locate them in text and resolve them against the message time.

jionlp does the calendar arithmetic; a few colloquial forms it rejects (月底前) or resolves differently
from our rules are handled here first.
"""

from __future__ import annotations

import calendar
import contextlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from .textnorm import normalize_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_HOUR = 9  # date-only expressions are scheduled for the start of the working day
_MAX_MENTIONS = 100
_YEAR_ROLL_DAYS = 90  # bounds jionlp calls on huge pastes

_D = "[0-9零〇一二两三四五六七八九十]"
# 下昼 is Cantonese for 下午 ("下星期二下晝三點" after t2s).
_PERIOD = "(?:上午|下午|下昼|晚上|中午|早上|早晨|傍晚|凌晨|晚|早)"
_CLOCK = rf"(?:\d{{1,2}}:\d{{2}}|{_D}{{1,3}}点(?:半|一刻|三刻|{_D}{{1,3}}分?)?(?:钟)?)"
_DAY = (
    r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}[日号]?"
    rf"|(?:明年|今年)?{_D}{{1,3}}月{_D}{{1,3}}[日号]?"
    r"|(?:下下|下个?|这个?|本|上个?)?(?:周|星期|礼拜)[一二三四五六日天1-7]"
    r"|(?:下|这|本)?(?:个)?周末"
    r"|大后天|后天|明天|明早|明晚|明日|今天|今晚|今早|今日"
    # Past days are matched too, so that "昨天晚上十点" is yesterday evening, not "晚上十点" today.
    r"|昨天|昨晚|昨早|前天"
    rf"|{_D}{{1,3}}(?:天|个工作日|个星期|个礼拜|周)(?:后|以后|之后)"
    r"|(?:这个?月|本月|下个?月)?月底(?:前|之前)?"
    rf"|(?:下个?月|本月|这个?月|(?<![\d月])){_D}{{1,2}}号(?![楼线馆门厅店机位院])"
)
_MENTION = re.compile(
    rf"(?:{_DAY})(?:\s*{_PERIOD}?\s*{_CLOCK}|\s*{_PERIOD})?(?:前|之前)?"
    rf"|{_PERIOD}\s*{_CLOCK}"
    r"|(?<![\d:])\d{1,2}:\d{2}(?![\d:])"
)
_EXPLICIT_CLOCK = re.compile(rf"\d{{1,2}}:\d{{2}}|{_D}点")
_MONTH_END = re.compile(r"^(?P<which>这个?月|本月|下个?月)?月底(?:前|之前)?(?P<rest>.*)$")
_BY_SUFFIX = re.compile(r"\s*(?:之)?前$")
_PAST_MARKERS = ("上周", "上个", "上星期", "上礼拜", "昨", "前天")


@dataclass(frozen=True)
class TimeMention:
    start: int
    end: int
    text: str
    when: datetime
    has_time: bool


@lru_cache(maxsize=1)
def _jionlp() -> Any:
    # jionlp takes ~0.5 s to import and prints banners to stdout; do it once, on first use, quietly.
    with contextlib.redirect_stdout(io.StringIO()):
        import jionlp

    return jionlp


def _local(ref_time: datetime) -> datetime:
    if ref_time.tzinfo is None:
        return ref_time.replace(tzinfo=SHANGHAI)
    return ref_time.astimezone(SHANGHAI)


def _base(ref: datetime) -> dict[str, int]:
    return {"year": ref.year, "month": ref.month, "day": ref.day, "hour": ref.hour,
            "minute": ref.minute, "second": ref.second}


def _jionlp_parse(expr: str, ref: datetime) -> datetime | None:
    try:
        result = _jionlp().parse_time(expr, time_base=_base(ref))
    except Exception:  # jionlp raises assorted exception types on expressions it does not know
        return None
    if not isinstance(result, dict) or result.get("type") != "time_point":
        return None
    try:
        return datetime.strptime(result["time"][0], "%Y-%m-%d %H:%M:%S")
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _month_end(match: re.Match[str], ref: datetime) -> datetime:
    year, month = ref.year, ref.month
    if (match.group("which") or "").startswith("下"):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    last = calendar.monthrange(year, month)[1]
    return datetime(year, month, last)


def _roll_forward(expr: str, day: date, ref: datetime) -> date:
    # "1月5号" said in late December means next year; "3号" said on the 20th means next month. A date
    # only weeks back ("10月1号" on 10-20) is a genuine past reference and is left alone.
    if day >= ref.date() or any(m in expr for m in _PAST_MARKERS):
        return day
    if re.search(r"\d{4}|今年", expr):
        return day
    if re.search(rf"{_D}月{_D}", expr):
        if (ref.date() - day).days < _YEAR_ROLL_DAYS:
            return day
        with contextlib.suppress(ValueError):
            return day.replace(year=day.year + 1)
    elif re.fullmatch(rf"{_D}{{1,2}}号.*", expr):
        month = day.month % 12 + 1
        year = day.year + (day.month == 12)
        with contextlib.suppress(ValueError):
            return date(year, month, day.day)
    return day


# Contractions jionlp resolves to the wrong day ("明早九点" as this morning): spelled out first.
_SPELLED = (("明早", "明天早上"), ("明晚", "明天晚上"), ("今早", "今天早上"), ("今晚", "今天晚上"),
            ("昨晚", "昨天晚上"), ("昨早", "昨天早上"), ("下昼", "下午"))


def _resolve(expr: str, ref: datetime) -> tuple[datetime, bool] | None:
    has_time = bool(_EXPLICIT_CLOCK.search(expr))
    for short, full in _SPELLED:
        expr = expr.replace(short, full)
    month_end = _MONTH_END.match(expr)
    parsed: datetime | None
    if month_end:
        last = _month_end(month_end, ref)
        rest = month_end.group("rest").strip()
        clock = _jionlp_parse(rest, ref) if rest and has_time else None
        parsed = datetime.combine(last.date(), clock.time()) if clock else last
    else:
        # "周四前", "下周三之前": a day given as a limit is that day (jionlp rejects the suffix).
        parsed = _jionlp_parse(_BY_SUFFIX.sub("", expr) or expr, ref)
        if parsed is None:
            return None
    day = _roll_forward(expr, parsed.date(), ref)
    clock_time = parsed.time() if has_time else time(DEFAULT_HOUR)
    return datetime.combine(day, clock_time, tzinfo=SHANGHAI), has_time


def parse_when(text: str, *, ref_time: datetime) -> tuple[datetime, bool] | None:
    """Resolve one expression ("明天下午三点", "下周三", "月底前") to (Shanghai datetime, has_time)."""
    expr = re.sub(r"\s+", " ", normalize_text(text)).strip()
    if not expr or len(expr) > 40:
        return None
    ref = _local(ref_time).replace(tzinfo=None)
    resolved = _resolve(expr, ref)
    if resolved is None:
        # The command may carry words around the expression ("约在下周三吧"): use the first mention.
        mentions = find_time_mentions(expr, ref_time=ref_time)
        if mentions:
            return mentions[0].when, mentions[0].has_time
    return resolved


def find_time_mentions(text: str, *, ref_time: datetime) -> list[TimeMention]:
    """Every resolvable time expression in (normalised) text, in order of appearance."""
    ref = _local(ref_time).replace(tzinfo=None)
    mentions: list[TimeMention] = []
    for m in _MENTION.finditer(text):
        if len(mentions) >= _MAX_MENTIONS:
            break
        expr = re.sub(r"\s+", " ", m.group()).strip()
        resolved = _resolve(expr, ref)
        if resolved:
            mentions.append(TimeMention(m.start(), m.end(), expr, resolved[0], resolved[1]))
    return mentions
