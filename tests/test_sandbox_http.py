"""The sandbox adapter over real HTTP: ack after insert, replies via the outbox, bad input answered."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import Session, select

from bot.app import build_runtime, build_web_app, seed_sandbox
from bot.clock import system_clock
from bot.config import Settings
from store.models import InboundMessage, InboxStatus


@pytest.fixture
async def client(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/g.db", data_dir=tmp_path / "var",
                        worker_poll_seconds=0.05, max_body_bytes=64 * 1024, max_audio_bytes=32 * 1024)
    runtime = build_runtime(settings, clock=system_clock)
    seed_sandbox(runtime, book=False)  # just the team: these tests count every message
    async with TestClient(TestServer(build_web_app(runtime, sandbox=True))) as c:
        c.runtime = runtime  # type: ignore[attr-defined]
        yield c


async def wait_for_reply(client, member: str, predicate, timeout: float = 10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        items = await (await client.get(f"/sandbox/api/messages?member={member}")).json()
        for item in items:
            if item["dir"] == "out" and predicate(item):
                return item
        await asyncio.sleep(0.05)
    raise AssertionError(f"no matching reply; got {items}")


async def test_page_members_and_chat_round_trip(client):
    page = await client.get("/")
    assert page.status == 200 and "genjin" in await page.text()
    members = await (await client.get("/sandbox/api/members")).json()
    assert {m["role"] for m in members} == {"rep", "supervisor"} and len(members) == 3
    rep = members[0]["id"]
    r = await client.post("/sandbox/api/messages", json={"member": rep, "text": "帮助", "msg_id": "a1"})
    assert r.status == 200 and (await r.json())["duplicate"] is False
    reply = await wait_for_reply(client, rep, lambda i: "genjin 跟进助手" in (i.get("text") or ""))
    assert reply["kind"] == "text"
    again = await client.post("/sandbox/api/messages", json={"member": rep, "text": "帮助", "msg_id": "a1"})
    assert (await again.json())["duplicate"] is True


async def test_card_and_button_click(client):
    r = await client.post("/sandbox/api/messages", json={
        "member": "rep-wangfang", "text": "华康医疗的蔡经理说要报价，电话 13912345678，明天上午十点再电话沟通"})
    assert r.status == 200
    card = await wait_for_reply(client, "rep-wangfang",
                                lambda i: any(b["label"] == "确认" for b in (i.get("card") or {}).get("buttons", [])))
    confirm = next(b["action"] for b in card["card"]["buttons"] if b["label"] == "确认")
    await client.post("/sandbox/api/actions", json={"member": "rep-wangfang", "action": confirm})
    await wait_for_reply(client, "rep-wangfang", lambda i: "已保存" in (i.get("text") or ""))


@pytest.mark.parametrize("body, status", [
    (b"{not json", 400),
    (b"[1, 2]", 400),
    (b'{"member": "rep-wangfang"}', 400),
    (b'{"text": "hi"}', 400),
])
async def test_malformed_requests_get_4xx_and_store_nothing(client, body, status):
    r = await client.post("/sandbox/api/messages", data=body, headers={"Content-Type": "application/json"})
    assert r.status == status
    assert "error" in await r.json()
    with Session(client.runtime.engine) as s:
        assert s.exec(select(InboundMessage)).all() == []


async def test_oversized_body_is_413(client):
    r = await client.post("/sandbox/api/messages", json={"member": "rep-wangfang", "text": "x" * 70_000})
    assert r.status == 413


async def test_voice_upload_is_stored_and_kept_even_when_unreadable(client, tmp_path):
    # Transcription itself is covered by tests/test_voice_*.py; here: the upload path keeps the raw audio.
    amr = b"#!AMR\n" + bytes(range(256)) * 20  # AMR magic, then frames that are not AMR-NB
    form = FormData()
    form.add_field("member", "rep-wangfang")
    form.add_field("file", amr, filename="memo.amr", content_type="audio/amr")
    r = await client.post("/sandbox/api/voice", data=form)
    assert r.status == 200
    await wait_for_reply(client, "rep-wangfang", lambda i: "无法解码" in (i.get("text") or ""))
    with Session(client.runtime.engine) as s:
        row = s.exec(select(InboundMessage)).one()
        assert row.status == InboxStatus.DONE and row.media_ref
    stored = client.runtime.settings.media_dir / row.media_ref
    assert stored.read_bytes() == amr


async def test_voice_rejects_unknown_format_and_oversize(client):
    form = FormData()
    form.add_field("member", "rep-wangfang")
    form.add_field("file", b"not audio at all", filename="memo.amr")
    assert (await client.post("/sandbox/api/voice", data=form)).status == 415
    form = FormData()
    form.add_field("member", "rep-wangfang")
    form.add_field("file", b"#!AMR\n" + b"\0" * 40_000, filename="memo.amr")
    r = await client.post("/sandbox/api/voice", data=form)
    assert r.status == 413


async def test_status_reports_queues(client):
    await client.post("/sandbox/api/messages", json={"member": "rep-wangfang", "text": "帮助"})
    await wait_for_reply(client, "rep-wangfang", lambda i: True)
    health = await (await client.get("/status")).json()
    assert health["status"] == "ok" and health["database"] == "ok"
    assert health["inbox"].get("done") == 1 and health["outbox"].get("sent") == 1
    assert health["workers_running"] == 4  # inbox worker, outbox sender, transcription and OCR runners


async def read_events(response, predicate, timeout: float = 30.0) -> list[dict]:
    """Items from the server-sent event stream until one matches. The timeout is a bound against hanging, not
    a speed check: a fresh-clone CI run once took over 10 s to push the first card."""
    seen: list[dict] = []
    async with asyncio.timeout(timeout):
        while True:
            line = (await response.content.readline()).decode()
            if line.startswith("data: "):
                seen += json.loads(line[6:])
                if any(predicate(i) for i in seen):
                    return seen


async def test_events_push_the_card_in_place_and_finished_with_tap_labels(client):
    rep = "rep-wangfang"
    stream = await client.get(f"/sandbox/api/events?member={rep}")
    assert stream.status == 200 and stream.headers["Content-Type"] == "text/event-stream"
    await client.post("/sandbox/api/messages", json={
        "member": rep, "text": "华康医疗的蔡经理说要报价，电话 13912345678，明天上午十点再电话沟通"})
    def followup_card(i):
        return any(b["label"] == "确认" for b in (i.get("card") or {}).get("buttons", []))

    items = await read_events(stream, followup_card)
    card = next(i for i in items if followup_card(i))
    tag = next(t for t in card["card"]["tags"] if not t["selected"])
    await client.post("/sandbox/api/actions", json={"member": rep, "action": tag["action"], "card": card["id"]})
    items = await read_events(stream, lambda i: i.get("replaces") == card["id"])
    refreshed = next(i for i in items if i.get("replaces") == card["id"])
    assert any(i["dir"] == "in" and i["text"] == f"「标签：{tag['name']}」" for i in items)
    confirm = next(b["action"] for b in refreshed["card"]["buttons"] if b["label"] == "确认")
    await client.post("/sandbox/api/actions", json={"member": rep, "action": confirm, "card": refreshed["id"]})
    items = await read_events(stream, lambda i: i["id"] == refreshed["id"] and i.get("final") == "已确认")
    assert any(i["dir"] == "in" and i["text"] == "「确认」" for i in items)
    assert not any("confirm:" in (i.get("text") or "") for i in items)
    stream.close()


async def test_events_need_a_member(client):
    assert (await client.get("/sandbox/api/events")).status == 400


@pytest.fixture
async def sandbox(tmp_path):
    """As `genjin sandbox` runs: the sandbox's own movable clock and the seeded book."""
    from bot.app import sandbox_clock

    settings = Settings(database_url=f"sqlite:///{tmp_path}/g.db", data_dir=tmp_path / "var",
                        worker_poll_seconds=0.05)
    runtime = build_runtime(settings, clock=sandbox_clock())
    seed_sandbox(runtime)
    seed_sandbox(runtime)  # idempotent: a restart keeps the book as it is
    async with TestClient(TestServer(build_web_app(runtime, sandbox=True))) as c:
        c.runtime = runtime  # type: ignore[attr-defined]
        yield c


