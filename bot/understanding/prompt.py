"""The per-memo transcription prompt: the Simplified prefix, then the rep's likeliest customers and
the product catalog, fitted to Whisper's prompt budget.

Whisper reads the initial prompt as text that came just before the audio, so names in it become
the spellings it prefers for sounds it is unsure of. Measured on our voice set (benchmarks/
understanding.py), "鼎盛物流王建国、嘉禾医疗刘芳" (company then person, 、-separated) works better
than "客户：王建国（鼎盛物流）": the brackets cost tokens and the label is read as speech.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.understanding.book import BookEntry

PREFIX = "以下是普通话的销售拜访记录，使用简体中文。"  # the engine's INITIAL_PROMPT
# One sentence in the memo genre, closing the prompt when it fits (always with an empty book). Whisper
# continues the style of the text before the audio (OpenAI's prompting guide), so a visit memo's
# shape (a company's 经理, needs and budget, the next visit) makes it write titles, trades and plans
# as words rather than as near-homophones. No digits and no full name: a prompt's digits and names
# are what Whisper copies into a memo it hears badly (measured: a phone of zeros came back as 零零零零).
GENRE = "今天拜访了客户公司的李经理，聊了需求和预算，约好周四下午再去演示。"
# faster-whisper keeps only the last 223 prompt tokens (half the 448-token context minus the
# sot_prev marker) and silently drops the *start*, which is the prefix and the likeliest names.
# Everything is therefore fitted here; 223 also leaves the engine's 220 tokens of output room.
PROMPT_TOKEN_BUDGET = 223

TokenCounter = Callable[[str], int]


def utf8_upper_bound(text: str) -> int:
    """Byte-level BPE never uses more tokens than UTF-8 bytes (+1 for the leading space): a safe
    count when the model's tokenizer is not at hand (tests, a prompt preview)."""
    return len((" " + text.strip()).encode("utf-8"))


@dataclass(frozen=True)
class BiasPrompt:
    text: str
    entries: tuple[BookEntry, ...]  # the customers that made it in, in prompt order
    products: tuple[str, ...]
    tokens: int
    genre: bool = False  # the genre sentence made it in


def _entry_text(entry: BookEntry) -> str:
    return f"{entry.company or ''}{entry.name}"


def _compose(entries: Sequence[BookEntry], products: Sequence[str], prefix: str, genre: str = "") -> str:
    parts = [prefix]
    if entries:
        parts.append("、".join(_entry_text(e) for e in entries) + "。")
    if products:
        parts.append("、".join(products) + "。")
    parts.append(genre)  # last: the text right before the audio steers the style most
    return "".join(parts)


def build_prompt(
    entries: Sequence[BookEntry],
    products: Sequence[str] = (),
    *,
    count_tokens: TokenCounter = utf8_upper_bound,
    budget: int = PROMPT_TOKEN_BUDGET,
    prefix: str = PREFIX,
    genre: str = GENRE,
) -> BiasPrompt:
    """Greedy in the given order (rank with book.rank_entries first): customers, then products, then
    the genre sentence; an item that does not fit is skipped and a shorter later one may still fit.
    Duplicates are dropped. Names come first: with a full book they are worth more than the style."""
    chosen: list[BookEntry] = []
    seen: set[str] = set()
    for entry in entries:
        key = _entry_text(entry)
        if not entry.name.strip() or key in seen:
            continue
        if count_tokens(_compose([*chosen, entry], (), prefix)) <= budget:
            chosen.append(entry)
            seen.add(key)
    chosen_products: list[str] = []
    for product in products:
        if product in chosen_products or not product.strip():
            continue
        if count_tokens(_compose(chosen, [*chosen_products, product], prefix)) <= budget:
            chosen_products.append(product)
    if genre and count_tokens(_compose(chosen, chosen_products, prefix, genre)) > budget:
        genre = ""
    text = _compose(chosen, chosen_products, prefix, genre)
    return BiasPrompt(text, tuple(chosen), tuple(chosen_products), count_tokens(text), bool(genre))
