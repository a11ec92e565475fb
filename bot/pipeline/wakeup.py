"""Sleep until nudged or a poll interval passes: the shared idle wait of the worker loops."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_for_wakeup(event: asyncio.Event, timeout: float) -> None:
    """Wait for `event` at most `timeout` seconds, then clear it.

    asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that arrives just as
    the event is set, and a loop built on it would then never stop at shutdown."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    event.clear()