def texts(items) -> str:
    return "\n".join(str(i.get("text") or i.get("card") or "") for i in items)


async def test_first_look_shows_the_previsit_card_stale_ladder_and_weekly_report(sandbox):
    from store.models import Customer, FollowUp, Visit

    with Session(sandbox.runtime.engine) as s:
        assert len(s.exec(select(Customer)).all()) == 5 and len(s.exec(select(Visit)).all()) == 1
        assert all(f.confirmed for f in s.exec(select(FollowUp)).all())
    # The scheduler's start-up pass: the visit in 10 minutes, 张伟 quiet for two weeks, last week's report.
    await wait_for_reply(sandbox, "rep-wangfang", lambda i: "许志强" in str(i.get("card") or i.get("text")))
    await wait_for_reply(sandbox, "rep-wangfang", lambda i: "张伟" in str(i.get("card") or i.get("text")))
    await wait_for_reply(sandbox, "rep-wangfang", lambda i: "周报" in str(i.get("card") or i.get("text")))


async def test_the_sandbox_clock_moves_forward_only_and_runs_the_sweeps(sandbox):
    state = await (await sandbox.get("/sandbox/api/clock")).json()
    assert state["movable"] and state["offset_hours"] == 0
    # Start-up pushes first (刘洋 has been quiet for weeks); 周杰, contacted 5 days ago, is not due yet.
    await wait_for_reply(sandbox, "rep-liming", lambda i: "刘洋" in texts([i]))
    assert "周杰" not in texts(await (await sandbox.get("/sandbox/api/messages?member=rep-liming")).json())
    moved = await sandbox.post("/sandbox/api/clock", json={"hours": 168})
    assert moved.status == 200 and (await moved.json())["offset_hours"] == 168
    assert sandbox.runtime.worker.clock() - system_clock() > timedelta(hours=167)
    # A week later 周杰 has gone quiet too: the moved clock's sweeps push it at once.
    await wait_for_reply(sandbox, "rep-liming", lambda i: "周杰" in texts([i]))
    for bad in ({"hours": -1}, {"hours": 0}, {"hours": "x"}, {"hours": 24 * 40}, {"hours": True}):
        assert (await sandbox.post("/sandbox/api/clock", json=bad)).status == 400
    assert (await (await sandbox.get("/sandbox/api/clock")).json())["offset_hours"] == 168


