"""Words Whisper heard one syllable off that need no book: dates, contact verbs, company suffixes.

A new rep's memo has no customer list to correct against, but its plan and its company's trade come
from small closed classes: weekdays, day words and day parts, the contact verbs of
bot/extract/contact.py, and the industry suffixes of bot/extract/company.py. Each fix is scoped to the
one construction where the heard words are not Chinese, uses pinyin.readings (every reading of a
polyphone) and keeps lengths, so fix positions refer to the text as heard.
"""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

from bot.extract.company import INDUSTRY_WORDS  # the extractor's maintained suffix lexicon
from bot.extract.people import SINGLE_SURNAMES, TITLES
from bot.understanding.pinyin import (
    _CJK,
    _DAY_END,
    _NUMERIC,
    NEAR_COST,
    Corrected,
    Fix,
    ordinary_word,
    readings,
    sound_score,
    syllable_cost,
    word_flag,
)

# Whisper base writes a weekday or a day part it half-heard with a near first syllable ("中三下午" for
# 周三下午, "周三胜五" for 周三上午) and a contact verb as an exact homophone that is another word
# ("再练习一次" for 再联系一次, "上午回房" for 上午回访). Each fix below is scoped to the one
# construction where the heard words are not Chinese: a weekday numeral heard right before a day part,
# a day part right after a day, a contact verb right after 再 or a time. Exact weekday/day-part
# homophones next to a date are pinyin.TIME_TERMS, applied before these.
_DAY_PARTS = ("上午", "下午", "晚上", "中午", "早上")
_WEEKDAY_NUMERALS = "一二三四五六日"
_DAY_PART_TERMS = ("上午", "下午")
_AFTER_TIME = set("再午点号天前底")
# The two-syllable contact verbs of bot/extract/contact.py that a memo's plan ends with.
CONTACT_WORDS = ("联系", "回访", "拜访", "见面", "沟通", "跟进", "面谈", "确认", "碰面", "回复")


def _same_sound(a: str, b: str) -> bool:
    return bool(readings(a) & readings(b))


def _near(a: str, b: str) -> bool:
    return syllable_cost(readings(a), readings(b)) <= NEAR_COST


def _closeness(a: str, b: str) -> float:
    """How alike two characters' best readings are, 0..1 (1: a shared reading), for a tie-break."""
    return max(Levenshtein.normalized_similarity(x, y) for x in readings(a) for y in readings(b))


def _weekday_at(text: str, i: int) -> str | None:
    """周N for a window heard as (near 周)(exactly N) right before a day part; never a time word
    of its own ("中午上午" stays: 中午 is a word, not a misheard weekday)."""
    w0, w1 = text[i], text[i + 1]
    if w0 == "周" or w0 in _NUMERIC or not _near(w0, "周") or word_flag(text[i : i + 2]) == "t":
        return None
    if text[i + 2 : i + 4] not in _DAY_PARTS and _day_part_at(text, i + 2) is None:
        return None  # a day part, heard right or one syllable off ("中一剩五")
    numerals = [n for n in _WEEKDAY_NUMERALS if _same_sound(w1, n)]
    return f"周{numerals[0]}" if len(numerals) == 1 else None


_DAY_WORDS = ("今天", "明天", "后天")


def _day_word_at(text: str, i: int) -> str | None:
    """今天/明天/后天 for a window (one near first syllable)(天) right before a day part ("偷天下午"
    for 后天下午); the nearest only, a tie left alone; never an ordinary word ("聊天", "每天")."""
    window = text[i : i + 2]
    if window in _DAY_WORDS or window[1] != "天" or ordinary_word(window):
        return None
    if text[i + 2 : i + 4] not in _DAY_PARTS and _day_part_at(text, i + 2) is None:
        return None
    close = sorted((_closeness(window[0], w[0]), w) for w in _DAY_WORDS if _near(window[0], w[0]))
    if not close or (len(close) > 1 and close[-1][0] == close[-2][0]):
        return None
    return close[-1][1]


