"""Catalog products and quantities named in a chat, memo or reply ("企业版两套", "买三年企业版",
"仓储模块", "五十个账号的标准版").

Pure: takes the catalog as `CatalogEntry` values and returns lines with quantities; the caller
computes totals and stores them (store/quotes.py). A product is found by its name with its edition,
an alias, or its edition alone when no other product has that edition; a longer term wins over a
shorter one at the same place. A term of six characters or more also matches a near spelling
(rapidfuzz, one character off: an ASR slip like 仓储模快). Quantities are read next to the product,
before ("两套企业版", "买三年…") or after ("企业版两套", "企业版买2套", "×3"), in Arabic or Chinese
numerals; a count and a number of years multiply ("企业版两套三年" is 6 套·年). None found: 1.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from .amount import chinese_number
from .numbers import DIGITS
from .textnorm import normalize_text

FUZZY_MIN_CHARS = 6
FUZZY_SCORE = 83  # one character off in six (83.3) still matches; two off never does
MAX_QUANTITY = 1000
MAX_YEARS = 10


@dataclass(frozen=True)
class CatalogEntry:
    product_id: int | None  # None: from genjin.toml, not (yet) in the database
    name: str
    edition: str
    unit_price_cny: int
    unit: str  # 年 | 套 | 人 | 次
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name} {self.edition}".strip()


@dataclass(frozen=True)
class ProductLine:
    entry: CatalogEntry
    quantity: int
    start: int
    end: int

    @property
    def total_cny(self) -> int:
        return self.entry.unit_price_cny * self.quantity


_CN_NUM = "一二两三四五六七八九十百千零〇"
_NUM = rf"(\d{{1,4}}|[{_CN_NUM}]{{1,5}})"
# Words that count licences or packages whatever the product's unit; the unit's own words after.
_COUNT_WORDS = "套|份|个|件|台"
_UNIT_WORDS = {"年": "年", "套": "套", "人": "人|个人|个用户|个账号|个席位|用户|账号|席位|位|名", "次": "次|场|期"}
_VERBS = "(?:的)?(?:再|先|一共|共|总共)?(?:买|要|采购|订|签|购买|续费|续|加|上)?(?:了)?"
_GAP = r"[^，。,.；;！？!?\n]{0,4}?"  # a few words inside the same clause


def _number(raw: str) -> int | None:
    if raw.isdigit():
        return int(raw)
    if len(raw) == 1 and raw in DIGITS:
        return int(DIGITS[raw])
    return chinese_number(raw)


def _terms(entry: CatalogEntry, catalog: Sequence[CatalogEntry]) -> list[str]:
    terms = {*entry.aliases, entry.name + entry.edition, entry.edition + entry.name,
             f"{entry.name}{entry.edition}".replace(" ", "")}
    if not entry.edition or sum(e.name == entry.name for e in catalog) == 1:
        terms.add(entry.name)
    if entry.edition and len(entry.edition) >= 2 and sum(e.edition == entry.edition for e in catalog) == 1:
        terms.add(entry.edition)
    return sorted({_key(t) for t in terms if _key(t)}, key=len, reverse=True)


def _key(text: str) -> str:
    return normalize_text(text).lower().replace(" ", "")


def _quantity(entry: CatalogEntry, after: str, before: str) -> int:
    """Count x years read in the clause around a product (1 when nothing is said). `after` and
    `before` stop at the neighbouring products, so one product's quantity is never another's."""
    unit_words = _UNIT_WORDS[entry.unit]
    kinds = {"count": _COUNT_WORDS if entry.unit == "年" else f"{_COUNT_WORDS}|{unit_words}"}
    if entry.unit == "年":
        kinds["years"] = "年"
    found: dict[str, int] = {}
    for kind, words in kinds.items():
        # 2027年 or 明年 are dates, not a number of years: a count is short and has no 月/号 after it.
        m = (re.search(rf"^{_VERBS}{_GAP}(?:[x×*]\s*)?{_NUM}\s*(?:{words})(?![月号日底初])", after)
             or re.search(rf"{_NUM}\s*(?:{words})(?:的)?{_GAP}$", before))
        if m is None and kind == "count":
            m = re.match(r"^\s*[x×*]\s*(\d{1,4})", after)  # 企业版 ×3
        if m is None:
            continue
        value = _number(m.group(1))
        if value is not None and 0 < value <= (MAX_YEARS if kind == "years" else MAX_QUANTITY):
            found[kind] = value
    quantity = 1
    for value in found.values():
        quantity *= value
    return quantity


def _fuzzy_span(term: str, text: str, taken: list[tuple[int, int]]) -> tuple[int, int] | None:
    if len(term) < FUZZY_MIN_CHARS or len(text) < len(term):
        return None
    found = fuzz.partial_ratio_alignment(term, text, score_cutoff=FUZZY_SCORE)
    if found is None or found.dest_end - found.dest_start < len(term) - 1:
        return None
    span = (found.dest_start, found.dest_end)
    return None if _overlaps(span, taken) else span


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in taken)


def find_product_lines(text: str, catalog: Sequence[CatalogEntry]) -> list[ProductLine]:
    """One line per catalog product named in `text`, in order of first mention, with its quantity
    (the first mention that states one)."""
    if not catalog or not text:
        return []
    norm = _key(text)
    hits: list[tuple[int, int, CatalogEntry]] = []
    taken: list[tuple[int, int]] = []
    candidates = sorted(((t, e) for e in catalog for t in _terms(e, catalog)), key=lambda te: -len(te[0]))
    for term, entry in candidates:
        pos = norm.find(term)
        found_any = False
        while pos >= 0:
            span = (pos, pos + len(term))
            if not _overlaps(span, taken):
                hits.append((*span, entry))
                taken.append(span)
                found_any = True
            pos = norm.find(term, pos + 1)
        if not found_any and (span2 := _fuzzy_span(term, norm, taken)) is not None:
            hits.append((*span2, entry))
            taken.append(span2)
    lines: dict[tuple[str, str], ProductLine] = {}
    ordered = sorted(hits, key=lambda h: h[0])
    for i, (start, end, entry) in enumerate(ordered):
        key = (entry.name, entry.edition)
        stop = ordered[i + 1][0] if i + 1 < len(ordered) else len(norm)
        begin = ordered[i - 1][1] if i > 0 else 0
        quantity = _quantity(entry, norm[end:min(stop, end + 12)], norm[max(begin, start - 12):start])
        current = lines.get(key)
        if current is None or (current.quantity == 1 and quantity > 1):
            lines[key] = ProductLine(entry, quantity, current.start if current else start,
                                     current.end if current else end)
    return sorted(lines.values(), key=lambda line: line.start)


def undecided_products(text: str, catalog: Sequence[CatalogEntry]) -> list[list[CatalogEntry]]:
    """Products named without the edition that tells them apart ("云仓两套" when 云仓 has 旗舰版 and
    基础版): one group of candidates per such name, for the rep to pick on the card."""
    norm = _key(text)
    found = {(line.entry.name) for line in find_product_lines(text, catalog)}
    groups: dict[str, list[CatalogEntry]] = {}
    for entry in catalog:
        groups.setdefault(entry.name, []).append(entry)
    return [entries for name, entries in groups.items()
            if len(entries) > 1 and name not in found and _key(name) and _key(name) in norm]


def line_for_choice(text: str, entry: CatalogEntry) -> ProductLine:
    """The line for a product the rep picked among editions, with the quantity the text gives the
    bare name ("云仓两套" and a pick of 旗舰版: 云仓 旗舰版 x2)."""
    chosen = _key(text).replace(_key(entry.name), _key(entry.name + entry.edition))
    lines = find_product_lines(chosen, [entry])
    return lines[0] if lines else ProductLine(entry, 1, 0, 0)
