"""Early churn warning on a synthetic but realistic history: precision, recall and lead time.

    /work/main/.venv/bin/python benchmarks/churn_eval.py [--customers 250] [--tune-seed 1] [--seeds 2 3 4]

(The README's numbers: --customers 400, about 3 minutes on one core.)

It generates follow-up histories with a stated model, runs the production scorer
(scheduler/churn_score.py) day by day with the production hysteresis (alert at `alert_at`, re-arm
below `rearm_below`), tunes a small grid of weights on one seed and reports on held-out seeds.

The model (assumptions, stated so the numbers can be judged):
- 240 days are observed; scoring runs daily from day 45 (a history to learn the cadence from).
- Every customer has an own cadence: median gap lognormal around 10 days (sigma 0.5, clipped to
  3..45 days); each gap is that cadence times a Gamma(4)/4 draw (coefficient of variation 0.5).
- Healthy customers (75%) carry noise: per follow-up 价格异议 5%, 技术问题 5%, 竞品对比 3%, 流失风险 1%;
  30% take one long pause (2.5-4 usual gaps: holidays, budget freezes); 12% go through a rough patch
  of 20-40 days (tags x3, gaps x1.5) and recover. 30% of follow-ups hold a promise, kept 90% of the
  time. Half have a renewal date within the year; they renew.
- Churners (25%) are lost on a day L in 90..240 (half of those with a renewal date: on it). Their
  decline starts D days before L, D uniform in 28..70 (weeks): gaps stretch from 1x to 3x over the
  decline and tag rates ramp (square root: dissatisfaction shows early) to 流失风险 30%, 竞品对比 30%,
  技术问题 25%, 价格异议 25%; promises are kept only half the time. 10% of churners only slow down and go
  quiet (no tag change). 75% stop answering 14..45 days before L (no contact at all); the other 25%
  leave abruptly (their last contact is on the declining rhythm). After L there is no contact and
  the customer leaves the watch (marked 已流失).
- An alert is correct if the customer is lost within 60 days after it; recall counts churners whose
  first correct alert came at least 7 days before the loss; lead time is L minus that alert's day.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import ChurnSettings, ChurnWeights  # noqa: E402
from scheduler.churn_score import ChurnInputs, churn_risk  # noqa: E402

DEFAULT = ChurnSettings()  # the shipped weights and thresholds, reported next to the freshly tuned ones
START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 240
FIRST_SCORED = 45
HORIZON = 60  # an alert is right if the loss follows within this many days
MIN_LEAD = 7
BASE_TAGS = {"价格异议": 0.05, "技术问题": 0.05, "竞品对比": 0.03, "流失风险": 0.01}
DECLINE_TAGS = {"价格异议": 0.25, "技术问题": 0.25, "竞品对比": 0.30, "流失风险": 0.30}


@dataclass
class Customer:
    churn_day: int | None
    contacts: list[int] = field(default_factory=list)
    tags: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    promises: list[tuple[int, bool]] = field(default_factory=list)  # (due day, kept on time)
    renewal_day: int | None = None


def _tags(rng: random.Random, rates: dict[str, float]) -> tuple[str, ...]:
    return tuple(t for t, p in rates.items() if rng.random() < p)


def generate(seed: int, n: int) -> list[Customer]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        cadence = min(45.0, max(3.0, rng.lognormvariate(2.3, 0.5)))
        renewal = rng.randint(30, 300) if rng.random() < 0.5 else None
        churn = rng.random() < 0.25
        churn_day: int | None = None
        if churn:
            churn_day = renewal if renewal is not None and 90 <= renewal <= DAYS and rng.random() < 0.5 \
                else rng.randint(90, DAYS)
        decline = rng.randint(28, 70)
        silent_only = rng.random() < 0.10
        # Most churners stop answering some weeks before the loss is recorded; the rest leave abruptly.
        quiet = rng.uniform(14, 45) if churn and rng.random() < 0.75 else 0.0
        pause_at = rng.uniform(0, DAYS) if rng.random() < 0.30 else None
        rough = (rng.uniform(0, DAYS), rng.uniform(20, 40)) if not churn and rng.random() < 0.12 else None
        c = Customer(churn_day, renewal_day=renewal)
        day = rng.uniform(0, cadence)
        while day < (churn_day - quiet if churn_day is not None else DAYS):
            stretch, rates, keep = 1.0, BASE_TAGS, 0.9
            if churn_day is not None and day >= churn_day - decline:
                ramp = ((day - (churn_day - decline)) / decline) ** 0.5  # dissatisfaction shows early
                stretch = 1 + 2 * ramp
                keep = 0.5
                if not silent_only:
                    rates = {t: BASE_TAGS[t] + ramp * (DECLINE_TAGS[t] - BASE_TAGS[t]) for t in BASE_TAGS}
            if rough and rough[0] <= day <= rough[0] + rough[1]:
                stretch, rates = 1.5, {t: 3 * p for t, p in BASE_TAGS.items()}
            c.contacts.append(int(day))
            c.tags.append((int(day), _tags(rng, rates)))
            if rng.random() < 0.3:
                c.promises.append((int(day) + rng.randint(2, 10), rng.random() < keep))
            gap = cadence * rng.gammavariate(4, 0.25) * stretch
            if pause_at is not None and day <= pause_at < day + gap:
                gap *= rng.uniform(2.5, 4.0)
                pause_at = None
            day += max(0.5, gap)
        out.append(c)
    return out


def _at(day: float) -> datetime:
    return START + timedelta(days=day)


def inputs_on(c: Customer, day: int, w: ChurnWeights) -> ChurnInputs:
    contacts = [_at(d) for d in c.contacts if d <= day]
    tagged = [(_at(d), t) for d, t in c.tags if d <= day]
    broken = sum(1 for due, kept in c.promises if not kept and day - w.promise_window_days <= due < day)
    renewal = c.renewal_day
    while renewal is not None and renewal < day:  # a healthy customer renews for another year
        renewal += 365
    return ChurnInputs(contacts, tagged, broken, _at(renewal) if renewal is not None else None)


@dataclass
class Result:
    alerts: int
    correct: int
    churners: int
    caught: int
    leads: list[int]

    @property
    def precision(self) -> float:
        return self.correct / self.alerts if self.alerts else 0.0

    @property
    def recall(self) -> float:
        return self.caught / self.churners if self.churners else 0.0


def evaluate(customers: list[Customer], w: ChurnWeights, alert_at: float, rearm_below: float) -> Result:
    alerts = correct = churners = caught = 0
    leads: list[int] = []
    for c in customers:
        end = c.churn_day if c.churn_day is not None else DAYS
        if c.churn_day is not None and c.churn_day >= FIRST_SCORED + MIN_LEAD:
            churners += 1
        open_episode = False
        first_lead: int | None = None
        for day in range(FIRST_SCORED, end):
            score = churn_risk(inputs_on(c, day, w), now=_at(day), weights=w).score
            if not open_episode and score >= alert_at:
                open_episode = True
                alerts += 1
                if c.churn_day is not None and c.churn_day - day <= HORIZON:
                    correct += 1
                    if first_lead is None:
                        first_lead = c.churn_day - day
            elif open_episode and score < rearm_below:
                open_episode = False
        if first_lead is not None and first_lead >= MIN_LEAD:
            caught += 1
            leads.append(first_lead)
    return Result(alerts, correct, churners, caught, leads)


def grid(base: ChurnWeights) -> list[tuple[ChurnWeights, float, float]]:
    """A small grid around the defaults: silence and slowdown weights, tag weights scaled together,
    and the alert line (re-arm 25 below)."""
    out = []
    for silence, slowdown, scale, alert_at in itertools.product((18.0, 26.0), (15.0, 25.0), (0.8, 1.2),
                                                                (60.0, 70.0, 80.0)):
        tags = {t: round(v * scale, 1) for t, v in base.tags.items()}
        w = base.model_copy(update={"silence": silence, "slowdown": slowdown, "tags": tags})
        out.append((w, alert_at, alert_at - 25))
    return out


def report(name: str, r: Result) -> str:
    leads = sorted(r.leads)
    median_lead = statistics.median(leads) if leads else 0
    p25 = leads[len(leads) // 4] if leads else 0
    return (f"{name}: alerts {r.alerts}, precision {r.precision:.0%}, recall (>= {MIN_LEAD} d ahead) "
            f"{r.recall:.0%} ({r.caught}/{r.churners}), lead time median {median_lead:.0f} d, p25 {p25} d")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=250)
    parser.add_argument("--tune-seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="*", default=[2, 3, 4])
    args = parser.parse_args()
    base = DEFAULT.weights
    started = time.perf_counter()
    tune = generate(args.tune_seed, args.customers)
    best: tuple[float, ChurnWeights, float, float, Result] | None = None
    for w, alert_at, rearm in grid(base):
        r = evaluate(tune, w, alert_at, rearm)
        # The goal: > 75% precision; tuned with a margin (80%) so held-out seeds keep it.
        objective = r.recall if r.precision >= 0.80 else r.precision - 1
        if best is None or objective > best[0]:
            best = (objective, w, alert_at, rearm, r)
    assert best is not None
    _, w, alert_at, rearm, r = best
    print(f"tuned on seed {args.tune_seed} ({args.customers} customers, {DAYS} days): silence {w.silence}, "
          f"slowdown {w.slowdown}, tags {w.tags}, "
          f"alert_at {alert_at}, rearm_below {rearm}", flush=True)
    print(report(f"seed {args.tune_seed} (tuning)", r))
    print(report("defaults on the tuning seed", evaluate(tune, base, DEFAULT.alert_at, DEFAULT.rearm_below)))
    for seed in args.seeds:
        held = generate(seed, args.customers)
        print(report(f"seed {seed} (held out, tuned)", evaluate(held, w, alert_at, rearm)), flush=True)
        print(report(f"seed {seed} (held out, defaults)", evaluate(held, base, DEFAULT.alert_at, DEFAULT.rearm_below)))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
