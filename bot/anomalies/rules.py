"""The four anomaly rules as pure functions: counts, times and amounts in, a yes/no (or the runs and
the contradiction found) out. Thresholds come from `[anomalies]` (bot/config.AnomalySettings).

Each boundary is exclusive: exactly `daily_entries_max` entries, exactly `stage_changes_max` changes
or exactly `amount_ratio` times the expected price is still normal; one more is an anomaly.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

# ---------------------------------------------------------------- 1. too many entries in a day

def too_many_entries(count: int, limit: int) -> bool:
    """More than `limit` entries by one rep in one day (a script, a bulk paste, a stuck client)."""
    return count > limit


def local_day(at: datetime, tz: tzinfo) -> tuple[date, datetime, datetime]:
    """The local calendar day of `at` and its bounds in UTC: the day a person means by 'a day'."""
    day = at.astimezone(tz).date()
    start = datetime.combine(day, time(0), tz)
    return day, start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


# ---------------------------------------------------------------- 2. bulk stage changes

def bulk_runs(times: Sequence[datetime], limit: int, window: timedelta) -> list[range]:
    """Runs of stage changes (indexes into `times`, sorted ascending) where more than `limit` changes
    fall within `window` of the run's first change. Greedy from the earliest change, so the same
    changes always give the same runs (the run's first change names the anomaly: filed once); a change
    inside a run never starts another."""
    runs: list[range] = []
    i = 0
    while i < len(times):
        j = i
        while j + 1 < len(times) and times[j + 1] - times[i] < window:
            j += 1
        if j - i + 1 > limit:
            runs.append(range(i, j + 1))
            i = j + 1
        else:
            i += 1
    return runs


# ---------------------------------------------------------------- 3. an amount far from the expected price

def amount_outlier(amount: int, expected: int, ratio: float) -> bool:
    """More than `ratio` times, or less than 1/`ratio` of, the expected price (e.g. the contract value
    typed where the yearly fee belongs, or a missing 万)."""
    if expected <= 0 or amount <= 0:
        return False
    return amount > expected * ratio or amount * ratio < expected


def median_price(amounts: Sequence[int], min_samples: int) -> int | None:
    """The team's typical amount for a product: the median (one wild amount does not move it), or
    None with too few amounts to say what is typical."""
    if len(amounts) < min_samples:
        return None
    return int(statistics.median(amounts))


# ---------------------------------------------------------------- 4. contradictory facts about one customer

@dataclass(frozen=True)
class Statement:
    """What one record (or the customer's own card, `followup_id` None) says about the customer."""

    followup_id: int | None
    at: datetime
    companies: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contradiction:
    field: str  # 公司 | 职位
    values: tuple[str, str]
    followup_ids: tuple[int, ...]


_LEGAL = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|股份公司|集团|公司)$")


def _company_key(name: str) -> str:
    return _LEGAL.sub("", re.sub(r"\s+", "", name)).lower()


def same_company(a: str, b: str) -> bool:
    """"万通物流" and "万通物流有限公司" are one company; "万通物流" and "华信科技" are two."""
    ka, kb = _company_key(a), _company_key(b)
    return bool(ka and kb) and (ka in kb or kb in ka)


def same_title(a: str, b: str) -> bool:
    ka, kb = a.strip().lower(), b.strip().lower()
    return ka in kb or kb in ka


def contradiction(statements: Sequence[Statement], window: timedelta,
                  involving: int | None = None) -> Contradiction | None:
    """Two statements within `window` of each other that give the customer two different companies
    or two different roles. Statements further apart are not compared: people change jobs.
    `involving`: only pairs with this record in them (the one being checked; the others' pairs were
    judged when they were checked)."""
    ordered = sorted(statements, key=lambda s: s.at)
    for field, values_of, same in (("公司", _companies, same_company), ("职位", _titles, same_title)):
        for i, first in enumerate(ordered):
            for second in ordered[i + 1:]:
                if abs(second.at - first.at) > window:
                    break
                if involving is not None and involving not in (first.followup_id, second.followup_id):
                    continue
                for a in values_of(first):
                    for b in values_of(second):
                        if not same(a, b):
                            ids = tuple(s.followup_id for s in (first, second) if s.followup_id is not None)
                            return Contradiction(field=field, values=(a, b), followup_ids=ids)
    return None


def _companies(s: Statement) -> tuple[str, ...]:
    return s.companies


def _titles(s: Statement) -> tuple[str, ...]:
    return s.titles
