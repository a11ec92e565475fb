"""Refit the churn warning on your own outcomes: prints the `[churn]` block for genjin.toml.

    /work/main/.venv/bin/python benchmarks/churn_refit.py outcomes.jsonl --from 2026-01-01T08:30+08:00 \\
        --to 2026-09-01T08:30+08:00 [--goal 0.75]

The same method as benchmarks/churn_eval.py, on your customers instead of a synthetic history: every
customer is scored once a day from --from to --to (or to its loss) with the production signals
(scheduler/churn_score.py), a logistic model of "lost within 60 days" is fitted on those
customer-days (days less than 7 days before a loss left out), negative coefficients are dropped, and
the alert line is the best recall whose precision is at least --goal with 95% confidence (Wilson
lower bound), re-arm 10 or 20 below. The windows and graces are the configured defaults.

Input: one JSON object per customer per line, times ISO 8601 with an offset:

    {"contacts": [{"at": "2026-01-03T10:00:00+08:00", "tags": ["价格异议"]}, ...],
     "broken_promises": ["2026-02-10T18:00:00+08:00"],
     "renewals": ["2026-06-30T00:00:00+08:00"],
     "lost_at": "2026-07-15T00:00:00+08:00"}

- contacts: the confirmed follow-ups and their tags (only the tags in `churn.weights.tags` count);
- broken_promises: the due times of promises (either side) not kept by then;
- renewals: every renewal date (a customer who renewed has next year's too);
- lost_at: when the customer was lost (marked 已流失), or null while still a customer.

Customers lost before --from are left out. Fit on a period you will not judge the result on, and
check the line on a later one (held out) before you trust it: with few losses (under ~150) the
confidence rule picks a high line that alerts rarely. Nothing is written; paste the block yourself.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.churn_eval import (  # noqa: E402
    DEFAULT,
    FIRST_SCORED,
    Result,
    Scored,
    choose_line,
    design,
    evaluate,
    feature_keys,
    fit_logistic,
    fitted_weights,
    precision_floor,
    scores_of,
    toml_block,
)
from bot.config import ChurnWeights  # noqa: E402
from scheduler.churn_score import ChurnInputs, churn_signals  # noqa: E402

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Outcome:
    """One customer's recorded history and outcome."""

    contacts: list[tuple[datetime, tuple[str, ...]]]
    broken_promises: list[datetime]
    renewals: list[datetime]
    lost_at: datetime | None


@dataclass(frozen=True)
class Refit:
    intercept: float
    weights: ChurnWeights
    alert_at: float
    rearm_below: float
    training: Result  # the fitted line on the customers it was fitted on (optimistic)
    customer_days: int
    positive_share: float


def _when(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"time without an offset: {text}")
    return at


def parse_outcome(data: dict[str, Any]) -> Outcome:
    contacts = sorted(((_when(c["at"]), tuple(c.get("tags", []))) for c in data.get("contacts", [])),
                      key=lambda c: c[0])  # by time only: same-day contacts keep their given order
    lost = data.get("lost_at")
    return Outcome(contacts, sorted(_when(t) for t in data.get("broken_promises", [])),
                   sorted(_when(t) for t in data.get("renewals", [])), _when(lost) if lost else None)


def read_outcomes(lines: Iterable[str]) -> list[Outcome]:
    return [parse_outcome(json.loads(line)) for line in lines if line.strip()]


def inputs_at(o: Outcome, now: datetime, w: ChurnWeights) -> ChurnInputs:
    """What the daily scan would have seen at `now` (the benchmark's inputs_on, in real time)."""
    contacts = [at for at, _ in o.contacts if at <= now]
    tagged = [(at, tags) for at, tags in o.contacts if at <= now]
    broken = sum(1 for due in o.broken_promises if now - w.promise_window_days * DAY <= due < now)
    renewal = next((r for r in o.renewals if r >= now), None)
    return ChurnInputs(contacts, tagged, broken, renewal)


def score_outcomes(outcomes: Sequence[Outcome], start: datetime, end: datetime, w: ChurnWeights) -> list[Scored]:
    """Each customer's signals on every day from `start` while it was a customer. Day numbers are
    offset by the benchmark's FIRST_SCORED so its evaluation (which counts a loss only if the first
    scan came at least 7 days before it) applies unchanged."""
    out = []
    for o in outcomes:
        if o.lost_at is not None and o.lost_at <= start:
            continue
        last = end if o.lost_at is None else min(end, o.lost_at)
        n = math.ceil((last - start) / DAY)  # the days scanned before the loss (or up to `end`)
        lost = None if o.lost_at is None else FIRST_SCORED + math.ceil((o.lost_at - start) / DAY)
        days = list(range(FIRST_SCORED, FIRST_SCORED + n))
        signals = [churn_signals(inputs_at(o, start + (d - FIRST_SCORED) * DAY, w),
                                 now=start + (d - FIRST_SCORED) * DAY, weights=w) for d in days]
        out.append(Scored(lost, days, signals))
    return out


def refit(outcomes: Sequence[Outcome], start: datetime, end: datetime, goal: float = 0.75,
          base: ChurnWeights | None = None) -> Refit:
    base = base or DEFAULT.weights
    keys = feature_keys(base)
    histories = score_outcomes(outcomes, start, end, base)
    x, y = design(histories, keys)
    if not len(y) or y.min() == y.max():
        raise ValueError("need customer-days both within 60 days of a loss and not: record some losses")
    intercept, coef = fit_logistic(x, y)
    weights = fitted_weights(base, keys, coef)
    scores = scores_of(histories, weights)
    alert_at, rearm = choose_line(histories, scores, goal)
    return Refit(intercept, weights, alert_at, rearm, evaluate(histories, scores, alert_at, rearm), len(y),
                 float(y.mean()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outcomes", type=Path, help="JSON lines, one customer each (see the module docstring)")
    parser.add_argument("--from", dest="start", type=_when, required=True, help="first daily scan (ISO, offset)")
    parser.add_argument("--to", dest="end", type=_when, required=True, help="scans stop here (ISO, offset)")
    parser.add_argument("--goal", type=float, default=0.75)
    args = parser.parse_args()
    with args.outcomes.open(encoding="utf-8") as f:
        outcomes = read_outcomes(f)
    r = refit(outcomes, args.start, args.end, args.goal)
    t = r.training
    print(f"# {len(outcomes)} customers, {r.customer_days} customer-days ({r.positive_share:.1%} within 60 days of "
          f"a loss); on these same customers (optimistic): {t.alerts} alerts, precision {t.precision:.0%}, "
          f"{t.caught}/{t.churners} losses warned >= 7 days ahead", file=sys.stderr)
    if precision_floor(t.correct, t.alerts) < args.goal:
        print(f"# no line reaches precision {args.goal:.0%} with 95% confidence on these outcomes; this is the line "
              "with the highest floor", file=sys.stderr)
    if t.churners < 150:
        print(f"# only {t.churners} losses: the line rests on few alerts; check it on a later period",
              file=sys.stderr)
    print(toml_block(r.weights, r.alert_at, r.rearm_below), end="")


if __name__ == "__main__":
    main()
