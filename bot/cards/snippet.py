"""The history snippet: the few timeline events worth a rep's glance, after each entry and on the
pre-visit card. One ranking over timeline kinds, here and nowhere else.

Shown, best first: marketing behaviour (查看了官网页面「A产品」，停留2分17秒), the customer's own
words and promises from chat records, stage changes, lead arrivals; then visits and the rest.
Dropped as noise: refused stage moves, merges, renames, assignments, confirmations, stale alerts.
Chat records are re-read: the customer's words or a promise instead of a raw chat header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.extract.chat import split_chat
from bot.format import mask_contacts
from store.models import FollowUp, TimelineEvent


class HistoryLine(Protocol):
    """What a card shows of one event (a TimelineEvent or a SnippetLine)."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def summary(self) -> str: ...


@dataclass(frozen=True)
class SnippetLine:
    created_at: datetime
    summary: str
    kind: str


@dataclass(frozen=True)
class Candidate:
    """A timeline row with what it points at: its follow-up record and that record's rep."""

    event: TimelineEvent
    followup: FollowUp | None = None
    rep_name: str | None = None


NOISE = frozenset({
    "stage_refused", "merged", "merge_undone", "renamed", "snoozed", "stale_alert", "high_risk", "customer_created",
    "followup_confirmed", "lead_auto", "lead_pool", "lead_claim", "lead_release", "lead_reassign", "lead_import",
    "lead_accepted", "visit_handed_over",
})
MARKETING_FRESH = timedelta(days=14)  # older marketing behaviour is history, not a signal
# A promise by our side or the customer's: 我们周五前把报价发您 / 我下周给您回复.
PROMISE = re.compile(r"(我|我们)[^。！？\n]{0,12}(争取|答复|回复|发您|发给您|给您|安排|准备|确认)[^。！？\n]{0,20}")
_CUT = 40


def rank(kind: str, *, fresh: bool = True, spoken: bool = False) -> int:
    """How much a kind matters in the snippet; 0: never shown."""
    if kind in NOISE:
        return 0
    if kind.startswith("mkt_"):
        return 3 if fresh else 1
    if kind.startswith("followup_"):
        return 3 if spoken else 2
    if kind in ("stage_changed", "lead_in", "lead_touch"):
        return 2
    return 1


def _cut(text: str) -> str:
    flat = " ".join(mask_contacts(text).split())
    return flat[:_CUT] + ("…" if len(flat) > _CUT else "")


def _same_person(speaker: str, rep_name: str | None) -> bool:
    return bool(rep_name) and (speaker == rep_name or speaker in (rep_name or "") or (rep_name or "") in speaker)


def followup_line(followup: FollowUp, rep_name: str | None) -> tuple[str, bool]:
    """A chat record as the snippet says it: a promise, else the customer's own words, else the
    record's text without chat headers. (line, spoken): spoken when it quotes a promise or the customer."""
    text = f"{followup.text}\n{followup.transcript or ''}" if followup.kind == "voice" else followup.text
    tags = f"［{'、'.join(followup.tags)}］" if followup.tags else ""
    promise = PROMISE.search(text)
    if promise:
        return f"{tags}承诺：{_cut(promise.group(0))}", True
    lines = split_chat(followup.text) if followup.kind == "chat" else []
    theirs = [ln.text for ln in lines if ln.speaker and not _same_person(ln.speaker, rep_name) and ln.text.strip()]
    if theirs:
        return f"{tags}客户说：「{_cut(' '.join(theirs))}」", True
    body = " ".join(ln.text for ln in lines if ln.text.strip()) if lines else text
    return f"{tags}{_cut(body)}", False


def candidates_of(rows: Sequence[tuple[TimelineEvent, FollowUp | None, str | None]]) -> list[Candidate]:
    return [Candidate(e, f, name) for e, f, name in rows]


def history_snippet(candidates: Sequence[Candidate], *, now: datetime, limit: int = 3,
                    exclude_followup_id: int | None = None) -> list[SnippetLine]:
    """The `limit` events that matter most (then the newest), shown newest first. `candidates`:
    newest first, as store.timeline.snippet_candidates gives them."""
    scored: list[tuple[int, int, SnippetLine]] = []
    seen: set[tuple[str, str]] = set()
    for order, c in enumerate(candidates):
        e = c.event
        ref_id = (e.ref or {}).get("followup_id")
        if exclude_followup_id is not None and ref_id == exclude_followup_id:
            continue
        summary, spoken = e.summary, False
        if c.followup is not None and e.kind.startswith("followup_"):
            summary, spoken = followup_line(c.followup, c.rep_name)
        weight = rank(e.kind, fresh=now - e.created_at <= MARKETING_FRESH, spoken=spoken)
        if weight == 0 or (e.kind, summary) in seen:
            continue
        seen.add((e.kind, summary))
        scored.append((weight, order, SnippetLine(e.created_at, summary, e.kind)))
    best = sorted(scored, key=lambda s: (-s[0], s[1]))[:limit]
    return [line for _, _, line in sorted(best, key=lambda s: s[1])]