def _day_part_at(text: str, i: int) -> str | None:
    """上午/下午 for a window right after a day whose second syllable is exactly wu and whose first is
    near one of them only (a tie is left alone); never an ordinary word."""
    window = text[i : i + 2]
    if i == 0 or text[i - 1] not in _DAY_END or window in _DAY_PART_TERMS or ordinary_word(window):
        return None
    if not _same_sound(window[1], "午"):
        return None
    # 胜 reads sheng or xing: near both 上 and 下, but far closer to shang; an even tie stays as heard.
    close = sorted((_closeness(window[0], t[0]), t) for t in _DAY_PART_TERMS if _near(window[0], t[0]))
    if not close or (len(close) > 1 and close[-1][0] == close[-2][0]):
        return None
    return close[-1][1]


# "再跟他确认", "再给客户回复": the verb's slot after 再 and a preposition with its person.
# Pronouns and prepositions are the words around the verb, never a misheard verb ("再跟她" stays;
# 她 has an old second reading jie that sounds near 跟进's jin).
_NOT_A_VERB = set("他她它们你您我咱跟和给找与再也还就都")
_AFTER_AGAIN_WITH = re.compile(r"再(?:跟|和|给|找|与)(?:他们|她们|他|她|对方|客户|人家)$")


def _contact_at(text: str, i: int) -> str | None:
    """A contact verb right after 再 (with its person: "再跟他") or a time: an exact homophone
    ("再练习一次", "上午回房"), or one near syllable where the heard words are no word ("切认")."""
    window = text[i : i + 2]
    if i == 0 or window in CONTACT_WORDS or any(ch in _NOT_A_VERB for ch in window):
        return None
    if text[i - 1] not in _AFTER_TIME and not _AFTER_AGAIN_WITH.search(text[max(0, i - 5) : i]):
        return None
    for word in CONTACT_WORDS:
        if all(_same_sound(h, t) for h, t in zip(window, word, strict=True)):
            return word
    if ordinary_word(window):
        return None
    near = [w for w in CONTACT_WORDS if sound_score(window, w) >= 75.0]  # one near syllable of two
    return near[0] if len(near) == 1 else None


def correct_spoken_dates(text: str) -> Corrected:
    """Weekdays, then day parts, then contact verbs (each pass sees the previous one's fixes, so
    "中三胜五" becomes 周三上午). Replacements keep lengths, so fix positions refer to `text`."""
    chars = list(text)
    fixes: list[Fix] = []
    rules = (("time", _weekday_at), ("time", _day_word_at), ("time", _day_part_at), ("contact", _contact_at))
    for kind, rule in rules:
        current = "".join(chars)
        for i in range(len(current) - 1):
            if not (_CJK.match(current[i]) and _CJK.match(current[i + 1])):
                continue
            fixed = rule(current, i)
            if fixed is not None and fixed != current[i : i + 2]:
                fixes.append(Fix(i, text[i : i + 2], fixed, kind, 100.0))
                chars[i : i + 2] = list(fixed)
    fixes.sort(key=lambda f: f.start)
    return Corrected("".join(chars), text, tuple(fixes))


# -- company suffixes ------------------------------------------------------------------------------
# "康宁耀叶的黄经理": the trade word of a company name heard as an exact homophone that is no word
# (耀叶 for 药业, 务留 for 物流). Replaced only right after a brand (two or more Chinese characters)
# and right before 的, a title or the end of a clause, where a company name stands; never when the
# heard words are an ordinary word of their own ("事业的", "五斤的"). The brand itself is a name:
# without a book nothing says how it is spelled, so it stays as heard.
_SUFFIXES = tuple(sorted({w for w in INDUSTRY_WORDS if 2 <= len(w) <= 4}, key=len, reverse=True))
# A brand does not end in a particle, pronoun or verb of talking/going: "我说无流的" has no brand.
_NOT_BRAND_END = set("的了是在说讲问我你您他她它们这那个和跟与去到见给对从向把被就也都还要会")
_AFTER_COMPANY = re.compile(r"^(?:的|[，,。；;、！!？?\s]|$)")


