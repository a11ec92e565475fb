"""The outbox sender: platform rate limits delay or digest (never drop), retries back off, permanent
failures stay visible."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bot.outbox import OutboxSender, PermanentDeliveryError, RateLimit
from store.db import session_scope
from store.models import OutboxMessage, OutboxStatus
from store.outbox import enqueue_outbox
from tests.factories import T0


class FakeDeliverer:
    platform = "fake"

    def __init__(self, limit: RateLimit, fail_times: int = 0, permanent: bool = False) -> None:
        self.limit = limit
        self.delivered: list[dict] = []
        self.fail_times = fail_times
        self.permanent = permanent

    async def deliver(self, row: OutboxMessage) -> None:
        if self.permanent:
            raise PermanentDeliveryError("invalid userid")
        if self.fail_times > 0:
            self.fail_times -= 1
            raise ConnectionError("platform timeout")
        self.delivered.append(row.payload)


def queue(engine, n: int, kind: str = "text", recipient: str = "u1") -> None:
    with session_scope(engine) as s:
        for i in range(n):
            payload = {"text": f"提醒 {i}"} if kind == "text" else {"card": {"title": f"卡片 {i}"}}
            enqueue_outbox(session=s, platform="fake", recipient=recipient, kind=kind, payload=payload, at=T0)


def statuses(engine) -> dict[str, int]:
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage)).all()
    out: dict[str, int] = {}
    for r in rows:
        out[r.status] = out.get(r.status, 0) + 1
    return out


async def test_per_minute_limit_delays_then_sends_everything(engine, clock):
    fake = FakeDeliverer(RateLimit(per_minute=3))
    sender = OutboxSender(engine, {"fake": fake}, clock=clock)
    queue(engine, 4, kind="card")
    await sender.run_once()
    assert len(fake.delivered) == 3  # the 4th waits for the window
    await sender.run_once()
    assert len(fake.delivered) == 3
    clock.now += timedelta(seconds=62)
    await sender.run_once()
    assert [p["card"]["title"] for p in fake.delivered] == ["卡片 0", "卡片 1", "卡片 2", "卡片 3"]
    assert statuses(engine) == {"sent": 4}


async def test_limit_is_per_recipient(engine, clock):
    fake = FakeDeliverer(RateLimit(per_minute=1))
    sender = OutboxSender(engine, {"fake": fake}, clock=clock)
    queue(engine, 1, recipient="a")
    queue(engine, 1, recipient="b")
    await sender.run_once()
    assert len(fake.delivered) == 2


async def test_text_backlog_over_limit_becomes_one_digest(engine, clock):
    fake = FakeDeliverer(RateLimit(per_minute=2, per_hour=1000))
    sender = OutboxSender(engine, {"fake": fake}, clock=clock)
    queue(engine, 8)
    await sender.run_once()
    assert len(fake.delivered) == 2
    clock.now += timedelta(seconds=61)
    await sender.run_once()
    digest = fake.delivered[-1]["text"]
    assert digest.startswith("【消息汇总】") and all(f"提醒 {i}" in digest for i in range(2, 8))
    assert statuses(engine) == {"sent": 3, "merged": 6}  # nothing dropped: 6 merged into 1 digest


async def test_transient_errors_retry_with_backoff(engine, clock):
    fake = FakeDeliverer(RateLimit(), fail_times=2)
    sender = OutboxSender(engine, {"fake": fake}, clock=clock, max_attempts=5)
    queue(engine, 1)
    await sender.run_once()
    with Session(engine) as s:
        row = s.exec(select(OutboxMessage)).one()
        assert row.status == "pending" and row.attempts == 1 and "timeout" in row.last_error
        assert row.next_attempt_at >= clock.now + timedelta(seconds=5)
    await sender.run_once()
    assert fake.delivered == []  # not due yet
    for _ in range(3):
        clock.now += timedelta(minutes=1)
        await sender.run_once()
    assert len(fake.delivered) == 1 and statuses(engine) == {"sent": 1}


@pytest.mark.parametrize("permanent", [True, False])
async def test_failures_end_visible_as_failed(engine, clock, permanent):
    fake = FakeDeliverer(RateLimit(), fail_times=100, permanent=permanent)
    sender = OutboxSender(engine, {"fake": fake}, clock=clock, max_attempts=3)
    queue(engine, 1)
    for _ in range(5):
        await sender.run_once()
        clock.now += timedelta(minutes=15)
    with Session(engine) as s:
        row = s.exec(select(OutboxMessage).where(col(OutboxMessage.status) == OutboxStatus.FAILED)).one()
        assert row.last_error
