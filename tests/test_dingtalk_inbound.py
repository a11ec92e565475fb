"""DingTalk robot payloads -> Inbound: every message type, group chats, merged forwards, bad input."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.extract import split_chat
from bot.platforms.dingtalk.inbound import parse_card_click, parse_message, render_chat_record
from bot.platforms.dingtalk.render import action_id

TZ = ZoneInfo("Asia/Shanghai")


def message(msgtype: str, **body: object) -> dict[str, object]:
    return {"msgId": "msgX", "msgtype": msgtype, "senderStaffId": "wangfang01", "senderId": "$:LWCP_v1:$abc",
            "conversationType": "1", "conversationId": "cid-1", "sessionWebhook": "http://x/hook",
            "sessionWebhookExpiredTime": 1, **body}


def ms(y: int, mo: int, d: int, h: int, mi: int) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=TZ).timestamp() * 1000)


def test_text_in_group_keeps_the_conversation() -> None:
    parsed = parse_message(message("text", text={"content": " 帮助 "}, conversationType="2",
                                   conversationId="cidGroup"), "f1", TZ)
    inbound = parsed.inbound
    assert (inbound.kind, inbound.text, inbound.chat, inbound.sender, inbound.msg_id) == (
        "text", "帮助", "cidGroup", "wangfang01", "msgX")
    assert parsed.download_code is None and json.loads(inbound.raw)["sessionWebhook"] == "http://x/hook"


def test_rich_text_joins_text_and_picture_only_is_an_image() -> None:
    rich = message("richText", content={"richText": [{"text": "客户说"}, {"type": "picture", "downloadCode": "p1"},
                                                     {"text": "下周报价"}]})
    assert parse_message(rich, "f", TZ).inbound.text == "客户说\n下周报价"
    only_pic = parse_message(message("richText", content={"richText": [{"downloadCode": "p2"}]}), "f", TZ)
    assert only_pic.inbound.kind == "image" and only_pic.download_code == "p2"


def test_audio_keeps_recognition_and_asks_for_download() -> None:
    parsed = parse_message(message("audio", content={"duration": 3000, "downloadCode": "dc", "recognition": "你好"}),
                           "f", TZ)
    assert parsed.inbound.kind == "voice" and parsed.inbound.text == "你好"
    assert parsed.download_code == "dc" and parsed.inbound.media_ref == "dingtalk:dc"


def test_picture_file_video_and_unknown_types() -> None:
    pic = parse_message(message("picture", content={"downloadCode": "pc", "pictureDownloadCode": "pp"}), "f", TZ)
    assert pic.inbound.kind == "image" and pic.download_code == "pc"
    file = parse_message(message("file", content={"downloadCode": "fc", "fileName": "报价单.PDF"}), "f", TZ)
    assert (file.inbound.kind, file.inbound.text, file.file_ext) == ("file", "[文件] 报价单.PDF", "pdf")
    video = parse_message(message("video", content={"downloadCode": "vc", "duration": 9}), "f", TZ)
    assert video.inbound.kind == "link" and video.download_code is None and video.inbound.media_ref == "dingtalk:vc"
    odd = parse_message(message("interactiveCard"), "f", TZ)
    assert odd.inbound.kind == "event" and odd.inbound.text == "message:interactiveCard"


def test_missing_ids_fall_back_instead_of_losing_the_message() -> None:
    data = message("text", text={"content": "hi"})
    del data["msgId"], data["senderStaffId"]
    inbound = parse_message(data, "frame-9", TZ).inbound
    assert inbound.msg_id == "frame-9" and inbound.sender == "$:LWCP_v1:$abc"


def test_chat_record_reads_as_a_pasted_chat() -> None:
    records = [
        {"senderNick": "许志强", "msgType": "text", "content": "你们的报价比预期高",
         "createAt": ms(2026, 11, 16, 9, 15)},
        {"senderNick": "王芳", "msgType": "text", "content": "包含三年运维", "createAt": ms(2026, 11, 16, 9, 18)},
        {"senderNick": "许志强", "msgType": "picture", "content": {}, "createAt": ms(2026, 11, 16, 9, 20)},
    ]
    parsed = parse_message(message("chatRecord", content={"chatRecord": json.dumps(records, ensure_ascii=False)}),
                           "f", TZ)
    assert parsed.inbound.kind == "text"
    assert parsed.inbound.text == ("许志强 2026/11/16 09:15\n你们的报价比预期高\n王芳 2026/11/16 09:18\n包含三年运维\n"
                                   "许志强 2026/11/16 09:20\n[图片]")
    turns = split_chat(parsed.inbound.text)
    assert [(t.speaker, t.text) for t in turns][:2] == [("许志强", "你们的报价比预期高"), ("王芳", "包含三年运维")]


def test_chat_record_without_times_uses_speaker_prefixes() -> None:
    text = render_chat_record({"chatRecord": [{"senderNick": "方女士", "content": "下周来看演示"}]}, TZ)
    assert text == "方女士：下周来看演示"


def test_card_click_decodes_our_component_id() -> None:
    data = {"userId": "wangfang01", "outTrackId": "genjin-5", "spaceType": "IM",
            "content": json.dumps({"cardPrivateData": {"actionIds": [action_id("confirm:12")], "params": {}}})}
    inbound = parse_card_click(data, "frame-1")
    assert (inbound.kind, inbound.text, inbound.msg_id, inbound.sender) == (
        "card_action", "confirm:12", "card-frame-1", "wangfang01")
    foreign = parse_card_click({**data, "content": json.dumps({"cardPrivateData": {"actionIds": ["btn_1"]}})}, "f2")
    assert foreign.kind == "event"
