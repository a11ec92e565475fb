"""Pool recycling in time-travel: the owner is warned N-3 days into the idle spell (继续跟进 needs a
real follow-up, 放回公海 gives it back), the customer returns to the 公海 at N with the reason logged,
is claimable by colleagues under the daily cap but not by the rep who had it during the cooling
period, and two sweepers on one database do every step once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_runtime
from bot.config import LeadSettings, RecycleSettings, Settings
from scheduler.recycle import sweep_recycle
from store.customers import create_customer
from store.db import session_scope
from store.models import Customer, LeadAssignment, OutboxMessage, TimelineEvent
from store.stages import Stage
from tests.factories import make_org
from tests.harness import ChatDriver
from tests.instances import on_instances

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 1, 10, tzinfo=TZ)  # the last follow-up


@pytest.fixture
def bot(settings: Settings, engine, clock):
    recycle = RecycleSettings(days={Stage.FIRST_CONTACT: 60}, warn_days_before=3, cooling_days=30)
    runtime = build_runtime(settings.model_copy(update={"recycle": recycle,
                                                        "leads": LeadSettings(pool_daily_claim_cap=2)}),
                            clock=clock, engine=engine)
    driver = ChatDriver(runtime)
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    return driver


def add_customer(bot, name: str, *, stage: str = Stage.FIRST_CONTACT, at: datetime = START) -> int:
    with session_scope(bot.runtime.engine) as s:
        return create_customer(session=s, actor=s.merge(bot.org.rep_a), name=name, stage=stage, at=at).id


def sweep(bot, at: datetime) -> int:
    return sweep_recycle(bot.runtime.engine, bot.runtime.settings, at)


def customer(bot, cid: int) -> Customer:
    with Session(bot.runtime.engine) as s:
        return s.get(Customer, cid)


def events(bot, kind: str) -> list[str]:
    with Session(bot.runtime.engine) as s:
        return [e.summary for e in s.exec(select(TimelineEvent).where(col(TimelineEvent.kind) == kind)
                                          .order_by(col(TimelineEvent.id)))]


def test_warning_at_n_minus_3_then_return_at_n_then_cooling(bot, clock):
    cid = add_customer(bot, "张伟")
    later_stage = add_customer(bot, "李总", stage=Stage.DEMO)  # no recycling configured for 方案演示
    assert sweep(bot, START + timedelta(days=57) - timedelta(minutes=1)) == 0
    assert bot.new_messages() == []
    assert sweep(bot, START + timedelta(days=57)) == 1
    (warning,) = bot.new_messages()
    assert warning.recipient == "rep-a" and warning.card.title == "即将回收公海：张伟"
    assert warning.field("回收时间") == "周六 10月31日 10:00"
    assert events(bot, "recycle_warned") == ["已 57 天没有跟进，提醒 王芳：60 天未跟进将回收公海"]
    assert sweep(bot, START + timedelta(days=58)) == 0  # once per idle spell

    # 继续跟进 alone changes nothing: it tells the rep to send a real record.
    clock.now = START + timedelta(days=58)
    out = bot.tap("rep-a", warning.action("继续跟进"))
    assert "请发送一条真实的跟进记录" in out[0].text
    assert customer(bot, cid).owner_id == bot.org.rep_a.id
    assert customer(bot, cid).last_activity_at == START

    assert sweep(bot, START + timedelta(days=60) - timedelta(minutes=1)) == 0
    assert sweep(bot, START + timedelta(days=60)) == 1
    returned = customer(bot, cid)
    assert returned.owner_id is None and returned.team_id == bot.org.rep_a.team_id
    assert customer(bot, later_stage).owner_id == bot.org.rep_a.id
    with Session(bot.runtime.engine) as s:
        (row,) = s.exec(select(LeadAssignment).where(col(LeadAssignment.kind) == "recycle")).all()
    assert row.reason == "王芳 已 60 天没有跟进（阶段「初步接触」），自动回收到公海"
    assert row.details["previous_owner_id"] == bot.org.rep_a.id
    assert events(bot, "lead_recycle") == [row.reason]
    assert [m.text for m in bot.new_messages()] == ["张伟 已 60 天没有跟进，已回收到公海。"]

    # The rep who had it is in the cooling period; a colleague claims it under the daily cap.
    clock.now = START + timedelta(days=61)
    refused = bot.send("rep-a", f"认领 #{cid}")
    assert "冷静期内不能再次认领" in refused[0].text and "11-30 10:00 后可认领" in refused[0].text
    assert customer(bot, cid).owner_id is None
    taken = bot.send("rep-b", f"认领 #{cid}")
    assert taken[0].text.startswith("已认领 张伟")
    with Session(bot.runtime.engine) as s:
        claim = s.exec(select(LeadAssignment).where(col(LeadAssignment.kind) == "claim")).one()
    assert claim.reason == "李明 从公海认领（今日第 1/2 条）"


def test_a_sweep_down_over_the_warning_day_warns_first_and_returns_three_days_later(bot, clock):
    cid = add_customer(bot, "张伟")
    assert sweep(bot, START + timedelta(days=60)) == 1  # the warning, not the return
    (warning,) = bot.new_messages()
    assert warning.card.title == "即将回收公海：张伟" and warning.field("回收时间") == "周二 11月3日 10:00"
    assert customer(bot, cid).owner_id == bot.org.rep_a.id
    assert sweep(bot, START + timedelta(days=63) - timedelta(minutes=1)) == 0
    assert sweep(bot, START + timedelta(days=63)) == 1
    assert customer(bot, cid).owner_id is None


def test_cooling_ends_and_the_rep_may_claim_again(bot, clock):
    cid = add_customer(bot, "张伟")
    sweep(bot, START + timedelta(days=57))
    sweep(bot, START + timedelta(days=60))
    bot.new_messages()
    clock.now = START + timedelta(days=90) - timedelta(minutes=1)
    assert "冷静期" in bot.send("rep-a", f"认领 #{cid}")[0].text
    clock.now = START + timedelta(days=90)
    assert bot.send("rep-a", f"认领 #{cid}")[0].text.startswith("已认领 张伟")


def test_a_real_follow_up_before_n_keeps_the_customer_and_starts_a_new_spell(bot, clock):
    cid = add_customer(bot, "张伟")
    sweep(bot, START + timedelta(days=57))
    bot.new_messages()
    clock.now = START + timedelta(days=59)
    out = bot.send("rep-a", "跟进 张伟 打了个电话，他在外地出差")
    card = next(m for m in out if m.card)
    bot.tap("rep-a", card.action("确认"))
    assert customer(bot, cid).stage == Stage.FIRST_CONTACT
    assert sweep(bot, START + timedelta(days=60)) == 0
    assert customer(bot, cid).owner_id == bot.org.rep_a.id
    # The new spell gets its own warning and return.
    assert sweep(bot, START + timedelta(days=59 + 57)) == 1
    assert sweep(bot, START + timedelta(days=59 + 60)) == 1
    assert customer(bot, cid).owner_id is None


def test_give_back_from_the_warning_card_is_a_logged_release_with_cooling(bot, clock):
    cid = add_customer(bot, "张伟")
    sweep(bot, START + timedelta(days=57))
    (warning,) = bot.new_messages()
    clock.now = START + timedelta(days=58)
    assert bot.tap("rep-a", warning.action("放回公海"))[0].text == "已把 张伟 放回公海，同组同事可以认领。"
    assert customer(bot, cid).owner_id is None
    assert events(bot, "lead_release") == ["王芳 退回公海：回收提醒后主动放回"]
    assert "冷静期" in bot.send("rep-a", f"认领 #{cid}")[0].text
    assert sweep(bot, START + timedelta(days=60)) == 0  # already in the pool: nothing to return


def test_two_sweepers_warn_and_return_exactly_once(bot, db_url):
    ids = [add_customer(bot, f"客户{i}") for i in range(6)]

    def instance(engine: Engine) -> None:
        for hours in range(56 * 24, 61 * 24, 6):
            sweep_recycle(engine, bot.runtime.settings, START + timedelta(hours=hours))

    on_instances(db_url, instance)
    assert all(customer(bot, cid).owner_id is None for cid in ids)
    with Session(bot.runtime.engine) as s:
        recycled = s.exec(select(LeadAssignment).where(col(LeadAssignment.kind) == "recycle")).all()
        keys = [r.dedupe_key or "" for r in s.exec(select(OutboxMessage)).all()]
    assert sorted(r.customer_id for r in recycled) == sorted(ids)
    assert len(events(bot, "recycle_warned")) == 6 and len(events(bot, "lead_recycle")) == 6
    assert sum(k.startswith("recycle_warn:") for k in keys) == 6
    assert sum(k.startswith("recycled:") for k in keys) == 6
