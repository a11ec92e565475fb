"""WeCom's replay window: a callback (or URL check) whose signed timestamp is further from the bot's
injected clock than `wecom.replay_window_seconds` gets 403 and stores nothing; a timestamp that is
not a number gets 400. The signature is valid in every case: only the window refuses them."""

from __future__ import annotations

import pytest

from bot.config import WeComSettings
from tests.edge_support import edge_app, text_xml

WINDOW = 300  # the default: five minutes


@pytest.fixture
async def edge(sqlite_url, tmp_path, clock):
    async with edge_app(sqlite_url, tmp_path, clock) as e:
        yield e


def test_the_default_window_is_five_minutes():
    config = WeComSettings(corp_id="ww1", agent_id=1, secret="s", token="t", encoding_aes_key="a" * 43)
    assert config.replay_window_seconds == WINDOW


async def post_at(edge, offset: int | None, msg_id: str, *, timestamp: str | None = None) -> int:
    now = int(edge.clock().timestamp())
    stamp = timestamp if timestamp is not None else str(now + (offset or 0))
    query, body = edge.signed_callback(text_xml("wangfang", "你好", msg_id, now), timestamp=stamp)
    r = await edge.client.post("/wecom/callback", params=query, data=body)
    await r.read()
    return r.status


@pytest.mark.parametrize("offset", [-86_400, -(WINDOW + 1), WINDOW + 1, 86_400], ids=["a-day-old", "just-too-old",
                                                                                     "just-too-new", "a-day-ahead"])
async def test_outside_the_window_is_403_and_stores_nothing(edge, offset):
    assert await post_at(edge, offset, "4001") == 403
    assert edge.inbox() == []


@pytest.mark.parametrize("offset", [-WINDOW, 0, WINDOW], ids=["edge-past", "now", "edge-future"])
async def test_inside_the_window_including_its_edges_is_stored(edge, offset):
    assert await post_at(edge, offset, "4002") == 200
    assert [r.msg_id for r in edge.inbox()] == ["4002"]


@pytest.mark.parametrize("stamp", ["abc", "-5", "1.7e9", "", " 1700000000", "١٧٠٠٠٠٠٠٠٠", "9" * 5000])
async def test_a_timestamp_that_is_not_a_number_is_400(edge, stamp):
    assert await post_at(edge, None, "4003", timestamp=stamp) == 400
    assert edge.inbox() == []


async def test_the_window_follows_the_injected_clock_and_the_setting(sqlite_url, tmp_path, clock):
    # With a 60 s window a two-minute-old signature is refused; a message signed at the clock's "now"
    # is accepted however far the real date is from it.
    config = WeComSettings(corp_id="wwedgecorp0001", agent_id=1000002, secret="unused", token="edgeToken",
                           encoding_aes_key="A" * 43, api_base="http://127.0.0.1:9", replay_window_seconds=60)
    async with edge_app(sqlite_url, tmp_path, clock, wecom=config) as edge:
        assert await post_at(edge, -120, "4004") == 403
        assert await post_at(edge, -60, "4005") == 200
        clock.now = clock.now.replace(year=2031)  # years ahead of any real date
        assert await post_at(edge, 0, "4006") == 200
        assert [r.msg_id for r in edge.inbox()] == ["4005", "4006"]


@pytest.mark.parametrize("offset, status", [(-86_400, 403), (WINDOW + 1, 403), (-WINDOW, 200), (0, 200)])
async def test_url_verification_has_the_same_window(edge, offset, status):
    stamp = str(int(edge.clock().timestamp()) + offset)
    r = await edge.client.get("/wecom/callback", params=edge.signed_verify("echo-123", timestamp=stamp))
    assert r.status == status
    assert (await r.text()) == ("echo-123" if status == 200 else "")


@pytest.mark.parametrize("stamp", ["abc", "", "1e9"])
async def test_url_verification_with_a_bad_timestamp_is_400(edge, stamp):
    r = await edge.client.get("/wecom/callback", params=edge.signed_verify("echo-123", timestamp=stamp))
    assert r.status == 400
