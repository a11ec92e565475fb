"""Time-travel tests of the scheduled pushes with an injected clock: pre-visit cards, the
working-time stale-lead ladder (holidays, make-up days), new leads, 免填, the weekly report, and
exactly-once delivery with two scheduler instances."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_runtime
from bot.config import PushSettings, Settings, StaleThresholds
from scheduler.setup import run_sweeps
from scheduler.worktime import WorkingHours
from store.db import session_scope
from store.exemptions import grant_exemption
from store.models import Customer, JobRun, OutboxMessage
from store.permissions import PermissionDenied
from tests.factories import make_org
from tests.harness import ChatDriver
from tests.instances import on_instances

TZ = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


@pytest.fixture
def push_settings(settings: Settings) -> Settings:
    fast = StaleThresholds(remind_rep=2, alert_supervisor=4, high_risk=6)
    return settings.model_copy(update={"pushes": PushSettings(stale={s: fast for s in ("初步接触", "需求确认")})})


@pytest.fixture
def bot(push_settings, engine, clock):
    runtime = build_runtime(push_settings, clock=clock, engine=engine)
    driver = ChatDriver(runtime)
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    return driver


def sweep(bot, at: datetime | None = None, *, everything: bool = False) -> list:
    """Run every sweep at `at`; returns the pushes queued (without the daily unconfirmed-record
    reminders and weekly reports unless asked: they are tested on their own)."""
    run_sweeps(bot.runtime.engine, bot.runtime.settings, at or bot.runtime.worker.clock())
    own = ("未确认", "【周报")
    return [m for m in bot.new_messages() if everything or not any(w in (m.text or "") for w in own)]


def visits(msgs: list) -> list:
    return [m for m in msgs if m.card and m.card.title.startswith("拜访提醒")]


def new_customer(bot, clock, at: datetime, text: str = "新客户 张伟 13800138000") -> int:
    clock.now = at
    bot.send("rep-a", text)
    for _ in range(3):
        bot.send("rep-a", "跳过")
    with Session(bot.runtime.engine) as s:
        return s.exec(select(Customer.id).order_by(col(Customer.id).desc())).first()


def test_working_hours_skip_holidays_and_count_makeup_days():
    wh = WorkingHours(TZ)
    assert wh.add(local(2026, 11, 20, 16), timedelta(hours=4)) == local(2026, 11, 23, 11)  # weekend skipped
    assert wh.add(local(2026, 9, 30, 17), timedelta(hours=2)) == local(2026, 10, 8, 10)  # National Day
    assert wh.add(local(2026, 10, 9, 17), timedelta(hours=2)) == local(2026, 10, 10, 10)  # Saturday make-up day
    assert wh.elapsed(local(2026, 10, 1, 9), local(2026, 10, 7, 18)) == timedelta(0)


def test_previsit_card_once_with_history_talking_points_and_consent(bot, clock):
    clock.now = local(2026, 11, 16, 10).astimezone(ZoneInfo("UTC"))
    bot.reply_to("rep-a", "和万通物流的朱总聊了，他觉得价格太贵，要我们重新报价，电话13912345678")
    bot.reply_to("rep-a", "拜访 朱总 明天下午3点 谈报价")
    assert visits(sweep(bot, local(2026, 11, 17, 14, 44))) == []
    cards = visits(sweep(bot, local(2026, 11, 17, 14, 45)))
    assert len(cards) == 1 and cards[0].recipient == "rep-a"
    card = cards[0].card
    assert card.title == "拜访提醒：朱总" and card.fields[2].value == "谈报价"
    notes = "\n".join(card.notes)
    assert "预约拜访" in notes and "征得客户同意" in notes
    assert "价格异议：" in notes or "要报价：" in notes
    assert visits(sweep(bot, local(2026, 11, 17, 14, 50))) == []  # exactly once


def test_moved_visit_moves_its_card_and_cancelled_visit_gets_none(bot, clock):
    clock.now = local(2026, 11, 16, 10).astimezone(ZoneInfo("UTC"))
    bot.reply_to("rep-a", "万通物流的朱总要报价")
    bot.reply_to("rep-a", "拜访 朱总 明天下午3点 谈报价")
    assert "已改到" in bot.reply_to("rep-a", "改约 1 后天上午10点").text
    assert visits(sweep(bot, local(2026, 11, 17, 14, 50))) == []  # old time: nothing
    assert len(visits(sweep(bot, local(2026, 11, 18, 9, 50)))) == 1  # new time
    bot.reply_to("rep-a", "拜访 朱总 11月20日下午2点 签约")
    assert "已取消" in bot.reply_to("rep-a", "取消拜访 2").text
    assert visits(sweep(bot, local(2026, 11, 20, 13, 50))) == []


def test_stale_ladder_rungs_fire_once_each_in_working_time(bot, clock):
    cid = new_customer(bot, clock, local(2026, 11, 20, 16))  # Friday 16:00
    assert sweep(bot, local(2026, 11, 20, 17, 59)) == []
    rung1 = sweep(bot, local(2026, 11, 20, 18))
    assert [m.recipient for m in rung1] == ["rep-a"] and rung1[0].card.title == "跟进提醒：张伟"
    assert "建议发送" in rung1[0].card.notes[0]
    assert sweep(bot, local(2026, 11, 22, 20)) == []  # the weekend does not count
    rung2 = sweep(bot, local(2026, 11, 23, 11))
    assert sorted(m.recipient for m in rung2) == ["rep-a", "sup"]
    alert = next(m for m in rung2 if m.recipient == "sup").card
    assert [b.label for b in alert.buttons] == ["转给…", "暂缓", "查看"]
    assert sweep(bot, local(2026, 11, 23, 12)) == []
    rung3 = sweep(bot, local(2026, 11, 23, 13))
    assert any(m.card and m.card.title.startswith("高风险客户") for m in rung3)
    with Session(bot.runtime.engine) as s:
        assert s.get(Customer, cid).risk == "high"
    assert sweep(bot, local(2026, 11, 30, 13)) == []  # each rung once per episode


def test_followup_resets_the_ladder(bot, clock):
    new_customer(bot, clock, local(2026, 11, 20, 16))
    assert len(sweep(bot, local(2026, 11, 20, 18))) == 1
    clock.now = local(2026, 11, 23, 10).astimezone(ZoneInfo("UTC"))
    bot.reply_to("rep-a", "跟进 张伟 电话沟通了需求，客户要报价")
    assert sweep(bot, local(2026, 11, 23, 11)) == []  # rung 2 of the old episode never comes
    again = sweep(bot, local(2026, 11, 23, 12))
    assert [m.recipient for m in again] == ["rep-a"]  # a new episode starts at rung 1


def test_holiday_pauses_the_ladder(bot, clock):
    new_customer(bot, clock, local(2026, 9, 30, 17))
    assert sweep(bot, local(2026, 10, 5, 12)) == []
    assert len(sweep(bot, local(2026, 10, 8, 10))) == 1


def test_snooze_and_reassign_from_the_alert(bot, clock, engine):
    cid = new_customer(bot, clock, local(2026, 11, 20, 16))
    rung2 = sweep(bot, local(2026, 11, 23, 11))
    alert = next(m for m in rung2 if m.recipient == "sup")
    clock.now = local(2026, 11, 23, 11, 5).astimezone(ZoneInfo("UTC"))
    pick = bot.reply_to("sup", alert.action("转给"), kind="card_action")
    assert [b.label for b in pick.card.buttons] == ["李明"]
    msgs = bot.tap("sup", pick.action("李明"))
    assert {m.recipient for m in msgs} == {"sup", "rep-b", "rep-a"}
    assert [m.text for m in msgs if m.recipient == "rep-a"] == ["【客户转交】陈主管 已把 张伟 转给 李明。"]
    with Session(engine) as s:
        assert s.get(Customer, cid).owner_id == bot.org.rep_b.id
    # the new owner snoozes with a reason; no reminder until the snooze ends
    bot.reply_to("rep-b", f"snooze:{cid}", kind="card_action")
    assert "暂缓到" in bot.reply_to("rep-b", "客户出差一周").text
    # the new owner never contacted this customer: the new-lead clock reminds them; the ladder stays quiet
    quiet = sweep(bot, local(2026, 11, 25, 18))
    assert [m.text[:7] for m in quiet] == ["【新线索待联系"]
    assert len(sweep(bot, local(2026, 11, 26, 12))) >= 1


def test_rep_cannot_reassign(bot, clock):
    cid = new_customer(bot, clock, local(2026, 11, 20, 16))
    assert "只有主管" in bot.reply_to("rep-a", f"reassign:{cid}", kind="card_action").text


def test_new_lead_not_contacted_and_not_assigned(bot, clock, engine):
    received = local(2026, 11, 16, 10)
    with session_scope(engine) as s:
        assigned = Customer(
            name="刘洋",
            owner_id=bot.org.rep_a.id,
            team_id=bot.org.rep_a.team_id,
            lead_received_at=received,
            assigned_at=received,
            lead_due_at=received + timedelta(hours=2),
            created_at=received,
        )
        pool = Customer(
            name="孙丽",
            owner_id=None,
            team_id=bot.org.rep_a.team_id,
            lead_received_at=received,
            lead_due_at=received + timedelta(hours=2),
            created_at=received,
        )
        s.add_all([assigned, pool])
    assert sweep(bot, local(2026, 11, 16, 11, 59)) == []
    msgs = sweep(bot, local(2026, 11, 16, 12))
    assert sorted((m.recipient, m.text[:7]) for m in msgs) == [("rep-a", "【新线索待联系"), ("sup", "【线索未分配】")]
    assert sweep(bot, local(2026, 11, 16, 13)) == []


def test_exemption_silences_missing_field_reminders_until_it_expires(bot, clock, engine):
    clock.now = local(2026, 11, 16, 10).astimezone(ZoneInfo("UTC"))
    bot.reply_to("rep-a", "万通物流的朱总要报价，电话13912345678")  # never confirmed
    assert "免填至" in bot.reply_to("sup", "免填 王芳 本周参展").text
    day2 = [m for m in sweep(bot, local(2026, 11, 17, 11), everything=True) if "未确认" in (m.text or "")]
    assert day2 == []
    day4 = [m for m in sweep(bot, local(2026, 11, 19, 11), everything=True) if "未确认" in (m.text or "")]
    assert len(day4) == 1 and day4[0].recipient == "rep-a"
    assert "只有主管" in bot.reply_to("rep-a", "免填 李明").text
    with Session(engine) as s, pytest.raises(PermissionDenied):
        grant_exemption(session=s, actor=bot.org.rep_a, member=bot.org.rep_b, days=3, reason="", at=clock())


def test_weekly_report_monday_morning_once(bot, clock, engine):
    clock.now = local(2026, 11, 17, 10).astimezone(ZoneInfo("UTC"))
    card = bot.reply_to("rep-a", "万通物流的朱总嫌价格太贵，说东软便宜，电话13912345678")
    bot.tap("rep-a", card.action("要报价"))
    bot.tap("rep-a", card.action("确认"))
    bot.reply_to("rep-a", "阶段 朱总 已成交")
    assert [m for m in sweep(bot, local(2026, 11, 23, 8, 59)) if "周报" in (m.text or "")] == []
    reports = [m for m in sweep(bot, local(2026, 11, 23, 9), everything=True) if "周报" in (m.text or "")]
    by = {m.recipient: m.text for m in reports}
    assert set(by) == {"rep-a", "rep-b", "rep-c", "sup", "sup2"}
    assert "王芳" in by["rep-a"] and "标签确认 0/修改 1" in by["rep-a"] and "被拒的跳阶段 1 次" in by["rep-a"]
    assert "价格异议" in by["sup"] and "东软(1)" in by["sup"] and "要报价" in by["sup"]
    assert [m for m in sweep(bot, local(2026, 11, 23, 9, 30), everything=True) if "周报" in (m.text or "")] == []
    with Session(engine) as s:
        weekly = select(JobRun).where(JobRun.job == "weekly_report").order_by(JobRun.id)  # the churn scan has its own
        assert [r.period for r in s.exec(weekly)] == ["2026-W46", "2026-W47"]


def test_downtime_is_caught_up_on_restart(bot, clock):
    new_customer(bot, clock, local(2026, 11, 20, 16))
    msgs = sweep(bot, local(2026, 11, 24, 12), everything=True)  # down over the weekend and Monday
    assert any(m.card and m.card.title.startswith("高风险客户") for m in msgs)
    assert any("周报" in (m.text or "") for m in msgs)


def test_two_scheduler_instances_send_exactly_once(bot, clock, db_url):
    for i in range(5):
        new_customer(bot, clock, local(2026, 11, 20, 16), text=f"新客户 客户{i} 1380013800{i}")
    bot.reply_to("rep-a", "拜访 客户0 11月23日上午10点 演示")

    def run(engine: Engine) -> None:
        for minute in range(0, 180, 10):
            run_sweeps(engine, bot.runtime.settings, local(2026, 11, 23, 9) + timedelta(minutes=minute))

    on_instances(db_url, run)
    with Session(bot.runtime.engine) as s:
        keys = [r.dedupe_key for r in s.exec(select(OutboxMessage).where(col(OutboxMessage.dedupe_key).is_not(None)))]
    assert len(keys) == len(set(keys))
    assert sum(k.startswith("previsit:") for k in keys) == 1
    assert sum(k.startswith("weekly:") for k in keys) == 5  # 3 reps + 2 supervisors
    assert sum(k.startswith("stale:") and k.endswith(":1") for k in keys) == 5  # rung 1 once per customer
    assert sum(k.startswith("stale:") and ":sup" in k for k in keys) == 5