def _suffix_at(text: str, i: int, n: int) -> str | None:
    window = text[i : i + n]
    if i < 2 or not all(_CJK.match(ch) for ch in text[i - 2 : i + n]) or ordinary_word(window):
        return None
    if text[i - 1] in _NOT_BRAND_END:
        return None
    if not _AFTER_COMPANY.match(text[i + n : i + n + 1]):
        return None
    for suffix in _SUFFIXES:
        if len(suffix) == n and all(_same_sound(h, t) for h, t in zip(window, suffix, strict=True)):
            return None if window == suffix else suffix
    return None


def correct_heard_suffixes(text: str) -> Corrected:
    """Company trade words heard as exact homophones, longest first; lengths are kept."""
    chars = list(text)
    fixes: list[Fix] = []
    taken = [False] * len(text)
    for n in (4, 3, 2):
        for i in range(len(text) - n + 1):
            if any(taken[i : i + n]) or any(w in _SUFFIXES for w in _words_ending_at(text, i + n)):
                continue
            suffix = _suffix_at(text, i, n)
            if suffix is not None:
                fixes.append(Fix(i, text[i : i + n], suffix, "company", 100.0))
                chars[i : i + n] = list(suffix)
                taken[i : i + n] = [True] * n
    fixes.sort(key=lambda f: f.start)
    return Corrected("".join(chars), text, tuple(fixes))


def _words_ending_at(text: str, end: int) -> tuple[str, ...]:
    """The suffix-length spans ending at `end`: a suffix already spelled right there is left alone."""
    return tuple(text[max(0, end - n) : end] for n in (2, 3, 4))


# -- titles ----------------------------------------------------------------------------------------
# "赵雷赵经历", "周宁周殿长": the title after a repeated surname heard as a homophone (经历 for 经理,
# 殿长 for 店长, 主认 for 主任). Only in the construction that decides it: a full name, then its surname
# again, then the title; or a surname right after 的/了/见/和/跟 ("公司的王经历"). "他的经历" and
# "老王经历了" stay: no surname, or no such construction, before them.
_SPOKEN_TITLES = tuple(sorted((t for t in TITLES if len(t) >= 2), key=len, reverse=True))
_BEFORE_SURNAME = set("的了见和跟与给找")


def _title_at(text: str, i: int, n: int) -> str | None:
    window = text[i : i + n]
    if i < 2 or window in _SPOKEN_TITLES or not all(_CJK.match(ch) for ch in window):
        return None
    surname = text[i - 1]
    if surname not in SINGLE_SURNAMES:
        return None
    repeated = surname in text[max(0, i - 4) : i - 2]  # 赵雷赵…, 林美玲林…
    if not repeated and text[i - 2] not in _BEFORE_SURNAME:
        return None
    for title in _SPOKEN_TITLES:
        if len(title) == n and all(_same_sound(h, t) for h, t in zip(window, title, strict=True)):
            return title
    return None


def correct_heard_titles(text: str) -> Corrected:
    """Titles heard as homophones right after a surname in a naming construction; lengths are kept."""
    chars = list(text)
    fixes: list[Fix] = []
    for n in (3, 2):
        current = "".join(chars)
        for i in range(len(current) - n + 1):
            if any(f.start < i + n and i < f.start + len(f.original) for f in fixes):
                continue
            title = _title_at(current, i, n)
            if title is not None:
                fixes.append(Fix(i, text[i : i + n], title, "title", 100.0))
                chars[i : i + n] = list(title)
    fixes.sort(key=lambda f: f.start)
    return Corrected("".join(chars), text, tuple(fixes))
