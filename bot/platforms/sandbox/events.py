"""Wakes the sandbox page's event streams when something it shows may have changed.

The adapter calls `notify` when it stores a message or tap; the sandbox deliverer when it delivers a
reply. Each open stream waits here instead of the page polling every second.
"""

from __future__ import annotations

import asyncio


class Changes:
    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float) -> bool:
        """True when notified within `timeout` seconds, False when it passed quietly."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters.discard(waiter)
