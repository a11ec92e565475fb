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
from datetime import date, datetime, time, timedelta
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
    rf"|{_D}{{1,3}}(?:天|个工作日|个星期|个礼拜|周|个月)(?:后|以后|之后)"
    rf"|(?:(?:这个?|本|下个?)月?|(?<![{_D[1:-1]}]){_D}{{1,2}})?月底(?:前|之前)?"
    rf"|(?:下个?月|本月|这个?月|(?<![\d月])){_D}{{1,2}}号(?![楼线馆门厅店机位院])"
    # the start of a month, the twin of 月底 ("下个月初", "12月初", "月初"); not a lunar day ("正月初八", "初十")
    rf"|(?:(?:这个?|本|下个?)月月?|(?<![{_D[1:-1]}]){_D}{{1,2}}月|(?<![正腊上个月{_D[1:-1]}])月)初(?![{_D[1:-1]}])(?:前|之前)?"
)
# "那天下午", "当天": a day named earlier in the sentence, said again.
_ANAPHOR = r"(?:那天|当天|那一天)"
# A part of the day or a clock time said without a day ("下午给您回", "九点半过来") is today, unless a day
# was named just before it in the same sentence ("明天要做的事：上午十点…", "下周二上午有空，你们九点半过来").
_BARE_PERIOD = r"(?:下午|中午|傍晚|晚上)"
_BARE_CLOCK = rf"(?<![{_D[1:-1]}]){_D}{{1,3}}点(?:半|一刻|三刻|{_D}{{1,3}}分|钟)"
_MENTION = re.compile(
    rf"(?:{_DAY})(?:\s*{_PERIOD}?\s*{_CLOCK}|\s*{_PERIOD}|下班)?(?:前|之前)?"
    rf"|{_ANAPHOR}(?:\s*{_PERIOD})?(?:\s*{_CLOCK})?"
    rf"|{_PERIOD}\s*{_CLOCK}"
    rf"|(?:{_BARE_PERIOD}|下班)(?:前|之前)?"
    rf"|{_BARE_CLOCK}"
    r"|(?<![\d:])\d{1,2}:\d{2}(?![\d:])"
)
_LATIN = re.compile(r"[A-Za-z]{5}")
_TODAY_ONLY = re.compile(rf"(?:{_BARE_PERIOD}|下班)(?:前|之前)?")
_HAS_DAY = re.compile(rf"(?:{_DAY})")
# A day named just before keeps its hold over a time said without one for this many characters, within
# one sentence.
_ANCHOR_REACH = 40
_SENTENCE_END = re.compile(r"[。！？!?\n]")
# "下周三不行，周四吧": the repeated 下 is elided in an alternative or counter-offer said right after.
_BARE_WEEKDAY = re.compile(r"^(?:周|星期|礼拜)(?P<day>[一二三四五六日天1-7])")
_ELISION_REACH = 6  # "下周三不行，周四吧", "下周三下午或周四": an alternative, said right after
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
             **{str(i): i - 1 for i in range(1, 8)}}
# "两周后", "3个月后": counted from the send date (jionlp moves 两周后 to that week's Monday).
_COUNTED = re.compile(rf"^(?P<n>{_D}{{1,3}})(?P<unit>周|个星期|个礼拜|个月)(?:后|以后|之后)$")
_SMALL = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# Cantonese words for days, parts of the day and meeting verbs, read as their Mandarin equivalents
# ("听日下昼打俾我" is "明天下午打给我"). Each pair has the same length, so offsets stay valid.
_CANTONESE = (("听日", "明天"), ("琴日", "昨天"), ("上昼", "上午"), ("晏昼", "下午"), ("下昼", "下午"),
              ("过嚟", "过来"), ("上嚟", "上来"), ("嚟", "来"), ("俾", "给"), ("揾", "找"), ("喺", "在"),
              ("倾吓", "谈下"), ("倾下", "谈下"), ("倾倾", "谈谈"), ("覆我", "回我"), ("覆你", "回你"),
              ("覆返", "回复"), ("示範", "示范"))


