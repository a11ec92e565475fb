"""Outbox rows through the WeCom deliverer to the fake: what WeCom receives, what is retried, what
fails for good (visibly), that WeCom's per-member limit never silently eats a push, and that a
message re-sent after a crash between send and mark is shown once (WeCom's duplicate check, the
card's task_id)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bot.pipeline.outbox import OutboxSender
from bot.platforms.wecom.api import WeComApi, WeComError
from bot.platforms.wecom.deliverer import WeComDeliverer, split_text
from store.db import session_scope
from store.inbox import insert_inbound
from store.models import OutboxMessage, OutboxStatus
from store.outbox import claim_next_outbox, enqueue_outbox
from tests.factories import T0
from tests.fakes.wecom import FakeWeCom, WeComCallbackDriver, _check_card
from tests.test_wecom_cards import followup_card, small_card


@pytest.fixture
async def fake():
    server = await FakeWeCom(users={"wangfang", "liming"}).start()
    yield server
    await server.close()


@pytest.fixture
async def sender(fake, engine, clock):
    api = WeComApi(corp_id=fake.corp_id, secret=fake.secret, agent_id=fake.agent_id, api_base=fake.url)
    yield OutboxSender(engine, {"wecom": WeComDeliverer(api, engine, clock)}, max_attempts=3, clock=clock)
    await api.close()


def queue(engine, recipient: str, *payloads: dict) -> list[int]:
    with session_scope(engine) as s:
        return [enqueue_outbox(session=s, platform="wecom", recipient=recipient,
                               kind="card" if "card" in p else "text", payload=p, at=T0) or 0 for p in payloads]


def outbox(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


async def test_text_and_card_reach_the_member(fake, sender, engine):
    queue(engine, "wangfang", {"text": "明天 10:00 拜访许总"}, {"card": followup_card().model_dump()})
    assert await sender.run_once() == 2
    [text] = fake.sent_to("wangfang", "text")
    assert text["text"] == {"content": "明天 10:00 拜访许总"}
    [card] = fake.sent_to("wangfang", "template_card")
    assert card["template_card"]["card_type"] == "button_interaction"
    assert card["template_card"]["task_id"].startswith(f"genjin_{outbox(engine)[1].id}_")
    assert [r.status for r in outbox(engine)] == ["sent", "sent"]


async def test_card_without_buttons_goes_as_markdown(fake, sender, engine):
    queue(engine, "wangfang", {"card": {"title": "本周小结", "fields": [{"label": "跟进", "value": "12 次"}]}})
    await sender.run_once()
    [md] = fake.sent_to("wangfang", "markdown")
    assert md["markdown"]["content"] == "**本周小结**\n跟进：12 次"


async def test_long_text_is_split_never_truncated(fake, sender, engine):
    lines = [f"第{i}条：许志强 华康医疗器械 报价跟进，周四上午答复，金额四十三万" for i in range(80)]
    queue(engine, "wangfang", {"text": "\n".join(lines)})
    await sender.run_once()
    sent = fake.sent_to("wangfang", "text")
    assert len(sent) > 1 and not any(m.get("truncated") for m in sent)
    assert "\n".join(m["text"]["content"] for m in sent).splitlines() == lines


def test_split_text_edges():
    assert split_text("短") == ["短"]
    one_line = "价" * 1500  # 4500 bytes, no line breaks
    parts = split_text(one_line)
    assert "".join(parts) == one_line and all(len(p.encode()) <= 2048 for p in parts)


async def test_refusal_about_the_recipient_fails_for_good_and_stays_visible(fake, sender, engine):
    queue(engine, "left-the-company", {"text": "提醒"})
    await sender.run_once()
    [row] = outbox(engine)
    assert row.status == OutboxStatus.FAILED
    assert "81013" in (row.last_error or "")
    assert fake.sent == []


async def test_busy_wecom_is_retried_with_backoff(fake, sender, engine, clock):
    fake.fail_next("/cgi-bin/message/send", -1, "system busy")
    queue(engine, "wangfang", {"text": "提醒"})
    await sender.run_once()
    [row] = outbox(engine)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert "-1" in (row.last_error or "") and row.next_attempt_at is not None and row.next_attempt_at > clock()
    await sender.run_once()
    assert fake.sent == []  # not before the backoff
    clock.now += timedelta(seconds=6)
    await sender.run_once()
    assert [m["text"]["content"] for m in fake.sent] == ["提醒"]
    assert outbox(engine)[0].status == OutboxStatus.SENT


async def test_an_untrusted_ip_is_retried_then_recorded(fake, sender, engine, clock):
    fake.fail_next("/cgi-bin/message/send", 60020, "not allow to access from your ip", times=5)
    queue(engine, "wangfang", {"text": "提醒"})
    for _ in range(3):
        await sender.run_once()
        clock.now += timedelta(minutes=10)
    [row] = outbox(engine)
    assert row.status == OutboxStatus.FAILED and "60020" in (row.last_error or "")


async def test_wecom_limit_is_never_exceeded_and_nothing_is_lost(fake, sender, engine, clock):
    texts = [f"提醒 {i}：跟进客户{i}" for i in range(45)]
    queue(engine, "wangfang", *({"text": t} for t in texts))
    for _ in range(60):  # two minutes of sender ticks, both clocks moving together
        await sender.run_once()
        clock.now += timedelta(seconds=2)
        fake.advance(2)
    assert fake.dropped == []  # WeCom would have silently dropped anything over 30/min
    delivered = "\n".join(m["text"]["content"] for m in fake.sent_to("wangfang"))
    assert all(t in delivered for t in texts)  # sent on its own or folded into a digest
    assert {r.status for r in outbox(engine)} <= {OutboxStatus.SENT, OutboxStatus.MERGED}


async def _click_row(engine, fake: FakeWeCom, user: str, action: str, task_id: str) -> str:
    code = fake.click(user, task_id)
    driver = WeComCallbackDriver("http://unused", token="t", aes_key="A" * 43, corp_id=fake.corp_id)
    raw = driver.card_click_xml(user, event_key=action, task_id=task_id, response_code=code)
    with session_scope(engine) as s:
        insert_inbound(session=s, platform="wecom", msg_id=f"ev-{code}", sender=user, kind="card_action",
                       text=action, raw=raw, at=T0)
    return code


async def test_answer_to_a_click_replaces_the_clicked_card(fake, sender, engine):
    queue(engine, "wangfang", {"card": small_card().model_dump()})
    await sender.run_once()
    task_id = fake.sent_to("wangfang", "template_card")[0]["template_card"]["task_id"]
    await _click_row(engine, fake, "wangfang", "tag:7:要演示", task_id)
    queue(engine, "wangfang", {"card": small_card().model_dump()})  # the handler's refreshed card
    await sender.run_once()
    assert len(fake.sent_to("wangfang", "template_card")) == 1  # no second card stacked below
    [update] = fake.updates
    assert update["replaces_task_id"] == task_id and _check_card(update["template_card"], set()) is None


async def test_update_refused_falls_back_to_a_new_card(fake, sender, engine):
    queue(engine, "wangfang", {"card": small_card().model_dump()})
    await sender.run_once()
    task_id = fake.sent_to("wangfang", "template_card")[0]["template_card"]["task_id"]
    code = await _click_row(engine, fake, "wangfang", "tag:7:要演示", task_id)
    fake._codes[code]["used"] = True  # e.g. already consumed, or older than 72 h
    queue(engine, "wangfang", {"card": small_card().model_dump()})
    await sender.run_once()
    assert len(fake.sent_to("wangfang", "template_card")) == 2 and fake.updates == []


async def test_card_for_another_record_is_not_an_update(fake, sender, engine):
    queue(engine, "wangfang", {"card": small_card().model_dump()})
    await sender.run_once()
    task_id = fake.sent_to("wangfang", "template_card")[0]["template_card"]["task_id"]
    await _click_row(engine, fake, "wangfang", "dup_new", task_id)
    queue(engine, "wangfang", {"card": followup_card().model_dump()})
    await sender.run_once()
    assert len(fake.sent_to("wangfang", "template_card")) == 2 and fake.updates == []


# ---------------------------------------------------------------- exactly once: WeCom's own idempotency


def send_bodies(fake: FakeWeCom) -> list[dict]:
    return [c.body for c in fake.calls_to("/cgi-bin/message/send")]


async def test_every_send_asks_for_the_duplicate_check(fake, sender, engine):
    queue(engine, "wangfang", {"text": "提醒"}, {"card": followup_card().model_dump()},
          {"card": {"title": "本周小结", "fields": [{"label": "跟进", "value": "12 次"}]}})
    assert await sender.run_once() == 3
    bodies = send_bodies(fake)
    assert sorted(b["msgtype"] for b in bodies) == ["markdown", "template_card", "text"]
    assert all(b["enable_duplicate_check"] == 1 and b["duplicate_check_interval"] == 1800 for b in bodies)


async def crash_after_send(engine, clock, deliverer: WeComDeliverer) -> None:
    """A sender claims the row, WeCom takes the message, and the process dies before the mark."""
    with Session(engine, expire_on_commit=False) as s:
        row = claim_next_outbox(session=s, lease=timedelta(seconds=60), now=clock())
    assert row is not None
    await deliverer.deliver(row)


async def test_text_resent_after_a_crash_is_absorbed_by_the_duplicate_check(fake, sender, engine, clock):
    queue(engine, "wangfang", {"text": "明天 10:00 拜访许总"})
    await crash_after_send(engine, clock, sender.deliverers["wecom"])
    assert await sender.run_once() == 0  # the dead sender's lease still holds the row
    clock.now += timedelta(seconds=61)
    fake.advance(61)
    assert await sender.run_once() == 1
    assert [m["text"]["content"] for m in fake.sent] == ["明天 10:00 拜访许总"]
    assert len(fake.absorbed) == 1  # the re-send reached WeCom, which did not show it again
    assert [(r.status, r.attempts) for r in outbox(engine)] == [(OutboxStatus.SENT, 2)]


@pytest.mark.parametrize("later", [61, 2 * 3600])
async def test_card_resent_after_a_crash_is_delivered_once(fake, sender, engine, clock, later):
    queue(engine, "wangfang", {"card": followup_card().model_dump()})
    await crash_after_send(engine, clock, sender.deliverers["wecom"])
    clock.now += timedelta(seconds=later)
    fake.advance(later)  # within the duplicate window: absorbed; after it: its task_id is refused (40058)
    assert await sender.run_once() == 1
    assert len(fake.sent_to("wangfang", "template_card")) == 1
    assert [r.status for r in outbox(engine)] == [OutboxStatus.SENT]
    assert len(fake.absorbed) == (1 if later < 1800 else 0)


async def test_40058_on_a_first_attempt_is_a_bad_card_not_a_delivery(fake, sender, engine):
    fake.fail_next("/cgi-bin/message/send", 40058, "invalid parameter")
    queue(engine, "wangfang", {"card": followup_card().model_dump()})
    await sender.run_once()
    [row] = outbox(engine)
    assert row.status == OutboxStatus.FAILED and "40058" in (row.last_error or "")


async def test_the_same_text_twice_is_shown_twice(fake, engine, clock):
    api = WeComApi(corp_id=fake.corp_id, secret=fake.secret, agent_id=fake.agent_id, api_base=fake.url)
    sender = OutboxSender(engine, {"wecom": WeComDeliverer(api, engine, clock=clock)}, clock=clock)
    try:
        queue(engine, "wangfang", {"text": "帮助：发送聊天记录即可记录跟进"})
        await sender.run_once()
        queue(engine, "wangfang", {"text": "帮助：发送聊天记录即可记录跟进"})  # the rep asked again
        await sender.run_once()
    finally:
        await api.close()
    shown = [m["text"]["content"] for m in fake.sent_to("wangfang")]
    assert len(shown) == 2 and fake.absorbed == []
    assert [s.rstrip("\u200b") for s in shown] == ["帮助：发送聊天记录即可记录跟进"] * 2


async def test_fake_wecom_duplicate_check_is_faithful(fake):
    api = WeComApi(corp_id=fake.corp_id, secret=fake.secret, agent_id=fake.agent_id, api_base=fake.url,
                   duplicate_check_seconds=600)
    try:
        first = await api.send_text("wangfang", "同一条")
        assert await api.send_text("wangfang", "同一条") == first  # answered as the first, not shown
        assert (len(fake.sent), len(fake.absorbed)) == (1, 1)
        fake.advance(601)
        await api.send_text("wangfang", "同一条")  # outside the window: a new message
        assert (len(fake.sent), len(fake.absorbed)) == (2, 1)
        card = {"card_type": "button_interaction", "main_title": {"title": "t"}, "task_id": "genjin_9_1",
                "button_list": [{"text": "确认", "key": "confirm:9"}]}
        await api.send_template_card("wangfang", card)
        with pytest.raises(WeComError) as refused:  # the same task_id in a different request
            await api.send_template_card("wangfang", {**card, "main_title": {"title": "t2"}})
        assert refused.value.errcode == 40058
    finally:
        await api.close()


async def test_the_same_text_on_two_instances_at_once_is_shown_twice(fake, engine, clock):
    """Two senders deliver two identical rows at the same moment (neither is marked sent yet): each
    must still be made distinct, or WeCom's duplicate check swallows one of them."""
    api = WeComApi(corp_id=fake.corp_id, secret=fake.secret, agent_id=fake.agent_id, api_base=fake.url)
    deliverer = WeComDeliverer(api, engine, clock=clock)
    try:
        queue(engine, "wangfang", {"text": "收到，已记录"}, {"text": "收到，已记录"})
        first, second = outbox(engine)
        await asyncio.gather(deliverer.deliver(second), deliverer.deliver(first))  # both still pending
        await deliverer.deliver(second)  # a re-send after a crash: recognised as the same request
    finally:
        await api.close()
    shown = [m["text"]["content"] for m in fake.sent_to("wangfang")]
    assert len(shown) == 2 and len(set(shown)) == 2
    assert len(fake.absorbed) == 1
