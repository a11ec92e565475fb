"""The one clock: every business timestamp in genjin comes from a `Clock` injected at the composition
root (bot/app.py, the CLI). `system_clock` is the only place that reads the wall clock; tests inject
their own clock, so time-travel tests and production run the same code (ARCHITECTURE.md, invariant 7).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Aware UTC now. Only composition roots pass this in; nothing else calls it."""
    return datetime.now(UTC)
