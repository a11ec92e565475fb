"""Are the background loops alive and going round? The answer behind /readyz.

Each loop owns a Heartbeat and beats it every time round. Beats use time.monotonic: it only measures
"how long ago", is immune to clock steps, and is no business timestamp (those use the injected clock).
A loop is ready when it was started, its task is still running, and its last beat is no older than
`stale_factor` x its poll interval (never less than `min_stale_seconds`, so one slow database round or
the first message's model load does not flap readiness). A connection kept alive by its own protocol
pings (the DingTalk stream's websocket) is ready while connected, and for the same window after a drop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


class Heartbeat:
    def __init__(self, interval: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval  # the loop's poll interval: how often it is expected to beat
        self.monotonic = monotonic
        self.last: float | None = None

    def beat(self) -> None:
        self.last = self.monotonic()

    def age(self) -> float | None:
        return None if self.last is None else self.monotonic() - self.last


@dataclass
class _Loop:
    heartbeat: Heartbeat | None = None
    alive: Callable[[], bool] | None = None
    connected: Callable[[], bool] | None = None


class Readiness:
    def __init__(self, *, stale_factor: float, min_stale_seconds: float) -> None:
        self.stale_factor = stale_factor
        self.min_stale_seconds = min_stale_seconds
        self._loops: dict[str, _Loop] = {}

    def expect(self, name: str) -> None:
        """Declare a loop that must run; until `started` it is reported as not started."""
        self._loops.setdefault(name, _Loop())

    def started(self, name: str, heartbeat: Heartbeat, alive: Callable[[], bool],
                connected: Callable[[], bool] | None = None) -> None:
        self._loops[name] = _Loop(heartbeat=heartbeat, alive=alive, connected=connected)

    @property
    def names(self) -> list[str]:
        return list(self._loops)

    def stale_after(self, heartbeat: Heartbeat) -> float:
        return max(self.stale_factor * heartbeat.interval, self.min_stale_seconds)

    def problems(self) -> dict[str, str]:
        """Loop name -> why it is not ready; empty when every expected loop is."""
        found: dict[str, str] = {}
        for name, loop in self._loops.items():
            if loop.heartbeat is None or loop.alive is None:
                found[name] = "not started"
            elif not loop.alive():
                found[name] = "stopped"
            elif loop.connected is not None and loop.connected():
                continue
            else:
                age = loop.heartbeat.age()
                limit = self.stale_after(loop.heartbeat)
                if age is None:
                    found[name] = "not connected" if loop.connected is not None else "no heartbeat yet"
                elif age > limit:
                    what = "disconnected" if loop.connected is not None else "stale"
                    found[name] = f"{what}: last heartbeat {age:.1f}s ago (limit {limit:g}s)"
        return found

    def ages(self) -> dict[str, float | None]:
        """Seconds since each loop's last heartbeat (None: never), for /status."""
        ages: dict[str, float | None] = {}
        for name, loop in self._loops.items():
            age = loop.heartbeat.age() if loop.heartbeat is not None else None
            ages[name] = None if age is None else round(age, 3)
        return ages
