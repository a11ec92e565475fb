"""One voice transcript -> corrected text, fields, and what the card should let the rep check.

Order matters: names first (they are what the rep's book knows best), then companies, with a lower
bar for the companies of customers the memo names; then extraction with the book as known
spellings. The platform's own recognition (DingTalk) goes through the same steps, and every field
the two readings disagree on becomes a choice on the card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from bot.extract import Extraction, TagRule, extract
from bot.extract.textnorm import to_simplified
from bot.extract.when import find_time_mentions
from bot.format import fmt_amount, fmt_when
from bot.understanding import embedder
from bot.understanding.book import BookEntry
from bot.understanding.heard import correct_heard_suffixes, correct_heard_titles, correct_spoken_dates
from bot.understanding.pinyin import TIME_TERMS, Corrected, Fix, correct_near_misses, terms_for
from bot.understanding.text import LEARNED_LAYER, make_stager, make_tagger

MAX_ALTERNATIVES = 3  # WeCom cards hold 6 buttons: tags (2) and 确认 take the rest
_PLATFORM_NAMES = {"dingtalk": "钉钉", "wecom": "企业微信"}
FIELD_LABELS = {"customer_name": "客户", "company": "公司", "phone": "电话", "amount_cny": "金额",
                "next_contact_at": "下次联系"}


@dataclass(frozen=True)
class MemoUnderstanding:
    text: str  # corrected transcript: what the record and the extraction use
    heard: str  # the transcript as recognised, kept on the record
    fixes: tuple[Fix, ...]
    extraction: Extraction
    times: tuple[tuple[str, str], ...]  # (words heard, date shown to the rep)
    alternatives: tuple[dict[str, str], ...]  # {"field", "value", "label"}

    def record(self) -> dict[str, Any]:
        """What FollowUp.understanding keeps, so the card shows the same after every tap."""
        return {
            "fixes": [[f.original, f.corrected] for f in self.fixes],
            "times": [list(t) for t in self.times],
            "alternatives": [dict(a) for a in self.alternatives],
        }


def correct_transcript(text: str, book: Sequence[BookEntry], products: Sequence[str] = ()) -> Corrected:
    # Dates first: a weekday heard as a customer's name ("周武上午") must be a date again before the
    # names pass, which never turns numerals into names.
    exact = correct_near_misses(text, TIME_TERMS)
    # Then a weekday, day part or contact verb heard one syllable off: needs no book, so a new rep's
    # memo gets its next contact too.
    dates = correct_spoken_dates(exact.text)
    # A title heard as a homophone ("赵磊赵经历") before the names: a title is what marks a name.
    titles = correct_heard_titles(dates.text)
    names = [e.name for e in book]
    first = correct_near_misses(titles.text, terms_for(names, [], products))
    companies = [e.company for e in book if e.company]
    in_memo = [e.company for e in book if e.company and e.name in first.text]
    second = correct_near_misses(first.text, terms_for([], companies, [], context_companies=in_memo))
    # Last, a trade word heard as a homophone in a company the book did not know ("康宁耀叶的").
    suffixes = correct_heard_suffixes(second.text)
    # Replacements keep lengths, so positions from every pass refer to the same original text.
    passes = (exact, dates, titles, first, second, suffixes)
    fixes = tuple(sorted((f for p in passes for f in p.fixes), key=lambda f: f.start))
    return Corrected(suffixes.text, text, fixes)


def _shown(field: str, value: Any, has_time: bool, tz: tzinfo) -> str:
    if field == "amount_cny":
        return fmt_amount(int(value))
    if field == "next_contact_at":
        return fmt_when(value, tz, has_time)
    if field == "phone":
        return str(value).removeprefix("+86")
    return str(value)


def _as_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _disagreements(ours: Extraction, theirs: Extraction, platform: str, tz: tzinfo) -> list[dict[str, str]]:
    name = _PLATFORM_NAMES.get(platform, "平台")
    pairs = [
        ("customer_name", ours.customer_name, theirs.customer_name),
        ("company", ours.company, theirs.company),
        ("amount_cny", ours.amount_cny, theirs.amount_cny),
        ("next_contact_at", ours.next_contact, theirs.next_contact),
        ("phone", ours.phone, theirs.phone),
    ]
    found = []
    for field, mine, other in pairs:
        if mine is not None and other is not None and mine != other:
            shown = _shown(field, other, theirs.next_contact_has_time, tz)
            found.append({"field": field, "value": _as_text(other),
                          "label": f"{FIELD_LABELS[field]}改用{name}识别：{shown}"})
    return found


def understand_memo(
    transcript: str,
    *,
    book: Sequence[BookEntry],
    ref_time: datetime,
    tz: tzinfo,
    tag_rules: Sequence[TagRule],
    products: Sequence[str] = (),
    rep_names: Sequence[str] = (),
    tag_weights: Mapping[tuple[str, str], float] | None = None,
    recognition: str | None = None,
    platform: str = "dingtalk",
    team_exemplars: Mapping[str, Sequence[str]] | None = None,
    semantic: bool = True,
    learned: bool = LEARNED_LAYER,
) -> MemoUnderstanding:
    """`ref_time` is when the memo was sent (relative dates resolve against it, not the transcription
    time); `semantic` uses the calibrated tag layer (text.make_tagger) with the team's learned exemplars."""
    known = [(e.name, e.company) for e in book]
    if team_exemplars and not embedder.available():
        team_exemplars = None
    tagger = make_tagger(tag_rules, team_exemplars, learned=learned) if semantic else None
    stager = make_stager(learned=learned) if semantic else None

    def run(text: str) -> tuple[Corrected, Extraction]:
        corrected = correct_transcript(to_simplified(text).strip(), book, products)
        ext = extract(corrected.text, ref_time=ref_time, tag_rules=tag_rules, rep_names=rep_names,
                      products=products, tag_weights=tag_weights, known=known, tagger=tagger,
                      stager=stager)
        return corrected, ext

    corrected, ext = run(transcript)
    mentions = find_time_mentions(corrected.text, ref_time=ref_time)
    times = tuple((m.text, fmt_when(m.when, tz, m.has_time)) for m in mentions)
    alternatives: list[dict[str, str]] = []
    # A name or company the correction changed can be put back to what was heard, in one tap.
    for fix in corrected.fixes:
        for field, value in (("customer_name", ext.customer_name), ("company", ext.company)):
            if value is not None and fix.corrected in value and fix.kind in ("name", "company"):
                original = value.replace(fix.corrected, fix.original)
                alternatives.append({"field": field, "value": original,
                                     "label": f"{FIELD_LABELS[field]}还原为原话：{original}"})
    if recognition and recognition.strip():
        _, theirs = run(recognition)
        alternatives += _disagreements(ext, theirs, platform, tz)
    unique = list({(a["field"], a["value"]): a for a in alternatives}.values())
    return MemoUnderstanding(corrected.text, transcript, corrected.fixes, ext, times, tuple(unique[:MAX_ALTERNATIVES]))
