"""Transcript post-processing: Simplified script, Chinese punctuation, dictionary word correction.

Whisper base writes Traditional characters for much Mandarin and mishears product names as
homophones ("一动" for "移动"). Biasing the decoder with hotwords made accuracy worse in our
tests, so words are corrected afterwards against the configured products and tag keywords.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from bot.extract.textnorm import to_simplified

_CJK = "\u4e00-\u9fff"
_HALF_PUNCT = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；"}
_PUNCT_NEAR_CJK = re.compile(rf"(?<=[{_CJK}])([,?!:;])|([,?!:;])(?=[{_CJK}])")
_SPACE_AFTER_PUNCT = re.compile(r"(?<=[，。？！：；、])\s+")
_ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# Two-character keywords ("过去", "协议") have too many homophones to correct safely: a term needs
# three sounds, two of them Chinese ("移动CRM" qualifies).
_MIN_UNITS = 3
_MIN_CJK = 2


def chinese_punctuation(text: str) -> str:
    """Whisper emits ASCII ',' in Chinese sentences; show the rep full-width punctuation."""
    text = _PUNCT_NEAR_CJK.sub(lambda m: _HALF_PUNCT[m.group(1) or m.group(2)], text)
    return _SPACE_AFTER_PUNCT.sub("", text)


def _units(text: str) -> list[str]:
    """One comparable sound per character: toneless pinyin for Chinese, lower case for the rest."""
    return [ch.lower() if not ("\u4e00" <= ch <= "\u9fff") else lazy_pinyin(ch, style=Style.NORMAL)[0]
            for ch in text]


def _eligible(term: str) -> bool:
    return len(term) >= _MIN_UNITS and sum("\u4e00" <= ch <= "\u9fff" for ch in term) >= _MIN_CJK


@lru_cache(maxsize=64)
def _prepared(products: tuple[str, ...], keywords: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...], bool], ...]:
    """(term, sounds, one miss allowed), longest first: "运输管理系统" wins over a shorter overlap."""
    entries = {t: True for t in products if _eligible(t)}
    entries.update({t: False for t in keywords if _eligible(t) and t not in entries})
    return tuple((t, tuple(_units(t)), miss) for t, miss in sorted(entries.items(), key=lambda e: -len(e[0])))


def _close(window: list[str], target: tuple[str, ...], allow_miss: bool) -> bool:
    """Same sounds; a long product name may differ in one syllable (the base model drops initials)."""
    misses = sum(a != b for a, b in zip(window, target, strict=True))
    return misses == 0 or (allow_miss and misses == 1 and len(target) >= 5)


def correct_terms(text: str, products: Sequence[str] = (), keywords: Sequence[str] = ()) -> str:
    """Replace near-homophones of dictionary terms with the term itself.

    Products (few, long, distinctive) may differ by one syllable; tag keywords must sound exactly
    the same, since many differ from each other by one syllable ("比你们便宜" / "比我们便宜").
    Text that already spells any term is never touched.
    """
    prepared = _prepared(tuple(products), tuple(keywords))
    if not prepared or not text:
        return text
    chars = list(text)
    locked = [False] * len(chars)
    for term, _target, _miss in prepared:  # pass 1: protect every correct spelling
        start = text.find(term)
        while start >= 0:
            locked[start : start + len(term)] = [True] * len(term)
            start = text.find(term, start + 1)
    units = _units(text)
    for term, target, allow_miss in prepared:  # pass 2: fix the near-misses that are left
        n = len(target)
        i = 0
        while i + n <= len(chars):
            if not any(locked[i : i + n]) and _close(units[i : i + n], target, allow_miss):
                chars[i : i + n] = list(term)
                locked[i : i + n] = [True] * n
                i += n
            else:
                i += 1
    return "".join(chars)


def fix_ascii_case(text: str, terms: Sequence[str]) -> str:
    """'crm' -> 'CRM', 'saas' -> 'SaaS' for the Latin words of configured terms."""
    canon = {w.lower(): w for term in terms for w in _ASCII_WORD.findall(term)}
    return _ASCII_WORD.sub(lambda m: canon.get(m.group().lower(), m.group()), text)


def postprocess(text: str, products: Sequence[str] = (), keywords: Sequence[str] = ()) -> str:
    text = " ".join(to_simplified(text).split())
    text = chinese_punctuation(text)
    text = fix_ascii_case(text, [*products, *keywords])
    return correct_terms(text, products, keywords)
