"""The WeCom API client against the fake: one shared token, refreshed before expiry and once on
40014/42001 however many calls notice at the same time; media errors come back as JSON."""

from __future__ import annotations

import asyncio

import pytest

from bot.platforms.wecom.api import WeComApi, WeComError, WeComHTTPError
from tests.fakes.wecom import FakeWeCom


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def fake():
    server = await FakeWeCom().start()
    yield server
    await server.close()


@pytest.fixture
async def api(fake):
    client = WeComApi(corp_id=fake.corp_id, secret=fake.secret, agent_id=fake.agent_id, api_base=fake.url)
    yield client
    await client.close()


async def test_one_token_is_shared_by_concurrent_calls(fake, api):
    await asyncio.gather(*(api.send_text("wangfang", f"第{i}条") for i in range(20)))
    assert len(fake.calls_to("/cgi-bin/gettoken")) == 1
    assert len(fake.sent_to("wangfang", "text")) == 20
    assert {c.query["access_token"] for c in fake.calls_to("/cgi-bin/message/send")} == {api._token}


async def test_token_is_refreshed_before_it_expires(fake):
    clock = Clock()
    client = WeComApi(corp_id=fake.corp_id, secret=fake.secret, agent_id=fake.agent_id, api_base=fake.url,
                      clock=clock, refresh_margin=300)
    try:
        await client.send_text("wangfang", "一")
        clock.t += 7200 - 310  # still valid, and more than the margin left
        await client.send_text("wangfang", "二")
        assert len(fake.calls_to("/cgi-bin/gettoken")) == 1
        clock.t += 20  # now inside the last 5 minutes: refresh ahead of expiry
        await client.send_text("wangfang", "三")
        assert len(fake.calls_to("/cgi-bin/gettoken")) == 2
    finally:
        await client.close()


@pytest.mark.parametrize("how", ["expired", "invalid"])
async def test_rejected_token_is_refreshed_once_for_all_waiting_calls(fake, api, how):
    await api.send_text("wangfang", "预热")
    if how == "expired":
        fake.expire_tokens()  # WeCom answers 42001
    else:
        fake._tokens.clear()  # WeCom answers 40014 (e.g. the secret was reset in the console)
    await asyncio.gather(*(api.send_text("wangfang", f"第{i}条") for i in range(10)))
    assert len(fake.calls_to("/cgi-bin/gettoken")) == 2  # one refresh, not ten
    assert len(fake.sent_to("wangfang", "text")) == 11


async def test_other_errors_are_raised_with_their_code(fake, api):
    fake.fail_next("/cgi-bin/message/send", 45009, "api freq out of limit")
    with pytest.raises(WeComError) as err:
        await api.send_text("wangfang", "一")
    assert err.value.errcode == 45009
    assert len(fake.calls_to("/cgi-bin/gettoken")) == 1  # not a token problem: no refresh


async def test_bad_credentials_and_invalid_user(fake):
    client = WeComApi(corp_id=fake.corp_id, secret="wrong", agent_id=fake.agent_id, api_base=fake.url)
    try:
        with pytest.raises(WeComError) as err:
            await client.send_text("wangfang", "一")
        assert err.value.errcode == 40001
    finally:
        await client.close()
    fake.users = {"wangfang"}
    client = WeComApi(corp_id=fake.corp_id, secret=fake.secret, agent_id=fake.agent_id, api_base=fake.url)
    try:
        with pytest.raises(WeComError) as err:
            await client.send_text("nobody", "一")
        assert err.value.errcode == 81013
    finally:
        await client.close()


async def test_media_get_returns_bytes_or_a_json_error(fake, api):
    audio = b"#!AMR\n" + b"\x01" * 500
    media_id = fake.add_media(audio)
    data, ctype = await api.get_media(media_id, max_bytes=10_000)
    assert data == audio and ctype == "audio/amr"
    with pytest.raises(WeComError) as err:
        await api.get_media("NO_SUCH_MEDIA", max_bytes=10_000)
    assert err.value.errcode == 40007
    fake.advance(3 * 24 * 3600 + 60)  # media ids expire after three days
    fake._tokens.clear()
    with pytest.raises(WeComError) as err:
        await api.get_media(media_id, max_bytes=10_000)
    assert err.value.errcode == 40007
    with pytest.raises(WeComError):
        await api.get_media(fake.add_media(audio), max_bytes=100)  # over our own cap


async def test_media_get_refreshes_a_rejected_token(fake, api):
    media_id = fake.add_media(b"#!AMR\nabc")
    await api.access_token()
    fake.expire_tokens()
    data, _ = await api.get_media(media_id, max_bytes=100)
    assert data == b"#!AMR\nabc"
    assert len(fake.calls_to("/cgi-bin/gettoken")) == 2


async def test_http_failures_are_transport_errors(fake):
    client = WeComApi(corp_id=fake.corp_id, secret=fake.secret, agent_id=fake.agent_id,
                      api_base=fake.url + "/nowhere")
    try:
        with pytest.raises(WeComHTTPError):
            await client.send_text("wangfang", "一")
    finally:
        await client.close()


async def test_update_template_card_consumes_the_response_code_once(fake, api):
    card = {"card_type": "button_interaction", "main_title": {"title": "t"}, "task_id": "genjin_1_0",
            "button_list": [{"type": 0, "text": "确认", "style": 1, "key": "confirm:1"}]}
    sent = await api.send_template_card("wangfang", card)
    code = fake.click("wangfang", "genjin_1_0")
    await api.update_template_card("wangfang", code, {**card, "task_id": "genjin_2_0"})
    with pytest.raises(WeComError):
        await api.update_template_card("wangfang", code, {**card, "task_id": "genjin_3_0"})
    assert sent["response_code"] and len(fake.updates) == 1


async def test_media_larger_than_one_read_arrives_whole(fake, api):
    audio = b"#!AMR\n" + bytes(range(256)) * 4000  # ~1 MB: many socket reads
    data, _ = await api.get_media(fake.add_media(audio), max_bytes=2_000_000)
    assert data == audio
