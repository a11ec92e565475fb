"""Voice the adapter could not download before its ack is fetched later and processed; media past
the platform's lifetime is given up visibly; a failing fetch is retried next round."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.pipeline.media_retry import DeferredMediaFetcher
from store.db import session_scope
from store.inbox import insert_inbound
from store.models import InboundMessage, InboxStatus

AMR = (Path(__file__).parent / "data" / "voice" / "memo_short.amr").read_bytes()


def _deferred(engine, msg_id: str, ref: str, at) -> int:
    with session_scope(engine) as s:
        row_id = insert_inbound(session=s, platform="wecom", msg_id=msg_id, sender="wangfang", kind="voice",
                                media_ref=ref, status=InboxStatus.DEFERRED, at=at)
    assert row_id is not None
    return row_id


async def test_fetch_later_then_requeue(engine, tmp_path, clock):
    ok = _deferred(engine, "m1", "wecom:MEDIA_OK", clock.now)
    flaky = _deferred(engine, "m2", "wecom:MEDIA_FLAKY", clock.now)
    calls: list[str] = []
    nudged: list[bool] = []

    async def fetch(media_id: str) -> bytes:
        calls.append(media_id)
        if media_id == "MEDIA_FLAKY" and calls.count(media_id) == 1:
            raise ConnectionError("timeout")
        return AMR

    fetcher = DeferredMediaFetcher(engine, tmp_path, {"wecom:": fetch}, clock, on_requeued=lambda: nudged.append(True))
    assert await fetcher.run_once() == 1
    with Session(engine) as s:
        row = s.get(InboundMessage, ok)
        assert row.status == InboxStatus.PENDING and (tmp_path / row.media_ref).read_bytes() == AMR
        assert s.get(InboundMessage, flaky).status == InboxStatus.DEFERRED
    assert await fetcher.run_once() == 1  # the flaky one succeeds on the next round
    assert nudged == [True, True]


async def test_expired_media_fails_visibly(engine, tmp_path, clock):
    row_id = _deferred(engine, "m3", "wecom:OLD", clock.now)

    async def fetch(media_id: str) -> bytes:
        raise AssertionError("must not be fetched")

    with Session(engine) as s:
        received = s.get(InboundMessage, row_id).received_at
    clock.now = received + timedelta(days=3, minutes=1)
    fetcher = DeferredMediaFetcher(engine, tmp_path, {"wecom:": fetch}, clock, on_requeued=lambda: None)
    assert await fetcher.run_once() == 0
    with Session(engine) as s:
        row = s.exec(select(InboundMessage)).one()
        assert row.status == InboxStatus.FAILED and "expired" in row.error


async def test_an_image_not_fetched_before_the_ack_is_fetched_later(engine, tmp_path, clock):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    with session_scope(engine) as s:
        row_id = insert_inbound(session=s, platform="wecom", msg_id="i1", sender="wangfang", kind="image",
                                media_ref="wecom:IMG", status=InboxStatus.DEFERRED, at=clock.now)

    async def fetch(media_id: str) -> bytes:
        assert media_id == "IMG"
        return png

    fetcher = DeferredMediaFetcher(engine, tmp_path, {"wecom:": fetch}, clock, on_requeued=lambda: None)
    assert await fetcher.run_once() == 1
    with Session(engine) as s:
        row = s.get(InboundMessage, row_id)
        # Back in the queue with the stored file: the image handler now makes its OCR job.
        assert row.status == InboxStatus.PENDING and row.media_ref.endswith(".png")
        assert (tmp_path / row.media_ref).read_bytes() == png
