"""The churn-risk score of one customer, from signals genjin already records, explained in Chinese.

Pure: it takes plain inputs (follow-up times and tags, broken promises, the renewal date) so the
scheduled job (scheduler/churn.py) and the benchmark (benchmarks/churn_eval.py) score alike.

The score is linear: each signal has a value (a count, a ratio) and a weight from `churn.weights`;
its points are weight x value, and the reasons list those points. The shipped weights are a
logistic model's coefficients (x10, the intercept folded into `alert_at`) fitted by the benchmark on
synthetic training seeds; any of them may be overridden in the config.

- silence beyond the customer's own cadence: the median gap between their follow-ups (before the
  latest few, so a slowing customer does not stretch their own yardstick), in usual gaps past
  `silence_grace` (a customer called monthly is not silent at day 20);
- slowing down: the latest gaps against that cadence (a decline shows before the final silence);
- negative tags and competitor mentions (流失风险, 技术问题, 价格异议, 竞品对比) in the recent window, per tag;
- their accumulation: how many of the latest contacts carried one, and how many came in the
  `tag_history_days` before the recent window (a customer unhappy for months, not one bad call);
- going quiet right after a negative contact (the last word was a complaint);
- promises not kept by their due time (the commitment ledger, either side);
- the renewal date approaching;
- silence together with one of the others (interactions): the same weeks of quiet mean more after
  complaints, with a broken promise, or with the renewal near than after ordinary calls — a healthy
  customer's holiday rarely follows a run of 流失风险 calls. Each is the silence beyond one usual gap
  (at most `interaction_silence_cap` gaps) times the other signal, explained as one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from bot.config import ChurnWeights

DAY = timedelta(days=1)
# Signals whose value is a fixed-shape feature; the benchmark fits one weight per key.
SCALAR_KEYS = ("silence", "slowdown", "tag_earlier", "negative_share", "quiet_after_negative", "broken", "renewal",
               "silence_negative", "silence_broken", "silence_renewal")


@dataclass(frozen=True)
class ChurnInputs:
    contacts: Sequence[datetime]  # confirmed follow-ups, any order
    tagged: Sequence[tuple[datetime, Sequence[str]]] = ()  # (when, tags) of confirmed follow-ups
    broken_promises: int = 0  # due within the promise window and not kept by their due time
    renewal_at: datetime | None = None


@dataclass(frozen=True)
class Signal:
    key: str  # "silence", "tag:流失风险", ...: which weight applies
    family: str  # quiet / tags / promises / renewal: `family_cap` bounds each family
    value: float  # before its weight
    text: str  # plain Chinese, without the points


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


def weight_of(key: str, weights: ChurnWeights) -> float:
    if key.startswith("tag:"):
        return weights.tags.get(key[4:], 0.0)
    return float(getattr(weights, "broken_promise" if key == "broken" else key))


def churn_signals(inputs: ChurnInputs, *, now: datetime, weights: ChurnWeights) -> list[Signal]:
    """Every signal present today, with its value; weights only shape them (windows, grace)."""
    out: list[Signal] = []
    past = sorted(t for t in inputs.contacts if t <= now)
    negative = set(weights.tags)
    tagged = sorted(((when, tags) for when, tags in inputs.tagged if when <= now), key=lambda p: p[0])
    cadence = cadence_days(past, weights) if past else weights.default_cadence_days
    silent = (now - past[-1]) / DAY if past else 0.0
    if past:
        excess = silent / cadence - weights.silence_grace
        if excess > 0:
            out.append(Signal("silence", "quiet", excess, f"已 {silent:.0f} 天未联系（平时约每 {cadence:.0f} 天一次）"))
        gaps = _gaps(past)
        if len(gaps) >= weights.recent_gaps + 2:
            slower = median(gaps[-weights.recent_gaps:]) / cadence
            if slower > weights.slowdown_grace:
                out.append(Signal("slowdown", "quiet", slower - 1,
                                  f"最近 {weights.recent_gaps} 次联系间隔拉长到平时的 {slower:.1f} 倍"))
    since = now - weights.tag_window_days * DAY
    for tag in weights.tags:
        n = sum(1 for when, tags in tagged if since <= when and tag in tags)
        if n:
            out.append(Signal(f"tag:{tag}", "tags", 1 + 0.5 * (min(n, 3) - 1),
                              f"近{weights.tag_window_days}天 {n} 次「{tag}」"))
    earlier = sum(1 for when, tags in tagged if now - weights.tag_history_days * DAY <= when < since
                  for t in tags if t in negative)
    if earlier:
        out.append(Signal("tag_earlier", "tags", min(earlier, 3),
                          f"此前{weights.tag_window_days}–{weights.tag_history_days}天还有 {earlier} 次负面标签"))
    latest = tagged[-weights.recent_contacts:]
    bad = sum(1 for _, tags in latest if negative.intersection(tags))
    if bad >= 2:
        out.append(Signal("negative_share", "tags", bad / weights.recent_contacts,
                          f"最近 {len(latest)} 次联系中 {bad} 次带负面标签"))
    if tagged and past and tagged[-1][0] == past[-1] and silent > cadence:
        last_bad = [t for t in tagged[-1][1] if t in negative]
        if last_bad:
            out.append(Signal("quiet_after_negative", "quiet", min(silent / cadence, 4.0),
                              f"最后一次联系带「{last_bad[0]}」，之后 {silent:.0f} 天无联系"))
    if inputs.broken_promises:
        n = inputs.broken_promises
        out.append(Signal("broken", "promises", min(n, 3), f"近{weights.promise_window_days}天 {n} 个承诺未按时兑现"))
    near = 0.0
    if inputs.renewal_at is not None:
        days = (inputs.renewal_at - now) / DAY
        if 0 <= days <= weights.renewal_days:
            near = 1 - days / weights.renewal_days
            out.append(Signal("renewal", "renewal", near, f"距续约还有 {days:.0f} 天"))
    if past:
        out += _silence_with_others(silent / cadence, past, tagged, inputs.broken_promises, near, weights)
    return out


def _silence_with_others(ratio: float, past: Sequence[datetime], tagged: Sequence[tuple[datetime, Sequence[str]]],
                         broken: int, near: float, weights: ChurnWeights) -> list[Signal]:
    """Silence beyond one usual gap times each other kind of signal: complaints in the latest three
    contacts (at most two counted), broken promises (at most two), the renewal's nearness (0..1)."""
    quiet = min(ratio, weights.interaction_silence_cap) - 1
    if quiet <= 0:
        return []
    out: list[Signal] = []
    negative = set(weights.tags)
    latest = set(past[-3:])
    bad = sum(1 for when, tags in tagged if when in latest and negative.intersection(tags))
    if bad:
        out.append(Signal("silence_negative", "quiet", quiet * min(bad, 2),
                          f"最近 {len(latest)} 次联系中 {bad} 次带负面标签后，已沉默平时的 {ratio:.1f} 倍"))
    if broken:
        out.append(Signal("silence_broken", "quiet", quiet * min(broken, 2),
                          f"有 {broken} 个承诺未兑现，且已沉默平时的 {ratio:.1f} 倍"))
    if near > 0:
        out.append(Signal("silence_renewal", "renewal", quiet * near, f"续约临近，且已沉默平时的 {ratio:.1f} 倍"))
    return out


def risk_of(signals: Sequence[Signal], weights: ChurnWeights) -> ChurnRisk:
    """Points = weight x value; silence and slowdown at most `silence_cap` each; no family past
    `family_cap` (set it low to demand two kinds of signal at once)."""
    parts: list[tuple[float, str]] = []
    totals: dict[str, float] = {}
    for s in signals:
        points = weight_of(s.key, weights) * s.value
        if s.key in ("silence", "slowdown"):
            points = min(weights.silence_cap, points)
        kept = min(points, max(0.0, weights.family_cap - totals.get(s.family, 0.0)))
        if kept > 0:
            totals[s.family] = totals.get(s.family, 0.0) + kept
            parts.append((kept, s.text))
    parts.sort(key=lambda p: -p[0])
    return ChurnRisk(round(sum(p for p, _ in parts), 1),
                     [f"{text} +{points:.0f}" for points, text in parts if round(points) > 0])


def churn_risk(inputs: ChurnInputs, *, now: datetime, weights: ChurnWeights) -> ChurnRisk:
    return risk_of(churn_signals(inputs, now=now, weights=weights), weights)
