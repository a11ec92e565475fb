"""Pushes follow ownership: after 转给 the pre-visit card (phone, amount, notes) goes to the new
owner, never to the former one, who can no longer open the customer; a push queued before the
transfer is cancelled at send time; a released customer's visits are cancelled."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from bot.app import build_runtime
from scheduler.setup import run_sweeps
from store.models import Customer, OutboxMessage, OutboxStatus, Visit
from tests.factories import make_org
from tests.harness import ChatDriver

TZ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def bot(settings, engine, clock):
    driver = ChatDriver(build_runtime(settings, clock=clock, engine=engine))
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    clock.now = local(2026, 11, 16, 10)
    driver.reply_to("rep-a", "和万通物流的朱总聊了，他觉得价格太贵，要我们重新报价，电话13912345678")
    driver.reply_to("rep-a", "拜访 朱总 明天下午3点 谈报价")
    return driver


def customer_id(bot) -> int:
    with Session(bot.runtime.engine) as s:
        return s.exec(select(Customer.id)).one()


async def deliver(bot, clock, at: datetime) -> list[OutboxMessage]:
    """Sweep at `at`, run the sender, and return the pre-visit rows with their final status."""
    clock.now = at
    run_sweeps(bot.runtime.engine, bot.runtime.settings, at)
    await bot.runtime.sender.run_once()
    with Session(bot.runtime.engine) as s:
        rows = s.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "card")
                      .order_by(col(OutboxMessage.id))).all()
    return [r for r in rows if r.payload["card"]["title"].startswith("拜访提醒")]


async def test_after_a_transfer_the_previsit_card_goes_to_the_new_owner(bot, clock):
    cid = customer_id(bot)
    out = bot.send("sup", f"转给 #{cid} 李明")
    assert [m.text for m in out if m.recipient == "rep-a"] == [
        "【客户转交】陈主管 已把 朱总 转给 李明，已预约的 1 次拜访也一并转交。"]
    assert any("1 次拜访转到你名下" in (m.text or "") for m in out if m.recipient == "rep-b")
    with Session(bot.runtime.engine) as s:
        assert s.exec(select(Visit.rep_id)).one() == bot.org.rep_b.id

    [card] = await deliver(bot, clock, local(2026, 11, 17, 14, 45))
    assert (card.recipient, card.status) == ("rep-b", OutboxStatus.SENT)
    assert card.customer_id == cid and "13912345678" in str(card.payload)


async def test_a_card_queued_before_the_transfer_is_cancelled_and_the_new_owner_gets_one(bot, clock):
    cid = customer_id(bot)
    clock.now = local(2026, 11, 17, 14, 45)
    run_sweeps(bot.runtime.engine, bot.runtime.settings, clock.now)  # queued for 王芳, not yet sent
    bot.send("sup", f"转给 #{cid} 李明")
    cards = await deliver(bot, clock, local(2026, 11, 17, 14, 46))
    assert [(c.recipient, c.status) for c in cards] == [("rep-a", OutboxStatus.CANCELLED),
                                                        ("rep-b", OutboxStatus.SENT)]
    assert await deliver(bot, clock, local(2026, 11, 17, 14, 50)) == cards  # once each


async def test_a_released_customers_visit_is_cancelled(bot, clock):
    cid = customer_id(bot)
    assert bot.reply_to("rep-a", f"退回 #{cid} 暂无预算").text.endswith("已预约的 1 次拜访已取消。")
    assert await deliver(bot, clock, local(2026, 11, 17, 14, 45)) == []
    with Session(bot.runtime.engine) as s:
        assert s.exec(select(Visit.status)).one() == "cancelled"
