"""Working time: the stale-lead clock only runs on working days, within working hours.

Chinese public holidays and make-up working days (调休) come from chinese-calendar; for a year it
does not cover yet, Monday–Friday is assumed (and logged once) rather than failing the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache

import chinese_calendar
import structlog

log = structlog.get_logger("genjin.worktime")


@lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_uncovered(day.year)
        return day.weekday() < 5


@lru_cache(maxsize=64)
def _warn_uncovered(year: int) -> None:
    log.warning("holiday_calendar_missing_year", year=year, fallback="Monday-Friday")


@dataclass(frozen=True)
class WorkingHours:
    """Daily working window in local time; the clock is stopped outside it."""

    tz: tzinfo
    start: time = time(9, 0)
    end: time = time(18, 0)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        return (datetime.combine(day, self.start, self.tz), datetime.combine(day, self.end, self.tz))

    def elapsed(self, since: datetime, until: datetime) -> timedelta:
        """Working time between two instants."""
        if until <= since:
            return timedelta(0)
        total = timedelta(0)
        day = since.astimezone(self.tz).date()
        last = until.astimezone(self.tz).date()
        while day <= last:
            if is_workday(day):
                lo, hi = self._window(day)
                a, b = max(lo, since), min(hi, until)
                if b > a:
                    total += b - a
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when `amount` of working time has passed after `start`."""
        remaining = amount
        day = start.astimezone(self.tz).date()
        for _ in range(3660):  # ten years of days: a bound so a bad config cannot spin forever
            if is_workday(day):
                lo, hi = self._window(day)
                a = max(lo, start)
                if hi > a:
                    if a + remaining <= hi:
                        return (a + remaining).astimezone(start.tzinfo)
                    remaining -= hi - a
            day += timedelta(days=1)
        raise ValueError("working time out of range")

    def before(self, end: datetime, amount: timedelta) -> datetime:
        """The instant `amount` of working time before `end` (the mirror of `add`)."""
        remaining = amount
        day = end.astimezone(self.tz).date()
        for _ in range(3660):
            if is_workday(day):
                lo, hi = self._window(day)
                b = min(hi, end)
                if b > lo:
                    if b - remaining >= lo:
                        return (b - remaining).astimezone(end.tzinfo)
                    remaining -= b - lo
            day -= timedelta(days=1)
        raise ValueError("working time out of range")

    def next_open(self, at: datetime) -> datetime:
        """`at` if inside working hours, else the start of the next working window."""
        return self.add(at, timedelta(0)) if self.elapsed(at, at + timedelta(seconds=1)) == timedelta(0) else at
