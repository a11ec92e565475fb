"""Early churn warning: the score against the customer's own cadence, its Chinese explanation, one
alert per episode (owner and supervisor), hysteresis and the re-arm after recovery, exactly once on
two instances, and the 续约 reply that feeds the renewal signal."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_runtime
from bot.config import ChurnSettings, ChurnWeights
from scheduler.churn import run_churn_scan
from scheduler.churn_score import ChurnInputs, churn_risk
from store.db import session_scope
from store.models import ChurnWatch, Customer, FollowUp, Member, OutboxMessage, TimelineEvent
from tests.factories import EPOCH, make_org
from tests.harness import ChatDriver
from tests.instances import on_instances

TZ = ZoneInfo("Asia/Shanghai")
WEIGHTS = ChurnWeights(silence=22, silence_grace=1.5, silence_cap=50, tags={"流失风险": 30, "竞品对比": 16},
                       tag_window_days=30, broken_promise=12, renewal=15, renewal_days=60, slowdown=20,
                       slowdown_grace=1.5, recent_gaps=3, family_cap=200, tag_earlier=0, negative_share=0,
                       quiet_after_negative=0, silence_negative=0, silence_broken=0, silence_renewal=0)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def weekly(start: datetime, n: int) -> list[datetime]:
    return [start + timedelta(days=7 * i) for i in range(n)]


def test_explanation_names_each_signal_with_its_points():
    contacts = weekly(local(2026, 9, 1, 10), 9)  # every 7 days, last on 10-27
    risk = churn_risk(
        ChurnInputs(contacts=contacts, tagged=[(contacts[-1], ["流失风险"]), (contacts[-2], ["流失风险", "竞品对比"])],
                    broken_promises=1, renewal_at=local(2026, 12, 6, 10)),
        now=local(2026, 11, 16, 10), weights=WEIGHTS)
    assert risk.reasons == [
        "近30天 2 次「流失风险」 +45",
        "已 20 天未联系（平时约每 7 天一次） +30",
        "近30天 1 次「竞品对比」 +16",
        "近60天 1 个承诺未按时兑现 +12",
        "距续约还有 20 天 +10",
    ]
    assert risk.score == pytest.approx(45 + 29.9 + 16 + 10 + 12, abs=0.2)


def test_silence_is_judged_against_the_customers_own_cadence():
    now = local(2026, 11, 16, 10)
    monthly = [now - timedelta(days=20 + 30 * i) for i in range(5)]
    weekly_ = [now - timedelta(days=20 + 7 * i) for i in range(5)]
    assert churn_risk(ChurnInputs(contacts=monthly), now=now, weights=WEIGHTS).score == 0
    assert churn_risk(ChurnInputs(contacts=weekly_), now=now, weights=WEIGHTS).score > 25


def test_slowing_down_counts_and_one_kind_of_signal_is_capped():
    now = local(2026, 11, 16, 10)
    gaps = [7, 7, 7, 7, 7, 14, 16, 18]  # weekly, then slower and slower
    contacts = [now - timedelta(days=3)]
    for gap in reversed(gaps):
        contacts.insert(0, contacts[0] - timedelta(days=gap))
    risk = churn_risk(ChurnInputs(contacts=contacts), now=now, weights=WEIGHTS)
    assert risk.reasons == ["最近 3 次联系间隔拉长到平时的 2.3 倍 +26"]
    tags = [(now - timedelta(days=d), ["流失风险"]) for d in (1, 2, 3)]
    capped = churn_risk(ChurnInputs(contacts=contacts, tagged=tags), now=now,
                        weights=WEIGHTS.model_copy(update={"family_cap": 45}))
    assert capped.reasons == ["近30天 3 次「流失风险」 +45", "最近 3 次联系间隔拉长到平时的 2.3 倍 +26"]


def test_accumulated_negative_tags_count_beyond_the_recent_window():
    """Complaints 30-90 days ago and a run of tagged contacts add risk; the same customer with the
    accumulation weights at zero scores only the recent tags (the weights are configurable)."""
    now = local(2026, 11, 16, 10)
    contacts = [now - timedelta(days=d) for d in (80, 70, 60, 50, 40, 20, 12, 5)]
    tags = {80: ["价格异议"], 60: ["竞品对比", "价格异议"], 20: ["技术问题"], 12: ["流失风险"]}
    tagged = [(c, tags.get((now - c).days, [])) for c in contacts]
    weights = WEIGHTS.model_copy(update={"tags": {"流失风险": 30, "竞品对比": 16, "技术问题": 10, "价格异议": 8},
                                         "tag_earlier": 5, "negative_share": 20})
    risk = churn_risk(ChurnInputs(contacts=contacts, tagged=tagged), now=now, weights=weights)
    assert risk.reasons == [
        "近30天 1 次「流失风险」 +30",
        "此前30–90天还有 3 次负面标签 +15",
        "近30天 1 次「技术问题」 +10",
        "最近 5 次联系中 2 次带负面标签 +8",
    ]
    plain = churn_risk(ChurnInputs(contacts=contacts, tagged=tagged), now=now,
                       weights=weights.model_copy(update={"tag_earlier": 0, "negative_share": 0}))
    assert plain.reasons == ["近30天 1 次「流失风险」 +30", "近30天 1 次「技术问题」 +10"]


def test_silence_after_a_negative_last_contact_counts_more():
    """Two weeks of quiet on a weekly rhythm: after a complaint it is a signal of its own, after an
    ordinary call it is not."""
    now = local(2026, 11, 16, 10)
    contacts = weekly(now - timedelta(days=14 + 7 * 7), 8)  # weekly, the last 14 days ago
    weights = WEIGHTS.model_copy(update={"quiet_after_negative": 10, "tags": {"流失风险": 0}})
    complained = churn_risk(ChurnInputs(contacts=contacts, tagged=[(contacts[-1], ["流失风险"])]), now=now,
                            weights=weights)
    assert complained.reasons == ["最后一次联系带「流失风险」，之后 14 天无联系 +20",
                                  "已 14 天未联系（平时约每 7 天一次） +11"]
    ordinary = churn_risk(ChurnInputs(contacts=contacts, tagged=[(contacts[-1], [])]), now=now, weights=weights)
    assert ordinary.reasons == ["已 14 天未联系（平时约每 7 天一次） +11"]
    earlier = churn_risk(ChurnInputs(contacts=contacts, tagged=[(contacts[-2], ["流失风险"])]), now=now,
                         weights=weights)
    assert earlier.score == ordinary.score  # only the last word counts as "quiet after a complaint"


def test_shipped_weights_use_the_new_signals():
    """The shipped (fitted) weights give each accumulation signal points, every weight is a plain
    config number, and a stronger decline scores higher than a weaker one."""
    shipped = ChurnSettings().weights
    assert shipped.negative_share > 0 and shipped.quiet_after_negative > 0
    now = local(2026, 11, 16, 10)
    contacts = weekly(now - timedelta(days=21 + 7 * 7), 8)
    mild = churn_risk(ChurnInputs(contacts=contacts, tagged=[(contacts[-1], [])]), now=now, weights=shipped)
    bad = [(c, ["流失风险"]) for c in contacts[-3:]]
    worse = churn_risk(ChurnInputs(contacts=contacts, tagged=bad, broken_promises=2), now=now, weights=shipped)
    assert worse.score > mild.score > 0
    assert any("带负面标签" in r for r in worse.reasons) and any("之后 21 天无联系" in r for r in worse.reasons)


def test_shipped_line_separates_a_decline_from_a_holiday():
    """With the shipped settings, three weeks of quiet after two 流失风险 calls, a broken promise and a
    renewal near cross the alert line (the silence counts again with each of them); the same quiet
    after one 价格异议 call (a holiday) does not."""
    churn = ChurnSettings()
    now = local(2026, 11, 16, 10)
    contacts = weekly(now - timedelta(days=21 + 7 * 7), 8)
    declining = ChurnInputs(contacts=contacts, tagged=[(c, ["流失风险"]) for c in contacts[-2:]], broken_promises=1,
                            renewal_at=now + timedelta(days=20))
    holiday = ChurnInputs(contacts=contacts, tagged=[(contacts[-1], ["价格异议"])])
    risk = churn_risk(declining, now=now, weights=churn.weights)
    assert risk.score >= churn.alert_at
    assert "最后一次联系带「流失风险」，之后 21 天无联系 +7" in risk.reasons
    assert "有 1 个承诺未兑现，且已沉默平时的 3.0 倍 +10" in risk.reasons  # silence x a broken promise
    assert churn_risk(holiday, now=now, weights=churn.weights).score < churn.rearm_below


def test_benchmark_fit_recovers_the_sign_and_drops_a_negative_weight():
    """The benchmark's logistic fit: a feature that raises the loss rate gets a positive weight, one
    that lowers it is dropped (every reason must read +N)."""
    np = pytest.importorskip("numpy")
    from benchmarks.churn_eval import fit_logistic

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 2, size=(4000, 2))
    logit = -2 + 1.5 * x[:, 0] - 1.0 * x[:, 1]
    y = (rng.uniform(size=4000) < 1 / (1 + np.exp(-logit))).astype(float)
    _, coef = fit_logistic(x, y)
    assert coef[0] > 0.5 and coef[1] == 0


def test_silence_after_complaints_counts_more_than_the_sum_of_its_parts():
    """Silence together with complaints in the latest three contacts is one more signal (silence
    beyond one usual gap x the complaints, at most two): the same three weeks of quiet after ordinary
    calls get no such line, and the weight is a config number (0: off)."""
    now = local(2026, 11, 16, 10)
    contacts = weekly(now - timedelta(days=21 + 7 * 7), 8)  # weekly, the last 21 days ago: 3 usual gaps
    weights = WEIGHTS.model_copy(update={"silence_negative": 6, "tags": {"流失风险": 0, "竞品对比": 0}})
    unhappy = ChurnInputs(contacts=contacts, tagged=[(c, ["流失风险"]) for c in contacts[-2:]])
    risk = churn_risk(unhappy, now=now, weights=weights)
    assert "最近 3 次联系中 2 次带负面标签后，已沉默平时的 3.0 倍 +24" in risk.reasons  # (3 - 1) x 2 x 6
    ordinary = churn_risk(ChurnInputs(contacts=contacts, tagged=[(c, []) for c in contacts]), now=now,
                          weights=weights)
    assert risk.score == pytest.approx(ordinary.score + 24, abs=0.2)
    off = churn_risk(unhappy, now=now, weights=weights.model_copy(update={"silence_negative": 0}))
    assert off.score == ordinary.score


def test_silence_with_a_broken_promise_or_the_renewal_near_counts_more():
    now = local(2026, 11, 16, 10)
    contacts = weekly(now - timedelta(days=21 + 7 * 7), 8)
    weights = WEIGHTS.model_copy(update={"silence_broken": 5, "silence_renewal": 4, "broken_promise": 0,
                                         "renewal": 0, "silence": 0, "slowdown": 0})
    risk = churn_risk(ChurnInputs(contacts=contacts, broken_promises=1, renewal_at=now + timedelta(days=30)),
                      now=now, weights=weights)
    assert risk.reasons == ["有 1 个承诺未兑现，且已沉默平时的 3.0 倍 +10",  # (3 - 1) x 1 x 5
                            "续约临近，且已沉默平时的 3.0 倍 +4"]  # (3 - 1) x 0.5 x 4
    # Within one usual gap there is no silence to multiply.
    recent = weekly(now - timedelta(days=5 + 7 * 7), 8)
    assert churn_risk(ChurnInputs(contacts=recent, broken_promises=1, renewal_at=now + timedelta(days=30)),
                      now=now, weights=weights).score == 0
    # Silence counts at most `interaction_silence_cap` usual gaps.
    capped = weights.model_copy(update={"interaction_silence_cap": 2.0})
    assert churn_risk(ChurnInputs(contacts=contacts, broken_promises=1), now=now,
                      weights=capped).reasons == ["有 1 个承诺未兑现，且已沉默平时的 3.0 倍 +5"]


def test_benchmark_line_needs_confidence_not_a_lucky_few_alerts():
    """The benchmark picks the alert line on training seeds by the Wilson lower bound of its precision,
    not the raw precision: a line at which 38 of 50 alerts are right (76%, but a floor of 66%) loses to
    a higher one at which 20 of 20 are, though it would catch more."""
    pytest.importorskip("numpy")
    from benchmarks.churn_eval import Scored, choose_line, precision_floor

    assert precision_floor(38, 50) < 0.75 < precision_floor(20, 20)
    days = list(range(45, 200))

    def customer(churn_day: int | None, peak: float) -> tuple[Scored, list[float]]:
        # A score at `peak` from day 100 on (a churner is lost on day 120: a 20-day warning).
        kept = [d for d in days if churn_day is None or d < churn_day]
        return Scored(churn_day, kept, []), [peak if d >= 100 else 0.0 for d in kept]

    pairs = [customer(120, 85) for _ in range(20)] + [customer(120, 55) for _ in range(18)] + \
        [customer(None, 55) for _ in range(12)] + [customer(None, 0) for _ in range(50)]
    histories, scores = [h for h, _ in pairs], [s for _, s in pairs]
    alert_at, rearm = choose_line(histories, scores, 0.75)
    assert 55 < alert_at <= 85 and rearm < alert_at


# --- the scheduled job -----------------------------------------------------------------------------


@pytest.fixture
def bot(settings, engine, clock):
    churn = ChurnSettings(stages=["已成交"], alert_at=60, rearm_below=35, run_time="08:30", weights=WEIGHTS)
    runtime = build_runtime(settings.model_copy(update={"churn": churn}), clock=clock, engine=engine)
    driver = ChatDriver(runtime)
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    return driver


def won_customer(bot) -> int:
    org = bot.org
    with session_scope(bot.runtime.engine) as s:
        customer = Customer(name="朱总", company="万通物流", stage="已成交", owner_id=org.rep_a.id,
                            team_id=org.rep_a.team_id, created_at=EPOCH)
        s.add(customer)
        s.flush()
        for i, when in enumerate(weekly(local(2026, 9, 1, 10), 9)):
            tags = ["流失风险", "竞品对比"] if i == 8 else []
            add_followup(s, customer.id, org.rep_a.id, when, tags)
        return customer.id or 0


def add_followup(s: Session, customer_id: int | None, rep_id: int | None, when: datetime, tags: list[str]) -> None:
    s.add(FollowUp(customer_id=customer_id, rep_id=rep_id, kind="note", text="回访", tags=tags, confirmed=True,
                   created_at=when.astimezone(UTC), confirmed_at=when.astimezone(UTC)))


def daily(bot, first: datetime, days: int, on_day=None) -> list[tuple[datetime, list]]:
    """Run the job every day at 09:00 (and again at 09:30: the day is done once)."""
    alerts = []
    for i in range(days):
        day = first + timedelta(days=i)
        if on_day:
            on_day(day)
        run_churn_scan(bot.runtime.engine, bot.runtime.settings, day)
        run_churn_scan(bot.runtime.engine, bot.runtime.settings, day + timedelta(minutes=30))
        msgs = [m for m in bot.new_messages() if m.card and m.card.title.startswith("流失预警")]
        if msgs:
            alerts.append((day, msgs))
    return alerts


def test_alert_once_per_episode_with_explanation_to_owner_and_supervisor(bot):
    won_customer(bot)
    alerts = daily(bot, local(2026, 11, 1, 9), 30)
    assert len(alerts) == 1
    day, msgs = alerts[0]
    assert day == local(2026, 11, 11, 9)  # 15 days of silence on a weekly rhythm, and the two tags
    assert sorted(m.recipient for m in msgs) == ["rep-a", "sup"]
    card = next(m.card for m in msgs if m.recipient == "rep-a")
    assert card.title == "流失预警：朱总" and card.subtitle.endswith("（预警线 60）")
    assert card.subtitle == "风险分 60（预警线 60）"
    assert card.notes[:4] == ["风险来源：", "· 近30天 1 次「流失风险」 +30", "· 近30天 1 次「竞品对比」 +16",
                              "· 已 15 天未联系（平时约每 7 天一次） +14"]
    with Session(bot.runtime.engine) as s:
        events = s.exec(select(TimelineEvent).where(col(TimelineEvent.kind) == "churn_alert")).all()
    assert len(events) == 1 and events[0].summary.startswith("流失预警（风险分")


def test_recovery_closes_the_episode_and_a_new_decline_alerts_again(bot):
    cid = won_customer(bot)
    org = bot.org

    def contact(day: datetime) -> None:
        if day.date() in (local(2026, 11, 20).date(), local(2026, 12, 4).date()):
            with session_scope(bot.runtime.engine) as s:
                tags = ["流失风险"] if day.date() == local(2026, 12, 4).date() else []
                add_followup(s, cid, org.rep_a.id, day - timedelta(hours=1), tags)

    alerts = daily(bot, local(2026, 11, 1, 9), 60, on_day=contact)
    assert [d.date().isoformat() for d, _ in alerts] == ["2026-11-11", "2026-12-18"]
    with Session(bot.runtime.engine) as s:
        kinds = [e.kind for e in s.exec(select(TimelineEvent).where(col(TimelineEvent.kind).like("churn%"))
                                        .order_by(col(TimelineEvent.id))).all()]
        keys = [k for k in s.exec(select(OutboxMessage.dedupe_key)).all() if k and k.startswith("churn:")]
        watch = s.exec(select(ChurnWatch).where(col(ChurnWatch.customer_id) == cid)).one()
    assert kinds == ["churn_alert", "churn_recovered", "churn_alert"]
    assert len(keys) == 4 and len({k.rsplit(":", 1)[0] for k in keys}) == 2  # two episodes, two recipients each
    assert watch is not None and watch.episode_started_at is not None


def test_hovering_score_does_not_alert_daily(bot):
    """Between the thresholds nothing changes: no second alert while the score stays above re-arm."""
    won_customer(bot)
    alerts = daily(bot, local(2026, 11, 12, 9), 20)
    assert len(alerts) == 1


def test_two_instances_alert_once(bot, db_url):
    won_customer(bot)

    def run(engine: Engine) -> None:
        for i in range(20):
            run_churn_scan(engine, bot.runtime.settings, local(2026, 11, 5, 9) + timedelta(days=i))

    on_instances(db_url, run)
    with Session(bot.runtime.engine) as s:
        keys = [k for k in s.exec(select(OutboxMessage.dedupe_key)).all() if k and k.startswith("churn:")]
    assert len(keys) == 2  # owner and supervisor, one episode


def test_renewal_reply_sets_the_date(bot, clock):
    cid = won_customer(bot)
    assert "续约日期：周一 3月1日" in bot.reply_to("rep-a", "续约 2027-03-01").text
    assert "续约日期" in bot.reply_to("rep-a", f"续约 #{cid} 2027-03-01").text
    assert "没看懂续约日期" in bot.reply_to("rep-a", "续约 朱总 下辈子").text
    with Session(bot.runtime.engine) as s:
        renewal = s.get(Customer, cid).renewal_at
        rep = s.exec(select(Member).where(col(Member.sandbox_id) == "rep-a")).one()
    assert renewal is not None and renewal.astimezone(TZ).date().isoformat() == "2027-03-01"
    assert rep.display_name == "王芳"


def _as_outcome_line(c) -> str:  # a benchmark customer as an operator's outcomes line
    import json

    from benchmarks.churn_eval import _at

    return json.dumps({
        "contacts": [{"at": _at(d).isoformat(), "tags": list(t)} for d, (_, t) in zip(c.contacts, c.tags, strict=True)],
        "broken_promises": [_at(due).isoformat() for due, kept in c.promises if not kept],
        "renewals": [_at(r).isoformat() for r in ((c.renewal_day, c.renewal_day + 365) if c.renewal_day else ())],
        "lost_at": _at(c.churn_day).isoformat() if c.churn_day is not None else None,
    }, ensure_ascii=False)


def test_refit_from_outcomes_reproduces_the_benchmark_fit(monkeypatch, capsys, tmp_path):
    """benchmarks/churn_refit.py on a team's own outcomes is the benchmark's method: fed a small
    synthetic history as outcome lines it finds the same coefficients, weights and line as the
    benchmark's own pipeline on the same customers, and prints a [churn] block that genjin.toml
    loads back into exactly those settings."""
    np = pytest.importorskip("numpy")
    import tomllib

    from benchmarks import churn_eval as ev
    from benchmarks import churn_refit

    customers = ev.generate(7, 60, "v1")
    base = ChurnSettings().weights
    keys = ev.feature_keys(base)
    histories = ev.score_history(customers, base)
    x, y = ev.design(histories, keys)
    intercept, coef = ev.fit_logistic(x, y)
    expected = ev.fitted_weights(base, keys, coef)
    line = ev.choose_line(histories, ev.scores_of(histories, expected), 0.75)
    assert 0 < y.mean() < 1 and expected.tags["流失风险"] > 0  # a real fit, not an empty one

    path = tmp_path / "outcomes.jsonl"
    path.write_text("\n".join(_as_outcome_line(c) for c in customers) + "\n", encoding="utf-8")
    start, end = ev._at(ev.FIRST_SCORED), ev._at(ev.DAYS)
    monkeypatch.setattr(sys, "argv", ["churn_refit.py", str(path), "--from", start.isoformat(),
                                      "--to", end.isoformat()])
    churn_refit.main()
    printed = tomllib.loads(capsys.readouterr().out)["churn"]

    with path.open(encoding="utf-8") as f:
        got = churn_refit.refit(churn_refit.read_outcomes(f), start, end)
    assert got.intercept == pytest.approx(intercept) and got.customer_days == len(y)
    assert got.weights == expected and (got.alert_at, got.rearm_below) == line
    loaded = ChurnSettings(**printed)
    assert loaded.weights == expected and (loaded.alert_at, loaded.rearm_below) == line
    assert np.isfinite(coef).all()


def test_refit_counts_as_better_only_if_it_loses_no_recall():
    """churn_eval --refit recommends new defaults only for weights that are more precise without
    catching fewer losses: trading recall for precision along the same curve is not an improvement."""
    pytest.importorskip("numpy")
    from benchmarks.churn_eval import Result, dominates

    shipped = Result(alerts=143, correct=96, churners=573, caught=63, leads=[], customer_days=1)
    assert not dominates(Result(22, 19, 573, 17, [], 1), shipped)  # 86% at 3% recall: a trade
    assert dominates(Result(120, 90, 573, 63, [], 1), shipped)  # 75% at the same recall: better
    assert not dominates(shipped, shipped)
