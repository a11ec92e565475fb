"""The churn-risk score of one customer, from signals genjin already records, explained in Chinese.

Pure: it takes plain inputs (follow-up times and tags, broken promises, the renewal date) so the
scheduled job (scheduler/churn.py) and the benchmark (benchmarks/churn_eval.py) score alike.

- silence beyond the customer's own cadence: the median gap between their follow-ups (before the
  latest few, so a slowing customer does not stretch their own yardstick); points per usual gap of
  silence past `silence_grace` gaps (a customer called monthly is not silent at day 20);
- slowing down: the latest gaps against that cadence (a decline shows before the final silence);
- negative tags and competitor mentions (流失风险, 技术问题, 价格异议, 竞品对比) in the recent window;
- promises not kept by their due time (the commitment ledger, either side);
- the renewal date approaching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from bot.config import ChurnWeights

DAY = timedelta(days=1)


@dataclass(frozen=True)
class ChurnInputs:
    contacts: Sequence[datetime]  # confirmed follow-ups, any order
    tagged: Sequence[tuple[datetime, Sequence[str]]] = ()  # (when, tags) of confirmed follow-ups
    broken_promises: int = 0  # due within the promise window and not kept by their due time
    renewal_at: datetime | None = None


@dataclass(frozen=True)
class ChurnRisk:
    score: float
    reasons: list[str] = field(default_factory=list)  # one line per signal, with its points


def _gaps(contacts: Sequence[datetime]) -> list[float]:
    ordered = sorted(contacts)
    return [(b - a) / DAY for a, b in zip(ordered, ordered[1:], strict=False)]


def cadence_days(contacts: Sequence[datetime], weights: ChurnWeights) -> float:
    """The customer's usual gap: the median of the gaps between follow-ups, leaving out the latest
    `recent_gaps` once there are enough to spare (at least two gaps; else the default)."""
    gaps = _gaps(contacts)
    if len(gaps) >= weights.recent_gaps + 2:
        gaps = gaps[: -weights.recent_gaps]
    usual = median(gaps) if len(gaps) >= 2 else weights.default_cadence_days
    return max(usual, weights.min_cadence_days)


def _capped(parts: list[tuple[float, str]], cap: float) -> list[tuple[float, str]]:
    """No single kind of signal (quiet: silence and slowdown; tags) may pass `family_cap` on its own,
    so an alert needs two kinds at once: a long holiday alone, or one bad week, is not a churn."""
    out: list[tuple[float, str]] = []
    totals: dict[str, float] = {}
    for points, text in parts:
        family = "quiet" if "联系" in text else "tags" if "「" in text else text
        room = max(0.0, cap - totals.get(family, 0.0))
        kept = min(points, room)
        totals[family] = totals.get(family, 0.0) + kept
        if kept > 0:
            out.append((kept, text))
    return out


def churn_risk(inputs: ChurnInputs, *, now: datetime, weights: ChurnWeights) -> ChurnRisk:
    parts: list[tuple[float, str]] = []
    past = [t for t in inputs.contacts if t <= now]
    if past:
        cadence = cadence_days(past, weights)
        silent = (now - max(past)) / DAY
        excess = silent / cadence - weights.silence_grace
        if excess > 0:
            points = min(weights.silence_cap, weights.silence * excess)
            parts.append((points, f"已 {silent:.0f} 天未联系（平时约每 {cadence:.0f} 天一次）"))
        gaps = _gaps(past)
        if len(gaps) >= weights.recent_gaps + 2 and weights.slowdown:
            slower = median(gaps[-weights.recent_gaps:]) / cadence
            if slower > weights.slowdown_grace:
                points = min(weights.silence_cap, weights.slowdown * (slower - 1))
                parts.append((points, f"最近 {weights.recent_gaps} 次联系间隔拉长到平时的 {slower:.1f} 倍"))
    since = now - weights.tag_window_days * DAY
    for tag, weight in weights.tags.items():
        n = sum(1 for when, tags in inputs.tagged if since <= when <= now and tag in tags)
        if n and weight:
            parts.append((weight * (1 + 0.5 * (min(n, 3) - 1)), f"近{weights.tag_window_days}天 {n} 次「{tag}」"))
    if inputs.broken_promises and weights.broken_promise:
        n = inputs.broken_promises
        parts.append((weights.broken_promise * min(n, 3), f"近{weights.promise_window_days}天 {n} 个承诺未按时兑现"))
    if inputs.renewal_at is not None and weights.renewal:
        days = (inputs.renewal_at - now) / DAY
        if 0 <= days <= weights.renewal_days:
            parts.append((weights.renewal * (1 - days / weights.renewal_days), f"距续约还有 {days:.0f} 天"))
    parts = _capped(parts, weights.family_cap)
    parts.sort(key=lambda p: -p[0])
    return ChurnRisk(round(sum(p for p, _ in parts), 1), [f"{text} +{points:.0f}" for points, text in parts])