def as_mandarin(text: str) -> str:
    """Cantonese day, time and meeting words as Mandarin, character for character (offsets kept)."""
    for cantonese, mandarin in _CANTONESE:
        if cantonese in text:
            text = text.replace(cantonese, mandarin)
    return text


def small_number(raw: str) -> int | None:
    """A small count in digits or Chinese numerals ("3", "两", "十二")."""
    if raw.isdigit():
        return int(raw)
    if "十" in raw:
        tens, _, ones = raw.partition("十")
        return (_SMALL.get(tens, 0) if tens else 1) * 10 + (_SMALL.get(ones, 0) if ones else 0)
    return _SMALL.get(raw) if len(raw) == 1 else None
_EXPLICIT_CLOCK = re.compile(rf"\d{{1,2}}:\d{{2}}|{_D}点")
_MONTH_END = re.compile(
    rf"^(?:(?P<which>这个?|本|下个?)月?|(?P<month>{_D}{{1,2}}))?月底(?:前|之前)?(?P<rest>.*)$"
)
_MONTH_START = re.compile(
    rf"^(?:(?P<which>这个?|本|下个?)月月?|(?P<month>{_D}{{1,2}})月|月)初(?:前|之前)?(?P<rest>.*)$"
)
# A bare 月初 said after the middle of a month is the next month's start ("月初再打给我" on the 20th).
_MID_MONTH = 15
_BY_SUFFIX = re.compile(r"\s*(?:之)?前$")
_PAST_MARKERS = ("上周", "上个", "上星期", "上礼拜", "昨", "前天")


@dataclass(frozen=True)
class TimeMention:
    start: int
    end: int
    text: str
    when: datetime
    has_time: bool
    # said without a day of its own ("下午", "九点半", "那天"): today, or the day named just before it
    dayless: bool = False


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
    named = small_number(match.group("month")) if match.group("month") else None
    if named and 1 <= named <= 12:
        # "一月底" said in November is next January's end.
        year, month = (year + 1 if named < month else year), named
    elif (match.group("which") or "").startswith("下"):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    last = calendar.monthrange(year, month)[1]
    return datetime(year, month, last)


def _month_start(match: re.Match[str], ref: datetime) -> datetime:
    year, month = ref.year, ref.month
    named = small_number(match.group("month")) if match.group("month") else None
    which = match.group("which")
    if named and 1 <= named <= 12:
        year, month = (year + 1 if named < month else year), named
    elif (which or "").startswith("下") or (which is None and ref.day > _MID_MONTH):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1)


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
    if _TODAY_ONLY.fullmatch(expr):
        return datetime.combine(ref.date(), time(DEFAULT_HOUR), tzinfo=SHANGHAI), False
    for short, full in _SPELLED:
        expr = expr.replace(short, full)
    month_end = _MONTH_END.match(expr)
    month_start = _MONTH_START.match(expr)
    counted = _COUNTED.match(expr)
    parsed: datetime | None
    if counted:
        n = small_number(counted.group("n"))
        if not n or n > 60:
            return None
        if counted.group("unit") == "个月":
            months = ref.month - 1 + n
            year, month = ref.year + months // 12, months % 12 + 1
            parsed = datetime(year, month, min(ref.day, calendar.monthrange(year, month)[1]))
        else:
            parsed = ref.replace(hour=0, minute=0, second=0) + timedelta(days=7 * n)
    elif month_end:
        last = _month_end(month_end, ref)
        rest = month_end.group("rest").strip()
        clock = _jionlp_parse(rest, ref) if rest and has_time else None
        parsed = datetime.combine(last.date(), clock.time()) if clock else last
    elif month_start:
        parsed = _month_start(month_start, ref)
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


def mentions_time(text: str) -> bool:
    """Whether text holds a time expression (cheap: no resolution)."""
    return bool(_MENTION.search(as_mandarin(text)))


