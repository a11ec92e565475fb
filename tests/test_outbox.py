"""The outbox sender: platform rate limits delay or digest (never drop), retries back off, permanent
failures stay visible; with several senders on one database (instances), every row is claimed with
a lease, delivered once, and a delivered row is never recorded as failed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bot.pipeline.outbox import OutboxSender, PermanentDeliveryError, RateLimit
from store.db import session_scope
from store.models import OutboxMessage, OutboxStatus
from store.outbox import claim_next_outbox, enqueue_outbox, fail_outbox, mark_outbox_sent, release_outbox
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


# ---------------------------------------------------------------- N senders on one database


class SlowDeliverer(FakeDeliverer):
    """Takes a while on the platform, so two senders overlap for real."""

    def __init__(self, limit: RateLimit, seconds: float = 0.02) -> None:
        super().__init__(limit)
        self.seconds = seconds
        self.ids: list[int] = []

    async def deliver(self, row: OutboxMessage) -> None:
        await asyncio.sleep(self.seconds)
        self.ids.append(row.id or 0)
        self.delivered.append(row.payload)


async def test_two_senders_never_deliver_the_same_row(engine, clock):
    platform = SlowDeliverer(RateLimit())
    a = OutboxSender(engine, {"fake": platform}, clock=clock)
    b = OutboxSender(engine, {"fake": platform}, clock=clock)
    for i in range(20):
        queue(engine, 1, kind="card", recipient=f"u{i}")
    await asyncio.gather(a.run_once(), b.run_once(), a.run_once(), b.run_once())
    assert sorted(platform.ids) == sorted(set(platform.ids)) and len(platform.ids) == 20
    assert statuses(engine) == {"sent": 20}


async def test_two_senders_together_stay_under_the_per_recipient_limit(engine, clock):
    platform = SlowDeliverer(RateLimit(per_minute=3))
    a = OutboxSender(engine, {"fake": platform}, clock=clock)
    b = OutboxSender(engine, {"fake": platform}, clock=clock)
    queue(engine, 8, kind="card")
    per_minute = []
    for _ in range(8):
        before = len(platform.delivered)
        await asyncio.gather(a.run_once(), b.run_once())
        per_minute.append(len(platform.delivered) - before)
        clock.now += timedelta(seconds=61)
    # Each sender counts the rows the other holds as on their way: never over the limit together
    # (when both see each other's claim, both wait: a minute late, never dropped).
    assert max(per_minute) <= 3 and sum(per_minute) == 8
    assert statuses(engine) == {"sent": 8}


def claim(engine, clock, lease: timedelta = timedelta(seconds=60)) -> OutboxMessage:
    with Session(engine, expire_on_commit=False) as s:
        row = claim_next_outbox(session=s, lease=lease, now=clock())
    assert row is not None
    return row


async def test_a_dead_senders_row_is_taken_over_after_its_lease(engine, clock):
    queue(engine, 1)
    claim(engine, clock)  # a sender claimed it and was killed
    fake = FakeDeliverer(RateLimit())
    sender = OutboxSender(engine, {"fake": fake}, clock=clock, lease_seconds=60)
    assert await sender.run_once() == 0  # the lease still holds
    clock.now += timedelta(seconds=61)
    assert await sender.run_once() == 1
    with Session(engine) as s:
        row = s.exec(select(OutboxMessage)).one()
    assert (row.status, row.attempts) == ("sent", 2)


async def test_a_delivered_row_is_never_marked_failed(engine, clock):
    queue(engine, 1)
    slow = claim(engine, clock)  # sender A: delivered, but slower than its lease
    clock.now += timedelta(seconds=61)
    late = claim(engine, clock)  # sender B took it over and got a permanent refusal
    with session_scope(engine) as s:
        assert mark_outbox_sent(session=s, row=slow, at=clock()) is False  # A's claim is gone, the fact is not
    with session_scope(engine) as s:
        assert fail_outbox(session=s, row=late, error="40003 invalid userid") is False
        assert release_outbox(session=s, row=slow, until=clock()) is False
    assert statuses(engine) == {"sent": 1}


async def test_a_digest_leaves_rows_another_sender_holds(engine, clock):
    fake = FakeDeliverer(RateLimit(per_minute=1))
    sender = OutboxSender(engine, {"fake": fake}, clock=clock)
    queue(engine, 1)
    await sender.run_once()  # the minute's one message
    queue(engine, 7)
    held = claim(engine, clock)  # another instance is sending this one right now
    await sender.run_once()
    [digest] = [r for r in rows(engine) if r.payload.get("text", "").startswith("【消息汇总】")]
    assert held.payload["text"] not in digest.payload["text"]
    assert digest.payload["text"].count("•") == 6
    assert {r.id: r.status for r in rows(engine)}[held.id] == "processing"


def rows(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())
