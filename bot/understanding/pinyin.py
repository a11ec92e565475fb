"""Near-miss correction by sound: a transcript's "华新物流" becomes the rep's customer "华信物流".

Whisper writes a name it does not know with other characters of (nearly) the same sound. Each
window of the transcript is compared syllable by syllable with the rep's known names, companies
and products (pypinyin readings, every reading of a polyphone, tones ignored; rapidfuzz for how
close two syllables are), and replaced only above a threshold. The original text is kept by the
caller, and every replacement is reported so the card can show it.

Per syllable: the same toneless reading costs 0, a reading equal after folding the usual Mandarin
confusions (zh/z, ch/c, sh/s, n/l, -ng/-n) costs FOLD_COST, a syllable rapidfuzz finds close
(one or two letters) costs NEAR_COST, anything else 1. score = 100 * (1 - cost / syllables). With the
default threshold of 90, a two-character name must sound exactly the same, a three- or
four-character one may differ by one folded syllable, and only five or more characters allow one
merely similar syllable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, pinyin
from rapidfuzz.distance import Levenshtein

from bot.extract.people import TITLES
from bot.extract.segment import word_flag

THRESHOLD = 90.0
# Companies of customers whose names are in the same memo are far more likely to be meant: a
# near-miss there ("有安物业" with 郑华 of 永安物业 in the memo) is corrected at this lower bar.
CONTEXT_THRESHOLD = 80.0
FOLD_COST = 0.25
NEAR_COST = 0.5
NEAR_SIMILARITY = 0.5  # rapidfuzz normalized similarity of two syllables' letters
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Numerals and calendar characters: a window holding one is a number or a date ("周五", "三点"),
# and is never turned into a name, whatever it sounds like.
_NUMERIC = set("零〇一二两三四五六七八九十百千万亿点号周月日天年午时分半")
_DAY_END = set("一二三四五六日天号")
_DAY_PART = set("上下中晚早")
_INITIAL_FOLDS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))


@dataclass(frozen=True)
class Term:
    text: str
    kind: str  # name | company | product | time
    threshold: float = THRESHOLD


@dataclass(frozen=True)
class Fix:
    start: int
    original: str
    corrected: str
    kind: str
    score: float


@dataclass(frozen=True)
class Corrected:
    text: str
    original: str
    fixes: tuple[Fix, ...]


@lru_cache(maxsize=8192)
def readings(ch: str) -> frozenset[str]:
    """Every toneless reading of one character (polyphones: all of them)."""
    if not _CJK.match(ch):
        return frozenset({ch.lower()})
    return frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])


@lru_cache(maxsize=8192)
def _fold(syllable: str) -> str:
    for long, short in _INITIAL_FOLDS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    return syllable[:-1] if syllable.endswith("ng") and len(syllable) > 2 else syllable


def syllable_cost(a: frozenset[str], b: frozenset[str]) -> float:
    if a & b:
        return 0.0
    if {_fold(x) for x in a} & {_fold(y) for y in b}:
        return FOLD_COST
    best = max(Levenshtein.normalized_similarity(x, y) for x in a for y in b)
    return NEAR_COST if best >= NEAR_SIMILARITY else 1.0


def sound_score(heard: str, term: str) -> float:
    """0..100: how alike two equally long strings sound, syllable by syllable."""
    if len(heard) != len(term) or not term:
        return 0.0
    cost = 0.0
    for h, t in zip(heard, term, strict=True):
        cost += syllable_cost(readings(h), readings(t))
        if cost > len(term):
            break
    return 100.0 * (1.0 - cost / len(term))


def _eligible_window(text: str, i: int, term: Term) -> bool:
    window = text[i : i + len(term.text)]
    if not all(_CJK.match(ch) for ch in window):
        return False
    if term.kind == "time":
        # Only next to a day or a clock ("下周一上五", "上五十点"): "尚无进展" sounds like 上午 too.
        before, after = text[i - 1 : i], text[i + len(window) : i + len(window) + 1]
        if window[0] != "周" and term.text.startswith("周"):
            return False  # a weekday is only ever re-spelled after a 周 that was heard
        if term.text.startswith("周"):
            return bool(before and before in "下这本每") or bool(after and after in _DAY_PART)
        return bool(before and before in _DAY_END) or bool(after and (after in _NUMERIC or after.isdigit()))
    # Never make a name out of a number or a date: "周五" stays even if a customer is called 周武.
    if any(w in _NUMERIC and w != t for w, t in zip(window, term.text, strict=True)):
        return False
    if term.kind == "name":
        return _name_like(text, i, len(window)) and not ordinary_word(window)
    return True


# Spoken fillers: never a name, whatever a known name sounds like ("那个" at a memo's start).
_FILLERS = frozenset(("那个", "这个", "就是", "然后", "嗯嗯", "呃呃", "那么", "这样", "对对", "好的"))
_BEFORE_NAME = (
    "的", "叫", "是", "和", "跟", "与", "同", "给", "找", "见了", "见", "客户", "联系人", "对接人", "约了", "拜访了"
)
_AFTER_NAME = ("说", "的", "讲", "问", "要", "打", "来", "反馈", "表示", "觉得", "那边", "这边")


def _name_like(text: str, i: int, n: int) -> bool:
    """A span is corrected to a name only where a name is expected: before a title or a verb of
    speaking, or after 的/叫/和/见了… ("华新物流的张为张总", "张为说"), never mid-sentence."""
    window = text[i : i + n]
    if window in _FILLERS:
        return False
    after = text[i + n : i + n + 3]
    before = text[max(0, i - 3) : i]
    return after.startswith((*TITLES, *_AFTER_NAME)) or before.endswith(_BEFORE_NAME)


def ordinary_word(window: str) -> bool:
    """The segmenter's dictionary knows ``window`` as a word other than a person's name ("时候",
    "工作", "中间"): an ordinary word heard right is not a misheard name, whatever its other readings."""
    flag = word_flag(window)
    return flag is not None and not flag.startswith("nr")


def correct_near_misses(text: str, terms: Iterable[Term]) -> Corrected:
    """Replace windows that sound like a known term (score >= its threshold) with the term.

    A term spelled correctly anywhere locks those characters; overlapping candidates go to the
    higher score, then the longer term. Terms must be Chinese (2+ characters); others are ignored.
    """
    usable = {t.text: t for t in terms if len(t.text) >= 2 and all(_CJK.match(ch) for ch in t.text)}
    if not text or not usable:
        return Corrected(text, text, ())
    locked = [False] * len(text)
    for spelled in usable:
        for m in re.finditer(re.escape(spelled), text):
            locked[m.start() : m.end()] = [True] * len(spelled)
    candidates: list[tuple[float, int, int, Term]] = []
    for term in usable.values():
        n = len(term.text)
        for i in range(len(text) - n + 1):
            window = text[i : i + n]
            if window == term.text or any(locked[i : i + n]) or not _eligible_window(text, i, term):
                continue
            score = sound_score(window, term.text)
            if score >= term.threshold:
                candidates.append((score, n, i, term))
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2]))
    chars = list(text)
    fixes: list[Fix] = []
    for score, n, i, term in candidates:
        if any(locked[i : i + n]):
            continue
        fixes.append(Fix(i, text[i : i + n], term.text, term.kind, round(score, 1)))
        chars[i : i + n] = list(term.text)
        locked[i : i + n] = [True] * n
    fixes.sort(key=lambda f: f.start)
    return Corrected("".join(chars), text, tuple(fixes))


def terms_for(
    names: Sequence[str], companies: Sequence[str], products: Sequence[str], *, context_companies: Sequence[str] = ()
) -> list[Term]:
    """The correction dictionary: names, companies (a lower bar for those in context) and products."""
    terms = [Term(n, "name") for n in names]
    terms += [Term(c, "company", CONTEXT_THRESHOLD if c in context_companies else THRESHOLD) for c in companies]
    terms += [Term(p, "product") for p in products]
    return terms


# Clock and weekday words Whisper writes as exact homophones ("上五" for 上午; "周武" for 周五 once a
# customer 周武 is in the prompt). Exact sound only, and only next to another date word.
TIME_TERMS: tuple[Term, ...] = tuple(
    Term(w, "time", 100.0) for w in ("上午", "下午", *(f"周{d}" for d in "一二三四五六日"))
)

