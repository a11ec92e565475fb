"""The WeCom callback route: what is refused (and never stored), what each message kind becomes,
and that WeCom's retries — including the one after a slow answer — store exactly one row."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import Session, col, select

from bot.clock import system_clock
from bot.platforms.wecom.xml import Rejected, parse_xml
from store.models import InboundMessage
from tests.factories import make_org
from tests.fakes.wecom import WeComStack, wecom_encrypt, wecom_signature, wecom_stack

AMR = b"#!AMR\n" + bytes(range(256)) * 4


def rows(stack: WeComStack) -> list[InboundMessage]:
    with Session(stack.runtime.engine) as s:
        return list(s.exec(select(InboundMessage).order_by(col(InboundMessage.id))).all())


@pytest.fixture
async def stack(sqlite_url, tmp_path):
    async with wecom_stack(sqlite_url, tmp_path / "var", max_body_bytes=4096) as st:
        make_org(st.runtime.engine)  # wecom user "wangfang" is a member: her voice is downloaded
        yield st


async def post(stack: WeComStack, query: dict[str, str], body: bytes | object) -> int:
    async with aiohttp.ClientSession() as http, http.post(stack.driver.url, params=query, data=body) as resp:
        return resp.status


def signed(stack: WeComStack, encrypted: str, timestamp: str | None = None, nonce: str = "42") -> dict[str, str]:
    timestamp = timestamp or str(int(stack.driver.now()))  # inside the replay window
    return {"msg_signature": wecom_signature(stack.driver.token, timestamp, nonce, encrypted),
            "timestamp": timestamp, "nonce": nonce}


def envelope(encrypted: str) -> bytes:
    return f"<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()


# ---------------------------------------------------------------- refused, nothing stored

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%d;" % (i - 1) if i > 1 else b"&lol;"
                                                                          for _ in range(10))) for i in range(1, 10))
                  + b"]><xml><Encrypt>&lol9;</Encrypt></xml>")
XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>'


async def test_wrong_signature_is_403(stack):
    query, body = stack.driver.envelope(stack.driver.text_xml("wangfang", "你好"))
    query["msg_signature"] = "f" * 40
    assert await post(stack, query, body) == 403
    query, body = stack.driver.envelope(stack.driver.text_xml("wangfang", "你好"))
    query["timestamp"] = str(int(query["timestamp"]) + 1)  # signed values are bound together
    assert await post(stack, query, body) == 403
    assert rows(stack) == []


@pytest.mark.parametrize("body", [
    pytest.param(b"<xml><Encrypt>abc</Encrypt>", id="truncated"),
    pytest.param(b"not xml at all", id="garbage"),
    pytest.param(b"", id="empty"),
    pytest.param(b"<xml><Other>1</Other></xml>", id="no-encrypt"),
    pytest.param(b"\xff\xfe<\x00x\x00", id="not-utf8"),
    pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    pytest.param(XXE, id="xxe"),
])
async def test_malformed_or_entity_bodies_are_400(stack, body):
    query = signed(stack, "abc")
    assert await post(stack, query, body) == 400
    assert rows(stack) == []


async def test_entities_inside_the_encrypted_message_are_400(stack):
    inner = ('<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><ToUserName>x</ToUserName>'
             "<FromUserName>wangfang</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
             "<Content>&xxe;</Content><MsgId>1</MsgId></xml>")
    assert (await stack.driver.push(inner)).final == 400
    assert rows(stack) == []


@pytest.mark.parametrize("case", ["not-base64", "wrong-key", "wrong-corp", "short-block"])
async def test_undecryptable_but_correctly_signed_is_400(stack, case):
    plain = stack.driver.text_xml("wangfang", "你好")
    encrypted = {
        "not-base64": "@@@not*base64@@@",
        "wrong-key": wecom_encrypt(plain, "A" * 43, stack.driver.corp_id),
        "wrong-corp": wecom_encrypt(plain, stack.driver.aes_key, "wwsomeoneelse"),
        "short-block": "QUJD",
    }[case]
    assert await post(stack, signed(stack, encrypted), envelope(encrypted)) == 400
    assert rows(stack) == []


@pytest.mark.parametrize("plain", [
    pytest.param("<xml><Foo>1</Foo></xml>", id="no-msgtype"),
    pytest.param("<xml><MsgType>text</MsgType><FromUserName>wangfang</FromUserName><Content>hi</Content></xml>",
                 id="text-without-msgid"),
    pytest.param("<xml><MsgType>text</MsgType><MsgId>5</MsgId><Content>hi</Content></xml>", id="no-sender"),
    pytest.param("<html><body/></html>", id="not-xml-root"),
])
async def test_decrypted_but_not_a_message_is_400(stack, plain):
    assert (await stack.driver.push(plain)).final == 400
    assert rows(stack) == []


async def test_missing_query_parameters_are_400(stack):
    query, body = stack.driver.envelope(stack.driver.text_xml("wangfang", "你好"))
    del query["nonce"]
    assert await post(stack, query, body) == 400
    assert rows(stack) == []


async def test_body_over_the_cap_is_413_with_or_without_content_length(stack):
    query, body = stack.driver.envelope(stack.driver.text_xml("wangfang", "很长" * 2000))
    assert len(body) > 4096
    assert await post(stack, query, body) == 413

    async def chunked():  # no Content-Length: the cap is counted while reading
        for i in range(0, len(body), 1000):
            yield body[i:i + 1000]

    assert await post(stack, query, chunked()) == 413
    assert rows(stack) == []


# ---------------------------------------------------------------- what each kind becomes


async def test_text_is_stored_and_acked_with_an_empty_200(stack):
    delivery = await stack.driver.push(stack.driver.text_xml("wangfang", "张总说下周三再联系", msg_id="777"))
    assert delivery.statuses == [200] and delivery.bodies == [""]
    [row] = rows(stack)
    assert (row.platform, row.kind, row.msg_id, row.sender, row.text, row.chat, row.status) == (
        "wecom", "text", "777", "wangfang", "张总说下周三再联系", None, "pending")
    assert "<MsgType><![CDATA[text]]></MsgType>" in row.raw


async def test_voice_is_downloaded_at_once_and_stored_on_disk(stack, tmp_path: Path):
    media_id = stack.fake.add_media(AMR)
    assert (await stack.driver.push(stack.driver.voice_xml("wangfang", media_id))).final == 200
    [row] = rows(stack)
    assert row.kind == "voice" and row.media_ref is not None and row.media_ref.endswith(".amr")
    assert (stack.runtime.settings.media_dir / row.media_ref).read_bytes() == AMR
    assert media_id in row.raw
    [call] = stack.fake.calls_to("/cgi-bin/media/get")
    assert call.query["media_id"] == media_id


async def test_voice_whose_download_fails_keeps_the_media_id(stack):
    # WeCom answers an unknown/expired media id with a JSON error, not audio.
    assert (await stack.driver.push(stack.driver.voice_xml("wangfang", "EXPIRED_MEDIA"))).final == 200
    [row] = rows(stack)
    assert row.kind == "voice" and row.media_ref == "wecom:EXPIRED_MEDIA"
    assert "EXPIRED_MEDIA" in row.raw
    assert not stack.runtime.settings.media_dir.exists() or not any(stack.runtime.settings.media_dir.rglob("*.*"))


async def test_voice_whose_answer_is_not_audio_keeps_the_media_id(stack):
    media_id = stack.fake.add_media(b"<html>proxy error</html>", content_type="text/html")
    assert (await stack.driver.push(stack.driver.voice_xml("wangfang", media_id))).final == 200
    assert rows(stack)[0].media_ref == f"wecom:{media_id}"


async def test_image_link_and_events(stack):
    d = stack.driver
    await d.push(d.image_xml("wangfang", "IMG_1", pic_url="https://wework.qpic.cn/p/9"))
    await d.push(d.link_xml("wangfang", "华康医疗招标公告", "第二期采购", "https://example.com/t/1"))
    await d.push(d.event_xml("wangfang", "enter_agent", create_time=1700000000))
    await d.push(d.event_xml("wangfang", "enter_agent", create_time=1700000000))  # WeCom's retry
    await d.push(d.event_xml("wangfang", "enter_agent", create_time=1700000100))  # a new visit
    image, link, event1, event2 = rows(stack)
    assert (image.kind, image.media_ref, image.text) == ("image", "wecom:IMG_1", "https://wework.qpic.cn/p/9")
    assert (link.kind, link.text) == ("link", "华康医疗招标公告\n第二期采购\nhttps://example.com/t/1")
    assert (event1.kind, event1.text, event2.kind) == ("event", "enter_agent", "event")
    assert event1.msg_id != event2.msg_id


async def test_card_click_raw_fields_single_and_list_selected_items(stack):
    d = stack.driver
    await d.push(d.card_click_xml("wangfang", event_key="confirm:12", task_id="genjin_5_0", response_code="RC1",
                                  selected={"q1": ["o1"]}, create_time=1700000000))
    await d.push(d.card_click_xml("wangfang", event_key="genjin_tag_submit", task_id="genjin_5_0",
                                  response_code="RC2", selected={"genjin_tags": ["tag:12:要报价"], "q2": ["a", "b"]},
                                  create_time=1700000001))
    confirm, toggle = rows(stack)
    assert (confirm.kind, confirm.text) == ("card_action", "confirm:12")
    assert (toggle.kind, toggle.text) == ("card_action", "tag:12:要报价")  # the dropdown's chosen tag
    assert "<ResponseCode><![CDATA[RC2]]></ResponseCode>" in toggle.raw


async def test_unknown_message_types_are_kept(stack):
    xml = (f"<xml>{stack.driver._head('wangfang', 'video', None)}<MediaId><![CDATA[V1]]></MediaId>"
           "<MsgId>31</MsgId></xml>")
    assert (await stack.driver.push(xml)).final == 200
    [row] = rows(stack)
    assert (row.kind, row.text, row.msg_id) == ("event", "message:video", "31")


# ---------------------------------------------------------------- WeCom's retries


async def test_replays_and_concurrent_retries_store_one_row(db_url, tmp_path):
    async with wecom_stack(db_url, tmp_path / "var") as st:
        query, body = st.driver.envelope(st.driver.text_xml("wangfang", "报价单发我一份", msg_id="9001"))
        results = await asyncio.gather(*(st.driver.post_raw(query, body) for _ in range(8)))
        assert [r.final for r in results] == [200] * 8
        click = st.driver.card_click_xml("wangfang", event_key="confirm:1", task_id="t1", response_code="RC",
                                         create_time=1700000000)
        for _ in range(3):
            assert (await st.driver.push(click)).final == 200
        assert [(r.kind, r.msg_id) for r in rows(st)][0] == ("text", "9001")
        assert len(rows(st)) == 2


async def test_retry_after_a_slow_answer_is_a_no_op(tmp_path, sqlite_url):
    # WeCom gives up on an answer after 5 s (here 1 s: the retry must answer within it even on a loaded
    # machine; 0.3 s failed there), drops the connection and pushes again.
    async with wecom_stack(sqlite_url, tmp_path / "var", answer_timeout=1.0) as st:
        make_org(st.runtime.engine)
        media_id = st.fake.add_media(AMR)
        st.fake.delay("/cgi-bin/media/get", 2.5, times=1)  # only the first try is slow
        delivery = await st.driver.push(st.driver.voice_xml("wangfang", media_id, msg_id="4242"))
        assert delivery.statuses == [None, 200]
        await asyncio.sleep(3.0)  # the abandoned first try still finishes on the server
        [row] = rows(st)
        assert row.msg_id == "4242" and row.media_ref and row.media_ref.endswith(".amr")
        assert len(st.fake.calls_to("/cgi-bin/media/get")) == 2
        # And a third push of the same message, after the row exists, does not even download.
        assert (await st.driver.push(st.driver.voice_xml("wangfang", media_id, msg_id="4242"))).final == 200
        assert len(st.fake.calls_to("/cgi-bin/media/get")) == 2
        assert len(rows(st)) == 1


async def test_no_durable_row_means_no_ack_and_the_retry_lands(stack, monkeypatch):
    writer = stack.server.app.router  # the adapter's writer is reached through the route handler
    adapter = next(r.handler.__self__ for r in writer.routes() if getattr(r.handler, "__name__", "") == "receive")
    real = adapter.writer._write
    calls = {"n": 0}

    def down_once(batch):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("database is locked")
        return real(batch)

    monkeypatch.setattr(adapter.writer, "_write", down_once)
    xml = stack.driver.text_xml("wangfang", "数据库抖了一下", msg_id="5150")
    assert (await stack.driver.push(xml)).final == 500  # WeCom keeps it and pushes again
    assert rows(stack) == []
    assert (await stack.driver.push(xml)).final == 200
    assert [r.msg_id for r in rows(stack)] == ["5150"]


def test_an_encoding_aes_key_that_is_not_one_stops_the_start(tmp_path, sqlite_url):
    from bot.app import build_runtime, build_web_app
    from bot.config import Settings, WeComSettings

    config = WeComSettings(corp_id="ww1", agent_id=1, secret="s", token="t", encoding_aes_key="!" * 43)
    runtime = build_runtime(Settings(database_url=sqlite_url, data_dir=tmp_path / "var", wecom=config),
                            clock=system_clock)
    with pytest.raises(SystemExit, match="encoding_aes_key"):
        build_web_app(runtime, background=False)


@pytest.mark.parametrize("xml", [
    pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    pytest.param(XXE, id="xxe"),
    pytest.param(b'<!DOCTYPE xml SYSTEM "http://169.254.169.254/latest"><xml><Encrypt>x</Encrypt></xml>',
                 id="external-dtd"),
    pytest.param(b"<!DOCTYPE xml><xml><Encrypt>x</Encrypt></xml>", id="bare-doctype"),
    pytest.param(b'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><xml/>', id="utf16-claim"),
])
def test_doctype_and_entities_are_refused_before_expansion(xml):
    with pytest.raises(Rejected) as err:
        parse_xml(xml)
    assert (err.value.status, err.value.reason) == (400, "xml_entities_forbidden")


async def test_doctype_text_inside_a_message_is_just_text(stack):
    content = '<!DOCTYPE x [<!ENTITY a "b">]> 客户发来的一段 XML'
    assert (await stack.driver.push(stack.driver.text_xml("wangfang", content))).final == 200
    assert rows(stack)[0].text == content
