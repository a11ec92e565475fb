"""Name keys for duplicate detection: "张伟", "张 伟" and "Zhang Wei" share the key "zhangwei"."""

from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz

_SPACES = re.compile(r"[\s·•\-_.]+")
_TITLES = ("总经理", "经理", "总监", "主任", "老师", "女士", "先生", "小姐", "总", "工")


def pinyin_of(name: str) -> str:
    """Space-separated lowercase syllables (Latin names keep their words)."""
    text = unicodedata.normalize("NFKC", name).strip()
    words = lazy_pinyin(_SPACES.sub(" ", text), style=Style.NORMAL, errors="default")
    return " ".join(w.strip().lower() for w in words if w.strip())


def name_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", pinyin_of(name))


def name_similarity(a: str, b: str) -> float:
    """0..100; compares pinyin keys so script and spacing do not matter."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return 0.0
    return float(fuzz.ratio(ka, kb))


def same_company(a: str | None, b: str | None) -> bool:
    """Unknown on either side does not contradict; otherwise a close match is required."""
    if not a or not b:
        return True
    return fuzz.partial_ratio(name_key(a) or a, name_key(b) or b) >= 90


def strip_title(name: str) -> str:
    for title in _TITLES:
        if name.endswith(title) and len(name) > len(title):
            return name[: -len(title)]
    return name
