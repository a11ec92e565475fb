"""The one polling loop of every leased queue's consumer (worker, transcription runner, outbox sender).

Each round beats the loop's heartbeat (/readyz), runs one iteration, and when it found nothing to do
sleeps until nudged or the poll interval passes. A failing iteration (the database went away) is
logged and retried next round: it must never end the loop. What an iteration claims, and how a failed
row is retried, lives with the queue (store/leases.py: claim_next and retry_delay).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from bot.ops.liveness import Heartbeat
from bot.pipeline.wakeup import wait_for_wakeup

log = structlog.get_logger("genjin.loop")


async def poll_until_cancelled(*, name: str, iterate: Callable[[], Awaitable[bool]], wakeup: asyncio.Event,
                               poll_seconds: float, heartbeat: Heartbeat) -> None:
    """Run `iterate` (True: it did work, go again at once) until the task is cancelled."""
    while True:
        heartbeat.beat()
        try:
            worked = await iterate()
        except Exception:  # a broken DB must not kill the loop; it is logged and retried
            log.exception("loop_iteration_failed", loop=name)
            worked = False
        if not worked:
            await wait_for_wakeup(wakeup, poll_seconds)
