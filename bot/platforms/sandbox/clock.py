"""The sandbox's own clock: the system clock plus an offset the sandbox page can move forward.

Only the sandbox composition (bot/app.py sandbox_clock, used by `genjin sandbox`) makes one; `genjin
serve` runs on the system clock and never mounts the control. Moving time forward lets a first look
show what genjin does over days — pre-visit cards, the stale-lead ladder, the weekly report —
without editing config. Time only moves forward: going back would replay pushes already sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock

MAX_STEP = timedelta(days=31)


class OffsetClock:
    def __init__(self, base: Clock) -> None:
        self.base = base
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self.base() + self.offset

    def advance(self, step: timedelta) -> datetime:
        if not timedelta(0) < step <= MAX_STEP:
            raise ValueError("step must be positive and at most 31 days")
        self.offset += step
        return self()