async def test_serve_has_no_movable_clock(client):
    assert (await (await client.get("/sandbox/api/clock")).json())["movable"] is False
    assert (await client.post("/sandbox/api/clock", json={"hours": 1})).status == 404


async def test_image_and_file_upload_are_stored_and_answered(client):
    from bot.ocr.runner import UNREADABLE

    form = FormData()
    form.add_field("member", "rep-wangfang")
    form.add_field("file", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="shot.png", content_type="image/png")
    assert (await client.post("/sandbox/api/file", data=form)).status == 200
    await wait_for_reply(client, "rep-wangfang", lambda i: i.get("text") == UNREADABLE)
    form = FormData()
    form.add_field("member", "rep-wangfang")
    form.add_field("file", b"PK\x03\x04 minutes", filename="纪要.docx")
    assert (await client.post("/sandbox/api/file", data=form)).status == 200
    await wait_for_reply(client, "rep-wangfang", lambda i: "是哪位客户的" in (i.get("text") or ""))
    with Session(client.runtime.engine) as s:
        rows = s.exec(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [(r.kind, r.media_ref.rsplit(".", 1)[-1]) for r in rows] == [("image", "png"), ("file", "docx")]
    assert all((client.runtime.settings.media_dir / r.media_ref).is_file() for r in rows)
    assert (await client.post("/sandbox/api/file", data={"member": "rep-wangfang"})).status == 400  # no file
