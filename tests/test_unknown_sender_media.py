"""A sender who is not an active member: their voice (and files) are neither downloaded from the
platform nor written to disk. The message row alone is stored and gets the usual "not a member"
answer from the worker. Members' media is still fetched at once (the contrast in each test)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import FormData
from sqlmodel import Session, col, select

from bot.app import build_runtime
from bot.config import DingTalkSettings, Settings
from bot.pipeline.inbox_writer import InboxWriter
from bot.pipeline.member_directory import MemberDirectory
from bot.pipeline.worker import NOT_A_MEMBER
from bot.platforms.dingtalk.stream import Intake, api_from_settings, build_stream_client
from store.db import session_scope
from store.models import InboundMessage, InboxStatus, Member, OutboxMessage
from tests.edge_support import edge_app
from tests.factories import make_org
from tests.fakes.dingtalk import FakeDingTalk, callback_frame
from tests.fakes.wecom import wecom_stack

AMR = b"#!AMR\n" + bytes(range(256)) * 4
WECOM_MEDIA = "/cgi-bin/media/get"
DINGTALK_DOWNLOAD = "/v1.0/robot/messageFiles/download"


def media_files(media_dir: Path) -> list[Path]:
    return [p for p in media_dir.rglob("*") if p.is_file()] if media_dir.exists() else []


def inbox(engine) -> list[InboundMessage]:
    with Session(engine) as s:
        return list(s.exec(select(InboundMessage).order_by(col(InboundMessage.id))).all())


def deactivate(engine, member_id: int | None) -> None:
    with session_scope(engine) as s:
        member = s.get(Member, member_id)
        assert member is not None
        member.active = False


# ---------------------------------------------------------------- WeCom

@pytest.mark.parametrize("who", ["stranger", "deactivated"])
async def test_wecom_voice_of_a_non_member_is_not_downloaded(sqlite_url, tmp_path, who):
    async with wecom_stack(sqlite_url, tmp_path / "var") as st:
        org = make_org(st.runtime.engine)  # wecom user "wangfang" is rep_a
        sender = "stranger01"
        if who == "deactivated":
            deactivate(st.runtime.engine, org.rep_a.id)
            sender = "wangfang"
        media_id = st.fake.add_media(AMR)
        assert (await st.driver.push(st.driver.voice_xml(sender, media_id, msg_id="7001"))).final == 200
        assert st.fake.calls_to(WECOM_MEDIA) == []
        assert media_files(st.runtime.settings.media_dir) == []
        [row] = inbox(st.runtime.engine)
        assert (row.sender, row.kind, row.media_ref) == (sender, "voice", f"wecom:{media_id}")  # an id, no file
        await st.work()
        [row] = inbox(st.runtime.engine)
        assert row.status == InboxStatus.DONE and row.error == "unknown sender"
        assert [m["text"]["content"] for m in st.fake.sent_to(sender)] == [NOT_A_MEMBER]
        assert st.fake.calls_to(WECOM_MEDIA) == [] and media_files(st.runtime.settings.media_dir) == []


async def test_wecom_voice_of_a_member_is_still_downloaded(sqlite_url, tmp_path):
    async with wecom_stack(sqlite_url, tmp_path / "var") as st:
        make_org(st.runtime.engine)
        media_id = st.fake.add_media(AMR)
        assert (await st.driver.push(st.driver.voice_xml("wangfang", media_id))).final == 200
        assert len(st.fake.calls_to(WECOM_MEDIA)) == 1
        assert [p.read_bytes() for p in media_files(st.runtime.settings.media_dir)] == [AMR]


# ---------------------------------------------------------------- DingTalk

@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    server = await FakeDingTalk().start()
    yield server
    await server.close()


@contextlib.asynccontextmanager
async def dingtalk_intake(settings: Settings, engine, clock) -> AsyncIterator[None]:
    assert settings.dingtalk is not None
    api = api_from_settings(settings.dingtalk)
    intake = Intake(writer=InboxWriter(engine, clock), members=MemberDirectory(engine), on_inbound=lambda: None,
                    api=api, media_dir=settings.media_dir, max_bytes=settings.max_audio_bytes, tz=settings.tz)
    task = asyncio.create_task(build_stream_client(api, intake, backoff_base=0.02, backoff_max=0.3).start())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.close()


async def test_dingtalk_media_of_a_stranger_is_not_downloaded(fake, sqlite_url, tmp_path, clock):
    settings = Settings(database_url=sqlite_url, data_dir=tmp_path / "var",
                        dingtalk=DingTalkSettings(client_id=fake.client_id, client_secret=fake.client_secret,
                                                  robot_code=fake.client_id, api_base=fake.base_url))
    runtime = build_runtime(settings, clock=clock)
    org = make_org(runtime.engine)
    with session_scope(runtime.engine) as s:
        rep = s.get(Member, org.rep_a.id)
        assert rep is not None
        rep.dingtalk_userid = "wangfang01"
    fake.files.update({"voice-x": AMR, "file-x": b"%PDF-1.4", "voice-m": AMR})
    async with dingtalk_intake(settings, runtime.engine, clock):
        await fake.wait_for(lambda: fake.live == 1)
        strangers = [
            fake.robot_message("audio", sender="stranger01", msg_id="sv1",
                               content={"duration": 3000, "downloadCode": "voice-x", "recognition": "你好"}),
            fake.robot_message("file", sender="stranger01", msg_id="sf1",
                               content={"downloadCode": "file-x", "fileName": "报价单.pdf"}),
        ]
        for data in strangers:
            mid = await fake.push(callback_frame("/v1.0/im/bot/messages/get", data))
            await fake.wait_for(lambda mid=mid: mid in fake.acked)
        assert fake.calls_to(DINGTALK_DOWNLOAD) == [] and media_files(settings.media_dir) == []
        member = fake.robot_message("audio", sender="wangfang01", msg_id="mv1",
                                    content={"duration": 3000, "downloadCode": "voice-m"})
        mid = await fake.push(callback_frame("/v1.0/im/bot/messages/get", member))
        await fake.wait_for(lambda: mid in fake.acked)
    assert len(fake.calls_to(DINGTALK_DOWNLOAD)) == 1  # the member's voice only
    assert [p.read_bytes() for p in media_files(settings.media_dir)] == [AMR]
    rows = {r.msg_id: r for r in inbox(runtime.engine)}
    assert rows["sv1"].media_ref == "dingtalk:voice-x" and rows["sf1"].media_ref == "dingtalk:file-x"
    runtime.worker.drain()
    with Session(runtime.engine) as s:
        answered = s.exec(select(OutboxMessage).where(col(OutboxMessage.recipient) == "stranger01")).all()
    assert [o.payload["text"] for o in answered] == [NOT_A_MEMBER] * 2
    runtime.engine.dispose()


# ---------------------------------------------------------------- the sandbox upload

async def test_sandbox_voice_of_a_non_member_is_not_stored(sqlite_url, tmp_path, clock):
    async with edge_app(sqlite_url, tmp_path, clock) as edge:
        for member in ("nobody", "rep-a"):
            form = FormData()
            form.add_field("member", member)
            form.add_field("file", AMR, filename="memo.amr", content_type="audio/amr")
            r = await edge.client.post("/sandbox/api/voice", data=form)
            assert r.status == 200
            if member == "nobody":
                assert media_files(edge.runtime.settings.media_dir) == []
        [stranger, rep] = edge.inbox()
        assert stranger.media_ref is None and rep.media_ref and rep.media_ref.endswith(".amr")
        assert len(media_files(edge.runtime.settings.media_dir)) == 1
        edge.runtime.worker.drain()
        assert [o.payload["text"] for o in edge.replies_to("nobody")] == [NOT_A_MEMBER]
