"""Word segmentation with part-of-speech tags (jieba posseg), loaded once per process.

jieba's dictionary tags people (nr), places (ns), organisations (nt) and other proper nouns (nz);
names.py and company.py use those tags to find where a person's or a company's name begins,
instead of guessing from character lists. Loading the dictionary takes ~1 s, once, lazily.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

_lock = threading.Lock()
_loaded = False


@dataclass(frozen=True)
class Token:
    word: str
    flag: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.word)


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if not _loaded:
            import jieba

            jieba.setLogLevel(logging.WARNING)  # its banner goes to stderr on every load otherwise
            jieba.initialize()
            _loaded = True


@lru_cache(maxsize=2048)
def tokens(text: str) -> tuple[Token, ...]:
    """POS-tagged tokens with their offsets in ``text`` (which must already be normalised)."""
    _ensure_loaded()
    import jieba.posseg as posseg

    found: list[Token] = []
    pos = 0
    for pair in posseg.cut(text, HMM=True):
        word, flag = pair.word, pair.flag
        start = text.find(word, pos)
        if start < 0:
            continue
        found.append(Token(word, flag, start))
        pos = start + len(word)
    return tuple(found)


def word_flag(word: str) -> str | None:
    """The part-of-speech tag jieba's dictionary gives ``word``, or None if it is not in it."""
    _ensure_loaded()
    import jieba.posseg as posseg

    flag = posseg.dt.word_tag_tab.get(word)
    return str(flag) if flag is not None else None


def word_count(word: str) -> int:
    """How often jieba's dictionary counts ``word`` (0 if it is not in it): a common word ("老师" 6415, "小时" 8143)
    against a form of address the dictionary happens to hold ("老周" 56)."""
    _ensure_loaded()
    import jieba

    return int(jieba.dt.FREQ.get(word) or 0)


@lru_cache(maxsize=256)
def _starts(text: str) -> tuple[int, ...]:
    return tuple(tok.start for tok in tokens(text))


def token_at(text: str, pos: int) -> Token | None:
    """The token of ``text`` that holds character ``pos`` (a bisection over the cached segmentation, so
    checking many candidates in a long paste stays cheap)."""
    toks = tokens(text)
    i = bisect_right(_starts(text), pos) - 1
    if i < 0:
        return None
    tok = toks[i]
    return tok if tok.start <= pos < tok.end else None
