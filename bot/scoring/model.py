"""The pure lead scorer: profile + behaviour -> a total, its reasons in plain Chinese, and when the
score next changes by time alone (the oldest counted behaviour leaving its window)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.scoring.weights import BehaviourRule, Weights


@dataclass(frozen=True)
class Profile:
    industry: str | None = None
    region: str | None = None
    company: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Behaviour:
    """One thing the customer did: a marketing event, or a chat reply (type chat_reply)."""

    type: str
    at: datetime
    url: str | None = None
    title: str | None = None
    duration_seconds: int | None = None


@dataclass(frozen=True)
class Reason:
    text: str
    points: int

    def line(self) -> str:
        return f"{self.text} {'+' if self.points >= 0 else '−'}{abs(self.points)}"

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "points": self.points}


@dataclass
class Score:
    total: int
    reasons: list[Reason] = field(default_factory=list)
    next_due: datetime | None = None  # the score changes by time alone then; None: it does not

    def lines(self) -> list[str]:
        return [r.line() for r in self.reasons]


def _profile_reasons(weights: Weights, p: Profile) -> list[Reason]:
    out: list[Reason] = []
    for value, table, label in ((p.industry, weights.profile.industry, "行业"),
                                (p.region, weights.profile.region, "区域"),
                                (p.channel, weights.profile.channel, "渠道")):
        if value and (points := table.get(value.strip())):
            out.append(Reason(f"{label}：{value.strip()}", points))
    if p.company:
        size = next((s for s in weights.profile.company_size if any(k in p.company for k in s.contains)), None)
        if size is not None and size.points:
            out.append(Reason(f"公司规模：{size.label}", size.points))
    return out


def _matches(rule: BehaviourRule, b: Behaviour) -> bool:
    if b.type not in rule.types:
        return False
    if not rule.match:
        return True
    haystack = f"{b.url or ''} {b.title or ''}".casefold()
    return any(m.casefold() in haystack for m in rule.match)


def _rule_reason(rule: BehaviourRule, hits: Sequence[Behaviour]) -> Reason | None:
    count = len(hits)
    minutes = sum(h.duration_seconds or 0 for h in hits) // 60
    if count < rule.min_count:
        return None
    raw = (rule.points if rule.per == "once" else rule.points * count if rule.per == "event"
           else rule.points * minutes)
    points = math.floor(raw + 0.5)
    if rule.max_points is not None:
        points = min(points, rule.max_points)
    if points == 0:
        return None
    return Reason(rule.text.format(days=rule.window_days, count=count, minutes=minutes), points)


def profile_score(*, weights: Weights, profile: Profile) -> int:
    """The profile part alone (a new lead at assignment, before any behaviour is known)."""
    return max(0, min(weights.max_score, sum(r.points for r in _profile_reasons(weights, profile))))


def score_lead(*, weights: Weights, profile: Profile, behaviour: Sequence[Behaviour], now: datetime) -> Score:
    reasons = _profile_reasons(weights, profile)
    next_due: datetime | None = None
    for rule in weights.behaviour:
        since = now - timedelta(days=rule.window_days)
        hits = [b for b in behaviour if since < b.at <= now and _matches(rule, b)]
        reason = _rule_reason(rule, hits)
        if reason is None:
            continue
        reasons.append(reason)
        lapse = min(h.at for h in hits) + timedelta(days=rule.window_days)
        next_due = lapse if next_due is None else min(next_due, lapse)
    total = max(0, min(weights.max_score, sum(r.points for r in reasons)))
    reasons.sort(key=lambda r: -r.points)
    return Score(total=total, reasons=reasons, next_due=next_due)