def find_time_mentions(text: str, *, ref_time: datetime) -> list[TimeMention]:
    """Every resolvable time expression in (normalised) text, in order of appearance."""
    ref = _local(ref_time).replace(tzinfo=None)
    scan = as_mandarin(text)
    mentions: list[TimeMention] = []
    anchor: TimeMention | None = None  # the last mention that named a day
    for m in _MENTION.finditer(scan):
        if len(mentions) >= _MAX_MENTIONS:
            break
        expr = re.sub(r"\s+", " ", m.group()).strip()
        written = re.sub(r"\s+", " ", text[m.start() : m.end()]).strip()
        has_day = bool(_HAS_DAY.match(expr)) and not expr.startswith(("那", "当"))
        near = anchor is not None and _near(scan, anchor.end, m.start(), _ANCHOR_REACH)
        if not has_day and not near and re.match(_ANAPHOR, expr):
            continue  # "那天" with no day before it refers to nothing we can date
        resolved = _resolve(re.sub(rf"^{_ANAPHOR}\s*", "", expr) or "今天", ref)
        if resolved is None:
            continue
        when, has_time = resolved
        if not has_day and near and anchor is not None:
            clock = when.time() if has_time else anchor.when.time()
            when, has_time = datetime.combine(anchor.when.date(), clock, tzinfo=SHANGHAI), has_time or anchor.has_time
        elif has_day and anchor is not None and _elided_week(expr, anchor, scan, m.start()):
            monday = anchor.when.date() - timedelta(days=anchor.when.weekday())
            day = monday + timedelta(days=_WEEKDAYS[_BARE_WEEKDAY.match(expr).group("day")])  # type: ignore[union-attr]
            when = datetime.combine(day, when.time(), tzinfo=SHANGHAI)
        mention = TimeMention(m.start(), m.end(), written, when, has_time, dayless=not has_day)
        mentions.append(mention)
        if has_day:
            anchor = mention
    if _LATIN.search(text):
        mentions = sorted([*mentions, *_english_mentions(text, ref)], key=lambda m: m.start)[:_MAX_MENTIONS]
    return mentions


# English day expressions in a bilingual chat ("Let's have a call on Thursday 10am", "next Tuesday
# afternoon", "tomorrow at 3pm"), read as their Chinese equivalents.
_ENGLISH = re.compile(
    r"\b(?:(?P<next>next)\s+|(?:this|on)\s+)?"
    r"(?P<day>monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|today|tonight)\b"
    r"(?:\s+(?P<part>morning|afternoon|evening))?"
    r"(?:\s*(?:at\s*)?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.))?",
    re.IGNORECASE,
)
_ENGLISH_DAYS = {"monday": "周一", "tuesday": "周二", "wednesday": "周三", "thursday": "周四", "friday": "周五",
                 "saturday": "周六", "sunday": "周日", "tomorrow": "明天", "today": "今天", "tonight": "今晚"}
_ENGLISH_PARTS = {"morning": "上午", "afternoon": "下午", "evening": "晚上"}


def _english_mentions(text: str, ref: datetime) -> list[TimeMention]:
    found = []
    for m in _ENGLISH.finditer(text):
        day = _ENGLISH_DAYS[m.group("day").lower()]
        if m.group("next") and day.startswith("周"):
            day = "下" + day
        expr = day + _ENGLISH_PARTS.get((m.group("part") or "").lower(), "")
        if m.group("hour"):
            hour = int(m.group("hour"))
            hour += 12 if m.group("ampm").lower().startswith("p") and hour < 12 else 0
            expr += f"{hour}:{m.group('minute') or '00'}"
        resolved = _resolve(expr, ref)
        if resolved:
            found.append(TimeMention(m.start(), m.end(), m.group().strip(), resolved[0], resolved[1]))
    return found


def _near(text: str, anchor_end: int, start: int, reach: int) -> bool:
    return 0 <= start - anchor_end <= reach and not _SENTENCE_END.search(text, anchor_end, start)


def _elided_week(expr: str, anchor: TimeMention, text: str, start: int) -> bool:
    """A bare weekday right after a 下周X in the same sentence is in that week ("下周三不行，周四吧")."""
    return (
        bool(_BARE_WEEKDAY.match(expr))
        and as_mandarin(anchor.text).startswith(("下周", "下个周", "下星期", "下个星期", "下礼拜", "下个礼拜", "下下"))
        and _near(text, anchor.end, start, _ELISION_REACH)
        and bool(_BARE_WEEKDAY.match(re.sub(r"^(?:下下|下个?)", "", as_mandarin(anchor.text))))
    )
