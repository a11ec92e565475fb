"""DingTalkDeliverer and DingTalkApi against the fake: which channel, which errors are permanent, tokens."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import system_clock
from bot.models import Button, Card
from bot.pipeline.outbox import PermanentDeliveryError
from bot.platforms.dingtalk.api import DingTalkApi, DingTalkError
from bot.platforms.dingtalk.deliverer import DingTalkDeliverer, FlowControlled
from store.db import make_engine, session_scope
from store.inbox import insert_inbound
from store.models import OutboxMessage
from store.outbox import enqueue_outbox
from tests.factories import T0
from tests.fakes.dingtalk import FakeDingTalk

REP = "wangfang01"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    server = await FakeDingTalk().start()
    yield server
    await server.close()


@pytest.fixture
async def api(fake: FakeDingTalk) -> AsyncIterator[DingTalkApi]:
    client = DingTalkApi(client_id=fake.client_id, client_secret=fake.client_secret, robot_code=fake.client_id,
                         api_base=fake.base_url)
    yield client
    await client.close()


@pytest.fixture
def db(sqlite_url: str) -> Engine:
    return make_engine(sqlite_url)


def heard(engine: Engine, fake: FakeDingTalk, *, chat: str | None = None, ttl_ms: int = 3_600_000,
          msg_id: str = "m1") -> str:
    """The rep wrote to the robot: an inbox row whose raw payload carries a sessionWebhook."""
    webhook, expires = fake.new_session(ttl_ms)
    raw = json.dumps({"sessionWebhook": webhook, "sessionWebhookExpiredTime": expires})
    with session_scope(engine) as s:
        insert_inbound(session=s, platform="dingtalk", msg_id=msg_id, sender=REP, kind="text", chat=chat,
                       text="hi", raw=raw, at=T0)
    return webhook


def outbox(engine: Engine, *, text: str | None = None, card: Card | None = None, chat: str | None = None,
           recipient: str = REP) -> OutboxMessage:
    payload = {"card": card.model_dump()} if card else {"text": text}
    with session_scope(engine) as s:
        oid = enqueue_outbox(session=s, platform="dingtalk", recipient=recipient, chat=chat,
                             kind="card" if card else "text", payload=payload, at=T0)
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(OutboxMessage, oid)
        assert row is not None
        return row


async def test_reply_uses_the_session_webhook_while_valid(fake, api, db):
    heard(db, fake)
    await DingTalkDeliverer(api, db, system_clock).deliver(outbox(db, text="收到"))
    assert [(m.via, m.body["text"]["content"]) for m in fake.sent] == [("webhook", "收到")]
    assert api.token_fetches == 0  # the webhook needs no token


async def test_expired_or_refused_webhook_falls_back_to_batch_send(fake, api, db):
    heard(db, fake, ttl_ms=30_000)  # expires within the safety margin
    deliverer = DingTalkDeliverer(api, db, system_clock)
    await deliverer.deliver(outbox(db, text="一"))
    heard(db, fake, msg_id="m2")
    fake._sessions.clear()  # DingTalk forgot the session early: errcode answer
    await deliverer.deliver(outbox(db, text="二"))
    assert [(m.via, m.to, m.body["content"]) for m in fake.sent] == [("batch", REP, "一"), ("batch", REP, "二")]
    assert fake.sent[0].body["msgKey"] == "sampleText"


async def test_group_replies_at_the_sender_then_use_group_send(fake, api, db):
    heard(db, fake, chat="cidG")
    deliverer = DingTalkDeliverer(api, db, system_clock)
    await deliverer.deliver(outbox(db, text="组内回复", chat="cidG"))
    later = DingTalkDeliverer(api, db, lambda: system_clock() + timedelta(hours=2))
    await later.deliver(outbox(db, text="两小时后", chat="cidG"))
    first, second = fake.sent
    assert first.via == "webhook" and first.body["at"] == {"atUserIds": [REP]}
    assert (second.via, second.chat, second.body["content"]) == ("group", "cidG", "两小时后")


async def test_invalid_user_is_permanent_flow_control_is_retried(fake, api, db):
    fake.invalid_users.add("left-company")
    fake.flow_controlled.add(REP)
    deliverer = DingTalkDeliverer(api, db, system_clock)
    with pytest.raises(PermanentDeliveryError):
        await deliverer.deliver(outbox(db, text="提醒", recipient="left-company"))
    with pytest.raises(FlowControlled):
        await deliverer.deliver(outbox(db, text="提醒"))
    assert fake.sent == []


async def test_bad_request_is_permanent(fake, db):
    wrong = DingTalkApi(client_id=fake.client_id, client_secret=fake.client_secret, robot_code="not-our-robot",
                        api_base=fake.base_url)
    with pytest.raises(PermanentDeliveryError):
        await DingTalkDeliverer(wrong, db, system_clock).deliver(outbox(db, text="x"))
    await wrong.close()


async def test_token_is_cached_and_replaced_once_when_rejected(fake, api, db):
    deliverer = DingTalkDeliverer(api, db, system_clock)
    for text in ("一", "二", "三"):
        await deliverer.deliver(outbox(db, text=text))
    assert api.token_fetches == 1
    fake.revoke_tokens()
    await deliverer.deliver(outbox(db, text="四"))
    assert api.token_fetches == 2 and len(fake.sent) == 4


async def test_card_resend_of_the_same_row_shows_one_card(fake, api, db):
    card = Card(title="请确认跟进记录", buttons=[Button(label="确认", action="confirm:1", style="primary")])
    row = outbox(db, card=card)
    deliverer = DingTalkDeliverer(api, db, system_clock)
    await deliverer.deliver(row)
    await deliverer.deliver(row)  # a retry after a lost answer
    assert [m.via for m in fake.sent] == ["card"] and fake.sent[0].to == REP
    assert list(fake.cards) == [f"genjin-{row.id}"]


async def test_card_without_buttons_is_markdown(fake, api, db):
    heard(db, fake)
    await DingTalkDeliverer(api, db, system_clock).deliver(outbox(db, card=Card(title="周报", notes=["本周新增 3 条"])))
    [sent] = fake.sent
    assert sent.via == "webhook" and sent.body["msgtype"] == "markdown"
    assert "本周新增 3 条" in sent.body["markdown"]["text"]


async def test_download_checks_size(fake, api):
    fake.files["big"] = b"x" * 2048
    assert await api.download("big", max_bytes=4096) == b"x" * 2048
    with pytest.raises(DingTalkError):
        await api.download("big", max_bytes=1024)
    with pytest.raises(DingTalkError):
        await api.download("missing", max_bytes=1024)
