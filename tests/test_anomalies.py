"""Anomaly review end to end: each rule fires past its boundary and not on it, the supervisor's card
arrives once (two instances too), 没问题 / 退回给销售 / 已改正 work from the card, and a record under
review is left out of the weekly report and the pipeline amounts until it is reviewed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.anomalies.prices import catalog_prices
from bot.app import build_runtime
from bot.config import AnomalySettings, CatalogItem, CatalogSettings, Settings
from scheduler.anomalies import sweep_anomalies
from scheduler.setup import run_sweeps
from scheduler.weekly import rep_stats
from store.anomalies import anomaly_items
from store.console import PipelineFilter, pipeline_grid
from store.customers import change_stage, create_customer
from store.db import session_scope
from store.followups import confirm_followup, create_followup
from store.models import Anomaly, Correction, Customer, FollowUp, Member, OutboxMessage
from tests.factories import make_org
from tests.harness import ChatDriver
from tests.instances import on_instances

TZ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def bot(settings: Settings, engine, clock):
    runtime = build_runtime(settings, clock=clock, engine=engine)
    driver = ChatDriver(runtime)
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    return driver


def new_customer(engine, rep: Member, name: str, *, at: datetime, **fields) -> int:
    with session_scope(engine) as s:
        return create_customer(session=s, actor=s.get(Member, rep.id), name=name, at=at, **fields).id


def entry(engine, rep: Member, customer_id: int, *, at: datetime, text: str = "电话沟通了需求",
          amount: int | None = None, confirm: bool = True) -> int:
    with session_scope(engine) as s:
        actor = s.get(Member, rep.id)
        f = create_followup(session=s, actor=actor, customer_id=customer_id, kind="chat", text=text, tags=[],
                            amount_cny=amount, at=at)
        if confirm:
            confirm_followup(session=s, actor=actor, followup_id=f.id, at=at)
        return f.id


def sweep(bot, at: datetime) -> list:
    sweep_anomalies(bot.runtime.engine, bot.runtime.settings, at)
    return bot.new_messages()


def anomalies(engine) -> list[Anomaly]:
    with Session(engine) as s:
        return list(s.exec(select(Anomaly).order_by(col(Anomaly.id))).all())


def items(engine, anomaly_id: int) -> list:
    with Session(engine) as s:
        return anomaly_items(session=s, anomaly_ids=[anomaly_id])


def week_stats(engine, rep: Member, start: datetime):
    with Session(engine) as s:
        return rep_stats(s, s.get(Member, rep.id), start, start + timedelta(days=7))


# ---------------------------------------------------------------- 1. volume

def test_more_than_200_entries_in_a_local_day(bot, engine):
    org = bot.org
    cid = new_customer(engine, org.rep_a, "张伟", at=local(2026, 11, 16, 8))
    with session_scope(engine) as s:
        actor = s.get(Member, org.rep_a.id)
        for i in range(200):
            at = local(2026, 11, 16, 9) + timedelta(minutes=i)
            f = create_followup(session=s, actor=actor, customer_id=cid, kind="chat", text="跟进", tags=[], at=at)
            confirm_followup(session=s, actor=actor, followup_id=f.id, at=at)
    assert sweep(bot, local(2026, 11, 16, 13)) == [] and anomalies(engine) == []  # exactly 200: fine
    entry(engine, org.rep_a, cid, at=local(2026, 11, 17, 0, 0, 30))  # the next local day
    assert sweep(bot, local(2026, 11, 17, 1)) == [] and anomalies(engine) == []
    late = entry(engine, org.rep_a, cid, at=local(2026, 11, 16, 23, 59))  # the 201st on the 16th
    cards = sweep(bot, local(2026, 11, 17, 1, 5))
    [found] = anomalies(engine)
    assert found.kind == "volume" and found.key == f"volume:{org.rep_a.id}:2026-11-16" and found.status == "open"
    assert "201 条" in found.summary
    held = {i.followup_id for i in items(engine, found.id)}
    assert len(held) == 201 and late in held
    assert [(m.recipient, m.card.title) for m in cards] == [("sup", "数据异常待复核：单日录入过多")]
    assert [b.label for b in cards[0].card.buttons] == ["没问题", "退回给销售"]
    assert sweep(bot, local(2026, 11, 17, 2)) == []  # once


def test_volume_threshold_is_configurable_and_counts_unconfirmed_entries(bot, engine, settings):
    bot.runtime.settings = settings.model_copy(update={"anomalies": AnomalySettings(daily_entries_max=2)})
    cid = new_customer(engine, bot.org.rep_a, "张伟", at=local(2026, 11, 16, 8))
    entry(engine, bot.org.rep_a, cid, at=local(2026, 11, 16, 9), confirm=False)
    entry(engine, bot.org.rep_a, cid, at=local(2026, 11, 16, 10))
    assert sweep(bot, local(2026, 11, 16, 11)) == []
    third = entry(engine, bot.org.rep_a, cid, at=local(2026, 11, 16, 12))
    assert len(sweep(bot, local(2026, 11, 16, 13))) == 1
    [found] = anomalies(engine)
    assert "3 条" in found.summary
    assert third in {i.followup_id for i in items(engine, found.id)}  # the unconfirmed one joins when confirmed


# ---------------------------------------------------------------- 2. bulk stage changes

def test_bulk_stage_changes_within_the_window(bot, engine):
    org = bot.org
    start = local(2026, 11, 17, 10)
    ids = [new_customer(engine, org.rep_a, f"客户{i}", at=local(2026, 11, 16, 9)) for i in range(23)]

    def change(i: int, at: datetime) -> None:
        with session_scope(engine) as s:
            actor = s.get(Member, org.rep_a.id)
            customer = s.get(Customer, ids[i])
            assert customer is not None
            change_stage(session=s, actor=actor, customer=customer, stage="需求确认", at=at)

    for i in range(20):
        change(i, start + timedelta(seconds=20 * i))
    change(20, start + timedelta(minutes=10))  # exactly one window after the first: not in its run
    assert sweep(bot, start + timedelta(minutes=11)) == [] and anomalies(engine) == []
    assert week_stats(engine, org.rep_a, local(2026, 11, 16, 0)).active == 23
    change(21, start + timedelta(minutes=9, seconds=59))  # 21 within the first change's window
    cards = sweep(bot, start + timedelta(minutes=12))
    [found] = anomalies(engine)
    assert found.kind == "stages" and [m.card.title for m in cards] == ["数据异常待复核：批量改阶段"]
    assert len(items(engine, found.id)) == 21
    # the run's customers are out of the active count and the pipeline's stage counts until reviewed
    assert week_stats(engine, org.rep_a, local(2026, 11, 16, 0)).active == 23 - 21
    assert grid_count(engine, org) == 23 - 21
    change(22, start + timedelta(minutes=15))  # the burst goes on: it joins the filed run, no new card
    assert sweep(bot, start + timedelta(minutes=16)) == []
    assert len(anomalies(engine)) == 1 and len(items(engine, found.id)) == 23
    bot.tap("sup", f"anomaly_ok:{found.id}")
    assert week_stats(engine, org.rep_a, local(2026, 11, 16, 0)).active == 23
    assert grid_count(engine, org) == 23


def grid_count(engine, org) -> int:
    with Session(engine) as s:
        grid = pipeline_grid(session=s, actor=s.get(Member, org.supervisor.id), flt=PipelineFilter())
    return sum(c.count for c in grid if c.owner_id == org.rep_a.id)


# ---------------------------------------------------------------- 3. amounts

def _team_prices(engine, org) -> None:
    for i, amount in enumerate((39_800, 39_800, 42_000)):
        cid = new_customer(engine, org.rep_b, f"老客户{i}", at=local(2026, 11, 10, 9), product="ERP")
        entry(engine, org.rep_b, cid, at=local(2026, 11, 10, 10), amount=amount)


def test_amount_far_from_the_team_median_is_held_out_of_the_weekly_report(bot, engine):
    org = bot.org
    _team_prices(engine, org)
    sweep(bot, local(2026, 11, 10, 11))
    fine = new_customer(engine, org.rep_a, "张伟", at=local(2026, 11, 17, 9), product="ERP")
    entry(engine, org.rep_a, fine, at=local(2026, 11, 17, 10), amount=5 * 39_800)  # exactly 5x: fine
    wild = new_customer(engine, org.rep_a, "李强", at=local(2026, 11, 17, 9), product="ERP")
    bad = entry(engine, org.rep_a, wild, at=local(2026, 11, 17, 10), amount=3_980_000)
    cards = sweep(bot, local(2026, 11, 17, 11))
    [found] = anomalies(engine)
    assert found.kind == "amount" and found.key == f"amount:{bad}" and found.customer_id == wild
    # the 5x record counts towards the median once it passed: (39,800, 39,800, 42,000, 199,000) -> 40,900
    assert "ERP 的团队中位数为 4.09万元" in found.summary
    assert [m.card.title for m in cards] == ["数据异常待复核：金额异常"]
    # unreviewed: the record is not in the weekly numbers, nor its amount in the pipeline
    week = local(2026, 11, 16, 0)
    assert week_stats(engine, org.rep_a, week).followups == 1
    reports = run_sweeps(engine, bot.runtime.settings, local(2026, 11, 23, 9))
    assert reports["weekly"] > 0
    reports = {m.recipient: m.text for m in bot.new_messages() if "周报" in (m.text or "")}
    assert "（1 条）" in reports["rep-a"]
    assert "待复核的数据异常 1 条" in reports["sup"] and "待复核" not in reports["sup2"]
    with Session(engine) as s:
        grid = pipeline_grid(session=s, actor=s.get(Member, org.supervisor.id), flt=PipelineFilter())
    assert sum(c.amount for c in grid if c.owner_id == org.rep_a.id) == 5 * 39_800
    # 没问题: it counts
    assert "没问题" in bot.reply_to("sup", f"anomaly_ok:{found.id}", kind="card_action").text
    assert week_stats(engine, org.rep_a, week).followups == 2
    assert "已经处理过了" in bot.reply_to("sup", f"anomaly_ok:{found.id}", kind="card_action").text


def test_catalog_price_is_used_before_the_median(bot, engine):
    org = bot.org
    cid = new_customer(engine, org.rep_a, "张伟", at=local(2026, 11, 17, 9), product="企业版")
    entry(engine, org.rep_a, cid, at=local(2026, 11, 17, 10), amount=300_000)  # no median: too few amounts
    assert sweep(bot, local(2026, 11, 17, 11)) == []

    def catalog(*, session, team_id, product):
        return 39_800 if product == "企业版" else None

    entry(engine, org.rep_a, cid, at=local(2026, 11, 17, 12), amount=300_000)
    sweep_anomalies(engine, bot.runtime.settings, local(2026, 11, 17, 13), prices=catalog)
    [found] = anomalies(engine)
    assert "产品目录价" in found.summary


def test_the_product_catalog_is_the_expected_price(bot, engine):
    """scheduler/setup.py passes catalog_prices: a customer's product named by a catalog name or alias
    with one price is checked against that price; a name with several editions falls back."""
    settings = bot.runtime.settings.model_copy(update={"catalog": CatalogSettings(products=[
        CatalogItem(name="云仓", edition="旗舰版", unit_price=58_000, unit="年", aliases=["云仓旗舰"]),
        CatalogItem(name="云仓", edition="基础版", unit_price=19_800, unit="年"),
    ])})
    prices = catalog_prices(settings)
    with Session(engine) as s:
        assert prices(session=s, team_id=1, product="云仓旗舰") == 58_000
        assert prices(session=s, team_id=1, product="云仓 基础版") == 19_800
        assert prices(session=s, team_id=1, product="云仓") is None  # two editions: not guessed
        assert prices(session=s, team_id=1, product="别的产品") is None
    org = bot.org
    cid = new_customer(engine, org.rep_a, "张伟", at=local(2026, 11, 17, 9), product="云仓旗舰")
    entry(engine, org.rep_a, cid, at=local(2026, 11, 17, 10), amount=116_000)  # two years: fine
    entry(engine, org.rep_a, cid, at=local(2026, 11, 17, 11), amount=5_800_000)
    sweep_anomalies(engine, settings, local(2026, 11, 17, 12), prices=prices)
    [found] = anomalies(engine)
    assert "产品目录价" in found.summary and "5.8万元" in found.summary


# ---------------------------------------------------------------- 4. contradictions

def test_two_companies_for_one_customer_within_an_hour(bot, engine):
    org = bot.org
    t = local(2026, 11, 17, 10)
    zhang = new_customer(engine, org.rep_a, "张伟", company="万通物流", at=t)
    entry(engine, org.rep_a, zhang, at=t + timedelta(minutes=20), text="万通物流的张总说下周签")  # agrees
    li = new_customer(engine, org.rep_a, "李强", company="万通物流", at=t)
    entry(engine, org.rep_a, li, at=t + timedelta(minutes=61), text="华信科技的李总要报价")  # past the hour
    assert sweep(bot, t + timedelta(hours=2)) == [] and anomalies(engine) == []
    bad = entry(engine, org.rep_a, zhang, at=t + timedelta(minutes=50), text="华信科技的张总要报价")
    cards = sweep(bot, t + timedelta(hours=3))
    [found] = anomalies(engine)
    assert found.kind == "conflict" and found.key == f"conflict:{bad}" and "万通物流" in found.summary
    assert [m.card.title for m in cards] == ["数据异常待复核：客户信息矛盾"]


def test_a_phone_that_belongs_to_another_customer(bot, engine):
    org = bot.org
    t = local(2026, 11, 17, 10)
    new_customer(engine, org.rep_b, "王五", phone="+8613912345678", at=t - timedelta(days=30))
    zhang = new_customer(engine, org.rep_a, "张伟", at=t)
    entry(engine, org.rep_a, zhang, at=t, text="张伟的新号码 13800138000")
    assert sweep(bot, t + timedelta(minutes=1)) == []
    bad = entry(engine, org.rep_a, zhang, at=t + timedelta(minutes=5), text="张伟换了号码 13912345678")
    cards = sweep(bot, t + timedelta(minutes=6))
    [found] = anomalies(engine)
    assert found.key == f"conflict:{bad}" and "已属于另一位客户" in found.summary
    assert "13912345678" not in found.summary and "13912345678" not in cards[0].all_text  # masked


# ---------------------------------------------------------------- review flows

def _amount_anomaly(bot, engine) -> tuple[Anomaly, int]:
    _team_prices(engine, bot.org)
    cid = new_customer(engine, bot.org.rep_a, "李强", at=local(2026, 11, 17, 9), product="ERP")
    fid = entry(engine, bot.org.rep_a, cid, at=local(2026, 11, 17, 10), amount=3_980_000)
    sweep(bot, local(2026, 11, 17, 11))
    [found] = [a for a in anomalies(engine) if a.kind == "amount"]
    return found, fid


def test_return_to_the_rep_keeps_it_out_until_fixed(bot, engine):
    found, _ = _amount_anomaly(bot, engine)
    week = local(2026, 11, 16, 0)
    msgs = bot.tap("sup", f"anomaly_return:{found.id}")
    assert [m.text for m in msgs if m.recipient == "sup"] == ["已退回给销售，改正前相关记录不计入周报。（金额异常）"]
    [to_rep] = [m for m in msgs if m.recipient == "rep-a"]
    assert to_rep.card.title == "记录被退回：金额异常" and "点「改金额」回复正确金额" in to_rep.all_text
    assert [b.label for b in to_rep.card.buttons] == ["改金额", "已改正"]
    assert week_stats(engine, bot.org.rep_a, week).followups == 0
    assert "没有权限" in bot.reply_to("rep-b", f"anomaly_fixed:{found.id}", kind="card_action").text
    fixed = bot.tap("rep-a", to_rep.action("已改正"))
    assert any(m.recipient == "sup" and "王芳 已改正" in (m.text or "") for m in fixed)
    assert week_stats(engine, bot.org.rep_a, week).followups == 1
    assert "已经处理过了" in bot.reply_to("rep-a", f"anomaly_fixed:{found.id}", kind="card_action").text
    assert [a.status for a in anomalies(engine)] == ["fixed"]


def test_returned_amount_is_fixed_by_one_reply(bot, engine):
    found, fid = _amount_anomaly(bot, engine)
    week = local(2026, 11, 16, 0)
    assert "还在等主管复核" in bot.reply_to("rep-a", f"anomaly_amount:{found.id}", kind="card_action").text
    to_rep = next(m for m in bot.tap("sup", f"anomaly_return:{found.id}") if m.recipient == "rep-a")
    assert "请回复正确的金额" in bot.reply_to("rep-a", to_rep.action("改金额"), kind="card_action").text
    assert "没看懂这个金额" in bot.reply_to("rep-a", "很多").text
    assert "还在等主管复核" not in bot.reply_to("rep-b", f"anomaly_amount:{found.id}", kind="card_action").text
    assert week_stats(engine, bot.org.rep_a, week).followups == 0
    msgs = bot.send("rep-a", "3.98万")
    [answer] = [m.text for m in msgs if m.recipient == "rep-a"]
    assert answer == "好的，金额改为 3.98万元，已记录为已改正，相关记录将计入周报。"
    assert any(m.recipient == "sup" and "金额改为 3.98万元" in (m.text or "") for m in msgs)
    with Session(engine) as s:
        f = s.get(FollowUp, fid)
        assert f.amount_cny == 39_800
        fixes = s.exec(select(Correction).where(col(Correction.followup_id) == fid)).all()
        assert [(c.field, c.before, c.after) for c in fixes] == [("amount_cny", "3980000", "39800")]
    assert [a.status for a in anomalies(engine)] == ["fixed"]
    assert week_stats(engine, bot.org.rep_a, week).followups == 1


def test_only_the_reps_supervisor_or_an_admin_reviews(bot, engine):
    found, _ = _amount_anomaly(bot, engine)
    for who in ("rep-a", "rep-b", "sup2"):
        assert "没有权限" in bot.reply_to(who, f"anomaly_ok:{found.id}", kind="card_action").text
    assert "没有权限" in bot.reply_to("sup", "anomaly_ok:99999", kind="card_action").text
    assert [a.status for a in anomalies(engine)] == ["open"]
    assert "没问题" in bot.reply_to("admin", f"anomaly_ok:{found.id}", kind="card_action").text
    with Session(engine) as s:
        a = s.get(Anomaly, found.id)
        assert a.status == "ok" and a.reviewer_id == bot.org.admin.id and a.reviewed_at is not None


# ---------------------------------------------------------------- exactly once on two instances

def test_two_instances_file_and_send_each_anomaly_once(bot, engine, db_url, settings):
    bot.runtime.settings = settings.model_copy(update={"anomalies": AnomalySettings(daily_entries_max=5)})
    org = bot.org
    _team_prices(engine, org)
    cid = new_customer(engine, org.rep_a, "李强", at=local(2026, 11, 17, 9), product="ERP")
    for i in range(8):
        entry(engine, org.rep_a, cid, at=local(2026, 11, 17, 10) + timedelta(minutes=i),
              amount=3_980_000 if i == 0 else None)

    def run(e: Engine) -> None:
        for minute in range(3):
            sweep_anomalies(e, bot.runtime.settings, local(2026, 11, 17, 11, minute))

    on_instances(db_url, run)
    assert sorted(a.kind for a in anomalies(engine)) == ["amount", "volume"]
    with Session(engine) as s:
        keys = [r.dedupe_key for r in s.exec(select(OutboxMessage)) if (r.dedupe_key or "").startswith("anomaly:")]
    assert len(keys) == 2 and len(set(keys)) == 2
