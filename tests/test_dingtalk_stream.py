"""The real dingtalk_stream SDK classes against a local fake gateway: frames in, rows stored, acks out.

Every test asserts on what DingTalk would observe (acks, redeliveries, sockets) and on the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import system_clock
from bot.config import DingTalkSettings, Settings
from bot.models import Inbound
from bot.pipeline.inbox_writer import InboxWriter
from bot.pipeline.member_directory import MemberDirectory
from bot.platforms.dingtalk.stream import (
    TOPIC_BOT,
    TOPIC_CARD,
    Intake,
    StreamClient,
    api_from_settings,
    build_stream_client,
)
from store.db import make_engine, session_scope
from store.models import InboundMessage, Member
from tests.factories import make_org
from tests.fakes.dingtalk import FakeDingTalk, callback_frame, system_frame

AMR = b"#!AMR\n" + bytes(range(256)) * 4


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    server = await FakeDingTalk().start()
    yield server
    await server.close()


@pytest.fixture
def ding_settings(tmp_path, sqlite_url: str, fake: FakeDingTalk) -> Settings:
    return Settings(database_url=sqlite_url, data_dir=tmp_path / "var", worker_poll_seconds=0.05,
                    dingtalk=DingTalkSettings(client_id=fake.client_id, client_secret=fake.client_secret,
                                              robot_code=fake.client_id, api_base=fake.base_url))


@pytest.fixture
def db(sqlite_url: str) -> Engine:
    engine = make_engine(sqlite_url)
    org = make_org(engine)
    with session_scope(engine) as s:  # the sender of these tests is a member: their media is fetched
        rep = s.get(Member, org.rep_a.id)
        assert rep is not None
        rep.dingtalk_userid = "wangfang01"
    return engine


def rows(engine: Engine) -> list[InboundMessage]:
    with Session(engine) as s:
        return list(s.exec(select(InboundMessage).order_by(col(InboundMessage.id))).all())


def row_exists(engine: Engine, msg_id: str) -> bool:
    with Session(engine) as s:
        return s.exec(select(InboundMessage).where(col(InboundMessage.msg_id) == msg_id)).first() is not None


@contextlib.asynccontextmanager
async def running(settings: Settings, engine: Engine, *, writer: InboxWriter | None = None,
                  **options: float) -> AsyncIterator[StreamClient]:
    assert settings.dingtalk is not None
    api = api_from_settings(settings.dingtalk)
    intake = Intake(writer=writer or InboxWriter(engine, system_clock), members=MemberDirectory(engine),
                    on_inbound=lambda: None, api=api,
                    media_dir=settings.media_dir, max_bytes=settings.max_audio_bytes, tz=settings.tz)
    client = build_stream_client(api, intake, **{"backoff_base": 0.02, "backoff_max": 0.3, **options})
    task = asyncio.create_task(client.start())
    try:
        yield client
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.close()


async def send(fake: FakeDingTalk, data: dict[str, Any], topic: str = TOPIC_BOT,
               message_id: str | None = None) -> tuple[str, dict[str, Any]]:
    frame = callback_frame(topic, data, message_id)
    return await fake.push(frame), frame


async def test_subscribes_and_stores_text_before_acking(fake, ding_settings, db):
    stored_at_ack: list[bool] = []
    fake.on_ack = lambda _mid: stored_at_ack.append(row_exists(db, "msgA1"))
    async with running(ding_settings, db):
        await fake.wait_for(lambda: fake.live == 1)
        opened = fake.calls_to("/v1.0/gateway/connections/open")[0].body
        assert {s["topic"] for s in opened["subscriptions"]} == {TOPIC_BOT, TOPIC_CARD}
        mid, _ = await send(fake, fake.robot_message("text", sender="wangfang01", msg_id="msgA1",
                                                     text={"content": "  帮助  "}))
        await fake.wait_for(lambda: mid in fake.acked)
    [row] = rows(db)
    assert (row.platform, row.msg_id, row.sender, row.kind, row.text, row.chat) == (
        "dingtalk", "msgA1", "wangfang01", "text", "帮助", None)
    assert json.loads(row.raw)["sessionWebhook"].startswith(fake.base_url)
    ack = next(a for a in fake.acks if a["headers"]["messageId"] == mid)
    assert ack["code"] == 200
    assert stored_at_ack == [True]  # when DingTalk saw the ack, the row was already committed


async def test_audio_is_downloaded_at_once_and_recognition_kept(fake, ding_settings, db):
    fake.files["dl-voice-1"] = AMR
    content = {"duration": 4000, "downloadCode": "dl-voice-1", "recognition": "今天拜访了华康医疗蔡经理，下周二报价"}
    async with running(ding_settings, db):
        mid, frame = await send(fake, fake.robot_message("audio", sender="wangfang01", msg_id="msgV1",
                                                         content=content))
        await fake.wait_for(lambda: mid in fake.acked)
        await fake.redeliver(mid, frame)  # the ack got lost: same frame again
        await fake.wait_for(lambda: fake.acked.count(mid) == 2)
    [row] = rows(db)
    assert row.kind == "voice" and row.text == content["recognition"]
    assert json.loads(row.raw)["content"]["recognition"] == content["recognition"]
    assert row.media_ref and row.media_ref.endswith(".amr")
    assert (ding_settings.media_dir / row.media_ref).read_bytes() == AMR
    assert len(fake.calls_to("/v1.0/robot/messageFiles/download")) == 1  # no second download on redelivery


async def test_audio_download_failure_keeps_the_code(fake, ding_settings, db):
    content = {"duration": 2000, "downloadCode": "gone", "recognition": "你好"}
    async with running(ding_settings, db):
        mid, _ = await send(fake, fake.robot_message("audio", sender="wangfang01", content=content))
        await fake.wait_for(lambda: mid in fake.acked)
    [row] = rows(db)
    assert row.media_ref == "dingtalk:gone" and row.text == "你好"


async def test_card_click_becomes_card_action(fake, ding_settings, db):
    from bot.platforms.dingtalk.render import action_id

    async with running(ding_settings, db):
        click = fake.card_click(user="wangfang01", card_biz_id="genjin-7", action_ids=[action_id("tag:12:价格异议")])
        mid, _ = await send(fake, click, topic=TOPIC_CARD)
        await fake.wait_for(lambda: mid in fake.acked)
        # The same tag clicked again (toggle off) is a new frame and a new row.
        mid2, _ = await send(fake, click, topic=TOPIC_CARD)
        await fake.wait_for(lambda: mid2 in fake.acked)
    first, second = rows(db)
    assert (first.kind, first.text, first.sender) == ("card_action", "tag:12:价格异议", "wangfang01")
    assert second.text == first.text and second.msg_id != first.msg_id
    assert json.loads(first.raw)["outTrackId"] == "genjin-7"


async def test_redelivered_frame_gives_one_record(fake, ding_settings, db):
    async with running(ding_settings, db):
        data = fake.robot_message("text", sender="wangfang01", msg_id="msgDup", text={"content": "你好"})
        mid, frame = await send(fake, data)
        await fake.wait_for(lambda: mid in fake.acked)
        await fake.redeliver(mid, frame)
        # DingTalk may also redeliver under a new frame id; msgId is the key.
        mid2, _ = await send(fake, data)
        await fake.wait_for(lambda: fake.acked.count(mid) == 2 and mid2 in fake.acked)
    assert [r.msg_id for r in rows(db)] == ["msgDup"]


async def test_socket_dropped_mid_stream_loses_no_acknowledged_message(fake, ding_settings, db):
    frame_to_msg: dict[str, str] = {}
    acked_then_present: list[bool] = []
    fake.on_ack = lambda mid: acked_then_present.append(row_exists(db, frame_to_msg[mid]))
    fake.drop_after_acks = 4
    async with running(ding_settings, db) as client:
        await fake.wait_for(lambda: fake.live == 1)
        for i in range(12):
            mid, _ = await send(fake, fake.robot_message("text", sender="wangfang01", msg_id=f"burst{i}",
                                                         text={"content": f"第{i}条"}))
            frame_to_msg[mid] = f"burst{i}"
        await fake.wait_for(lambda: not fake.pending, timeout=10)
        # it reconnected after the abort (the counter moves once the new socket is up: wait for it)
        await fake.wait_for(lambda: client.connections >= 2, timeout=10)
        assert client.connections >= 2
    assert sorted(r.msg_id for r in rows(db)) == sorted(frame_to_msg.values())
    assert acked_then_present and all(acked_then_present)
    assert len(set(fake.acked)) == 12


class FailingOnceWriter(InboxWriter):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, system_clock)
        self.failures = 1

    async def insert(self, inbound: Inbound) -> int | None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database is locked")
        return await super().insert(inbound)


async def test_not_stored_means_not_acked_then_redelivered(fake, ding_settings, db):
    writer = FailingOnceWriter(db)
    async with running(ding_settings, db, writer=writer):
        mid, _ = await send(fake, fake.robot_message("text", sender="wangfang01", text={"content": "报价"}))
        await fake.wait_for(lambda: any(n for n, m in fake.deliveries if m == mid))
        # The insert has raised: the frame's handler is past the point where it would have acked.
        await fake.wait_for(lambda: writer.failures == 0)
        # A barrier instead of a sleep: acks on one socket arrive in order, so once a later ping's pong
        # is in, an ack for the frame would be too.
        ping = system_frame("ping", {"opaque": "barrier"})
        await fake.push(ping)
        await fake.wait_for(lambda: any(a["headers"]["messageId"] == ping["headers"]["messageId"] for a in fake.acks))
        assert mid not in fake.acked and rows(db) == []
        await fake.close_connections()  # the gateway gives up on this socket and redelivers on the next
        await fake.wait_for(lambda: mid in fake.acked)
    assert len(rows(db)) == 1


async def test_ping_is_answered_and_disconnect_reconnects(fake, ding_settings, db):
    async with running(ding_settings, db) as client:
        await fake.wait_for(lambda: fake.live == 1)
        ping = system_frame("ping", {"opaque": "abc-123"})
        await fake.push(ping)
        await fake.wait_for(lambda: any(a["headers"]["messageId"] == ping["headers"]["messageId"] for a in fake.acks))
        pong = next(a for a in fake.acks if a["headers"]["messageId"] == ping["headers"]["messageId"])
        assert pong["code"] == 200 and json.loads(pong["data"]) == {"opaque": "abc-123"}
        await fake.push(system_frame("disconnect", {"reason": "server restart"}))
        await fake.wait_for(lambda: client.connections == 2 and fake.live == 1)
        assert fake.connections == 2


async def test_gateway_failures_back_off_instead_of_spinning(fake, ding_settings, db):
    fake.open_failures = 4
    async with running(ding_settings, db, backoff_base=0.02) as client:
        await fake.wait_for(lambda: fake.live == 1, timeout=5)
        delays = list(client.reconnect_delays)
    assert len(delays) == 4 and fake.opens == 5
    assert all(b > a for a, b in zip(delays, delays[1:], strict=False)), delays
    assert delays[0] >= 0.016


async def test_sockets_closing_at_once_back_off_too(fake, ding_settings, db):
    # 0.24.3's own loop reconnects immediately when a socket closes normally; ours waits longer each time.
    fake.close_on_connect = 3
    async with running(ding_settings, db, backoff_base=0.02) as client:
        await fake.wait_for(lambda: fake.live == 1, timeout=5)
        delays = list(client.reconnect_delays)
    assert len(delays) == 3 and all(d > 0 for d in delays)
    assert all(b > a for a, b in zip(delays, delays[1:], strict=False)), delays


class SlowWriter(InboxWriter):
    """An insert that takes a while, to cancel the client while a frame is being stored."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, system_clock)
        self.started = asyncio.Event()

    async def insert(self, inbound: Inbound) -> int | None:
        self.started.set()
        await asyncio.sleep(0.3)
        return await super().insert(inbound)


async def test_cancel_shuts_down_cleanly(fake, ding_settings, db):
    assert ding_settings.dingtalk is not None
    api = api_from_settings(ding_settings.dingtalk)
    writer = SlowWriter(db)
    intake = Intake(writer=writer, members=MemberDirectory(db), on_inbound=lambda: None, api=api,
                    media_dir=ding_settings.media_dir,
                    max_bytes=1024, tz=ding_settings.tz)
    client = build_stream_client(api, intake)
    task = asyncio.create_task(client.start())
    try:
        await fake.wait_for(lambda: fake.live == 1)
        mid, _ = await send(fake, fake.robot_message("text", sender="wangfang01", msg_id="last",
                                                     text={"content": "再见"}))
        await asyncio.wait_for(writer.started.wait(), timeout=3)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=3)
        assert task in done and task.cancelled()  # 0.24.3's start() would swallow the cancel and go on
        await fake.wait_for(lambda: fake.live == 0)
        assert row_exists(db, "last")  # the frame being stored was finished, not torn
        assert mid in fake.pending  # and, its socket gone, not acked: DingTalk redelivers, the key dedupes
        assert not client._inflight
    finally:
        task.cancel()
        await api.close()
