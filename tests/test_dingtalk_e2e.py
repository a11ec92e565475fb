"""End to end through the composed app: fake DingTalk -> Stream client -> inbox -> worker -> outbox -> fake.

Nothing is driven by hand here: build_web_app starts the worker, the outbox sender and the Stream
client, exactly as in production, and the test only talks to the fake gateway.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import Session, col, select

from bot.app import Runtime, build_runtime, build_web_app
from bot.clock import system_clock
from bot.config import DingTalkSettings, Settings
from bot.platforms.dingtalk.stream import TOPIC_BOT, TOPIC_CARD
from store.db import session_scope
from store.models import FollowUp, InboundMessage, Member
from tests.factories import make_org
from tests.fakes.dingtalk import FakeDingTalk, Sent, callback_frame

CHAT = """许志强 11/16 09:15
小王，你们的报价我看了，43万比我们预期高了不少。我手机 13812345678
王芳 11/16 09:18
许总，这个价格包含了三年的运维服务，性价比其实很高的
许志强 11/16 09:22
东软给的方案也差不多，价格低一截。你们要是能再降一些，我们可以考虑
王芳 11/16 09:25
我跟领导争取一下，周四上午给您答复"""
REP = "wangfang01"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    server = await FakeDingTalk().start()
    yield server
    await server.close()


@pytest.fixture
def card_template_id() -> str | None:
    return None  # the StandardCard path; tests of the card-instance path override this


@pytest.fixture
async def app(tmp_path, sqlite_url: str, fake: FakeDingTalk, card_template_id: str | None) -> AsyncIterator[Runtime]:
    settings = Settings(database_url=sqlite_url, data_dir=tmp_path / "var", worker_poll_seconds=0.05,
                        dingtalk=DingTalkSettings(client_id=fake.client_id, client_secret=fake.client_secret,
                                                  robot_code=fake.client_id, api_base=fake.base_url,
                                                  card_template_id=card_template_id))
    runtime = build_runtime(settings, clock=system_clock)
    org = make_org(runtime.engine)
    with session_scope(runtime.engine) as s:
        rep = s.get(Member, org.rep_a.id)
        assert rep is not None
        rep.dingtalk_userid = REP
        s.add(rep)
    server = TestServer(build_web_app(runtime))
    await server.start_server()
    await fake.wait_for(lambda: fake.live == 1)
    try:
        yield runtime
    finally:
        await server.close()


async def say(fake: FakeDingTalk, msgtype: str, sender: str = REP, **body: Any) -> str:
    return await fake.push(callback_frame(TOPIC_BOT, fake.robot_message(msgtype, sender=sender, **body)))


async def first_sent(fake: FakeDingTalk, predicate: Callable[[Sent], bool], timeout: float = 10.0) -> Sent:
    """The first message DingTalk showed that matches (the scheduler's own pushes may come in between)."""
    await fake.wait_for(lambda: any(predicate(m) for m in fake.sent), timeout=timeout)
    return next(m for m in fake.sent if predicate(m))


def text_of(message: Sent) -> str:
    return str((message.body.get("text") or {}).get("content") or message.body.get("content") or "")


def button(card: dict[str, Any], label: str) -> str:
    for block in card["contents"]:
        for b in block.get("actions", []):
            if b["label"]["text"].removeprefix("✓ ") == label:
                return str(b["id"])
    raise AssertionError(f"no button {label}")


async def test_pasted_chat_card_toggle_and_confirm(app: Runtime, fake: FakeDingTalk) -> None:
    await say(fake, "text", text={"content": CHAT})
    sent = await first_sent(fake, lambda m: m.via == "card")
    assert sent.to == REP
    card = sent.body["card"]
    assert "许志强" in card["contents"][1]["text"] and button(card, "确认")
    biz = sent.body["cardBizId"]

    # Toggle a tag: the card is updated in place, not stacked.
    await fake.push(callback_frame(TOPIC_CARD, fake.card_click(user=REP, card_biz_id=biz,
                                                              action_ids=[button(card, "要报价")])))
    updated = await first_sent(fake, lambda m: m.via == "card_update")
    assert updated.body["cardBizId"] == biz
    assert [m.via for m in fake.sent].count("card") == 1
    assert "要报价" in next(b["text"] for b in updated.body["card"]["contents"] if b["id"] == "tags_summary")

    await fake.push(callback_frame(TOPIC_CARD, fake.card_click(user=REP, card_biz_id=biz,
                                                              action_ids=[button(card, "确认")])))
    done = await first_sent(fake, lambda m: "已保存" in text_of(m))
    assert done.via == "webhook" and "已保存 许志强" in text_of(done)
    with Session(app.engine) as s:
        followup = s.exec(select(FollowUp)).one()
        assert followup.confirmed and "要报价" in followup.tags


@pytest.mark.parametrize("card_template_id", ["genjin-followup.schema"])
async def test_template_card_one_tap_confirm_updates_it_in_place(app: Runtime, fake: FakeDingTalk) -> None:
    """With the card template set: paste -> a card instance in the robot chat -> a tag tap and 确认, each
    answered by an update of that same instance; after 确认 it shows 已确认 and has nothing to tap."""
    await say(fake, "text", text={"content": CHAT})
    sent = await first_sent(fake, lambda m: m.via == "card_instance")
    assert sent.to == REP and "许志强" in sent.body["params"]["fields_md"]
    track = sent.body["outTrackId"]
    call = fake.calls_to("/v1.0/card/instances/createAndDeliver")[0].body
    assert call["callbackType"] == "STREAM" and call["openSpaceId"] == f"dtv1.card//IM_ROBOT.{REP}"

    tag = next(a for a in fake.live_actions(track) if a.endswith(":要报价"))
    await fake.push(callback_frame(TOPIC_CARD, fake.instance_click(user=REP, out_track_id=track, action=tag)))
    toggled = await first_sent(fake, lambda m: m.via == "card_instance_update")
    assert toggled.body["outTrackId"] == track and "要报价" in toggled.body["params"]["tags_md"]

    confirm = next(a for a in fake.live_actions(track) if a.startswith("confirm:"))
    await fake.push(callback_frame(TOPIC_CARD, fake.instance_click(user=REP, out_track_id=track, action=confirm)))
    done = await first_sent(fake, lambda m: "已保存" in text_of(m))
    assert "已保存 许志强" in text_of(done)
    assert fake.instances[track]["params"]["final_text"] == "已确认" and fake.live_actions(track) == set()
    assert [m.via for m in fake.sent].count("card_instance") == 1  # one card, updated in place twice
    assert fake.calls_to("/v1.0/im/v1.0/robot/interactiveCards/send") == []
    with Session(app.engine) as s:
        followup = s.exec(select(FollowUp)).one()
        assert followup.confirmed and "要报价" in followup.tags


@pytest.mark.parametrize("card_template_id", ["genjin-followup.schema"])
async def test_template_card_in_a_group_goes_to_the_group_space(app: Runtime, fake: FakeDingTalk) -> None:
    await say(fake, "text", group="cidSalesGroup", text={"content": CHAT})
    sent = await first_sent(fake, lambda m: m.via == "card_instance")
    assert sent.chat == "cidSalesGroup" and sent.to is None
    call = fake.calls_to("/v1.0/card/instances/createAndDeliver")[0].body
    assert call["openSpaceId"] == "dtv1.card//IM_GROUP.cidSalesGroup"
    assert call["imGroupOpenDeliverModel"] == {"robotCode": fake.client_id}
    track = sent.body["outTrackId"]
    confirm = next(a for a in fake.live_actions(track) if a.startswith("confirm:"))
    await fake.push(callback_frame(TOPIC_CARD, fake.instance_click(user=REP, out_track_id=track, action=confirm)))
    await first_sent(fake, lambda m: "已保存" in text_of(m))
    await fake.wait_for(lambda: fake.instances[track]["params"]["final_text"] == "已确认")


async def test_voice_memo_is_stored_with_recognition_and_answered(app: Runtime, fake: FakeDingTalk) -> None:
    # An AMR header over frames of type 9 (not an AMR-NB frame type): stored like any voice memo, but
    # undecodable, so this test checks the adapter's part (download, row, recognition, an answer) without
    # loading a speech model. (Zero bytes would not do: they are valid 4.75 kbit/s frames, and decoding
    # 0.8 s of them with Whisper took 9 s on a loaded machine.)
    fake.files["dl-1"] = b"#!AMR\n" + bytes([9 << 3 | 4]) * 512
    await say(fake, "audio", msg_id="voice-1",
              content={"duration": 5000, "downloadCode": "dl-1", "recognition": "拜访了华康医疗蔡经理"})
    reply = await first_sent(fake, lambda m: "语音" in text_of(m))
    assert reply.via == "webhook"
    with Session(app.engine) as s:
        row = s.exec(select(InboundMessage).where(col(InboundMessage.msg_id) == "voice-1")).one()
    assert row.kind == "voice" and row.text == "拜访了华康医疗蔡经理"
    assert (app.settings.media_dir / (row.media_ref or "")).is_file()
    assert json.loads(row.raw)["content"]["duration"] == 5000


async def test_group_mention_answers_in_the_group_and_strangers_are_told(app: Runtime, fake: FakeDingTalk) -> None:
    await say(fake, "text", group="cidSalesGroup", text={"content": "帮助"})
    reply = await first_sent(fake, lambda m: m.via == "webhook")
    assert reply.body["at"] == {"atUserIds": [REP]} and "跟进" in text_of(reply)
    with Session(app.engine) as s:
        assert s.exec(select(InboundMessage)).one().chat == "cidSalesGroup"
    await say(fake, "text", sender="stranger9", text={"content": "你好"})
    stranger = await first_sent(fake, lambda m: "还不是 genjin 团队成员" in text_of(m))
    assert stranger.via == "webhook"


async def test_a_picture_is_downloaded_read_offline_and_answered_with_a_card(app: Runtime, fake: FakeDingTalk) -> None:
    """The real OCR engine in the running app: a chat screenshot becomes a card for its customer."""
    from tests.ocr_support import draw_lines, encode

    fake.files["pic-1"] = encode(draw_lines(["许志强 11/16 09:15", "合同我们这边已经盖章了，明天寄回给你"]))
    await say(fake, "picture", msg_id="pic-1", content={"downloadCode": "pic-1"})
    await first_sent(fake, lambda m: "许志强" in json.dumps(m.body, ensure_ascii=False), timeout=90)
    with Session(app.engine) as s:
        row = s.exec(select(InboundMessage).where(col(InboundMessage.msg_id) == "pic-1")).one()
        followup = s.exec(select(FollowUp).where(col(FollowUp.source_inbound_id) == row.id)).one()
    assert row.kind == "image" and (app.settings.media_dir / (row.media_ref or "")).is_file()
    assert followup.kind == "image" and "盖章" in followup.text


async def test_a_broken_pdf_file_gets_a_chinese_answer(app: Runtime, fake: FakeDingTalk) -> None:
    from bot.ocr.runner import UNREADABLE

    fake.files["pdf-1"] = b"%PDF-1.7\n not really a pdf"
    await say(fake, "file", msg_id="file-1", content={"downloadCode": "pdf-1", "fileName": "合同.pdf"})
    await first_sent(fake, lambda m: text_of(m) == UNREADABLE)
    with Session(app.engine) as s:
        row = s.exec(select(InboundMessage).where(col(InboundMessage.msg_id) == "file-1")).one()
    assert row.kind == "file" and row.text == "[文件] 合同.pdf" and (row.media_ref or "").endswith(".pdf")
