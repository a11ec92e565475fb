"""Text normalisation shared by every extractor: script, width and spoken digits."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# Spoken digits as they appear in ASR output and dictated phone numbers (幺 and 两 are common readings).
SPOKEN_DIGITS: dict[str, str] = {
    "零": "0", "〇": "0", "洞": "0", "幺": "1", "一": "1", "二": "2", "两": "2", "三": "3",
    "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}
_SPOKEN_RUN = re.compile("[" + "".join(SPOKEN_DIGITS) + r"]{7,}")
# Sentence ends. Voice memos carry no punctuation, so a space between two Chinese characters also
# ends a phrase there (spaces inside Latin names or "周五 15:00" are kept).
_SENTENCE_BOUNDARY = re.compile(r"[。！？!?\n]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_CLAUSE_BOUNDARY = re.compile(r"[，,；;。！？!?\n~]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


@lru_cache(maxsize=1)
def _t2s() -> Any:
    # OpenCC loads its dictionaries on construction; build it once and only when first needed.
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> Simplified script only (Whisper writes much Mandarin in Traditional)."""
    return str(_t2s().convert(text))


def normalize_text(text: str) -> str:
    """Simplified script, half-width digits/letters/punctuation, no control characters."""
    if not text:
        return ""
    return to_simplified(normalize_width(text))


def normalize_width(text: str) -> str:
    """normalize_text without the script conversion: the same characters at the same offsets, in the
    script the writer used (a Traditional name is filed as written: 黃佩玲 is not 黄佩玲)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    # Drop control and private-use characters (binary junk) but keep line structure.
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return text.replace("\t", " ").replace("\u3000", " ")


def as_written(value: str | None, normalized: str, written: str) -> str | None:
    """``value`` (found in ``normalized``) spelled as in ``written`` (normalize_width of the same text).

    OpenCC's t2s maps character for character here, so offsets agree when the lengths do; otherwise
    the simplified value is kept."""
    if not value or len(normalized) != len(written):
        return value
    at = normalized.find(value)
    return written[at : at + len(value)] if at >= 0 else value


def words(text: str) -> tuple[str, ...]:
    """Whitespace-separated word lists keep long Chinese vocabularies compact and readable."""
    return tuple(text.split())


def spoken_digits_to_ascii(text: str) -> str:
    """Runs of 7+ spoken digits (a dictated phone number) to ASCII digits; shorter runs stay numerals."""
    return _SPOKEN_RUN.sub(lambda m: "".join(SPOKEN_DIGITS[c] for c in m.group()), text)


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_BOUNDARY.split(text) if s.strip()]


def clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE_BOUNDARY.split(text) if c.strip()]


def _around(pattern: re.Pattern[str], text: str, start: int, end: int, reach: int = 300) -> str:
    # Bounded look-around keeps this O(reach) per call even on very long pastes.
    lo = max(0, start - reach)
    left = lo
    for m in pattern.finditer(text, lo, start):
        left = m.end()
    after = pattern.search(text, end, min(len(text), end + reach))
    return text[left : after.start() if after else min(len(text), end + reach)]


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding text[start:end]; the span itself is never split."""
    return _around(_SENTENCE_BOUNDARY, text, start, end)


def clause_around(text: str, start: int, end: int) -> str:
    return _around(_CLAUSE_BOUNDARY, text, start, end)
