"""The anomaly detectors as pure functions: each fires one past its boundary and not on it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.anomalies.facts import record_facts
from bot.anomalies.rules import (
    Statement,
    amount_outlier,
    bulk_runs,
    contradiction,
    local_day,
    median_price,
    same_company,
    too_many_entries,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


def test_entries_fire_past_the_limit_only():
    assert not too_many_entries(200, 200)
    assert too_many_entries(201, 200)
    assert not too_many_entries(0, 200)


def test_the_day_is_the_local_day():
    # 16:30 UTC on the 16th is 00:30 on the 17th in Shanghai: the 17th's entries
    day, start, end = local_day(datetime(2026, 11, 16, 16, 30, tzinfo=UTC), SHANGHAI)
    assert day == date(2026, 11, 17)
    assert start == datetime(2026, 11, 16, 16, 0, tzinfo=UTC) and end - start == timedelta(days=1)


def test_bulk_runs_need_more_than_k_within_the_window():
    window = timedelta(minutes=10)
    twenty = [T + timedelta(seconds=20 * i) for i in range(20)]
    assert bulk_runs(twenty, 20, window) == []
    twenty_one = [*twenty, T + timedelta(minutes=9, seconds=59)]
    assert bulk_runs(twenty_one, 20, window) == [range(0, 21)]
    # the 21st change exactly one window after the first is outside it
    assert bulk_runs([*twenty, T + window], 20, window) == []


def test_bulk_runs_are_stable_and_do_not_overlap():
    window = timedelta(minutes=10)
    times = [T + timedelta(seconds=10 * i) for i in range(50)]  # 50 changes in about 8 minutes
    runs = bulk_runs(times, 20, window)
    assert runs == [range(0, 50)]
    spread = [T + timedelta(minutes=i) for i in range(60)]  # one a minute: 10 per window
    assert bulk_runs(spread, 20, window) == []


def test_amount_outlier_both_ways_with_exclusive_bounds():
    assert not amount_outlier(5 * 39_800, 39_800, 5)
    assert amount_outlier(5 * 39_800 + 1, 39_800, 5)
    assert not amount_outlier(10_000, 50_000, 5)  # exactly a fifth
    assert amount_outlier(9_999, 50_000, 5)
    assert not amount_outlier(39_800, 39_800, 5)


def test_median_needs_enough_samples_and_ignores_one_wild_amount():
    assert median_price([39_800, 41_000], 3) is None
    assert median_price([39_800, 41_000, 3_980_000], 3) == 41_000


def test_contradictory_companies_within_the_window_only():
    window = timedelta(hours=1)
    a = Statement(followup_id=1, at=T, companies=("万通物流",))
    b = Statement(followup_id=2, at=T + timedelta(minutes=59), companies=("华信科技",))
    found = contradiction([a, b], window)
    assert found is not None and found.field == "公司" and found.followup_ids == (1, 2)
    late = Statement(followup_id=2, at=T + timedelta(minutes=61), companies=("华信科技",))
    assert contradiction([a, late], window) is None
    same = Statement(followup_id=3, at=T + timedelta(minutes=5), companies=("万通物流有限公司",))
    assert contradiction([a, same], window) is None


def test_contradiction_only_about_the_record_checked():
    window = timedelta(hours=1)
    a = Statement(followup_id=1, at=T, companies=("万通物流",))
    b = Statement(followup_id=2, at=T + timedelta(minutes=5), companies=("华信科技",))
    c = Statement(followup_id=3, at=T + timedelta(minutes=10), companies=("博远教育",))
    assert contradiction([a, b], window, involving=3) is None
    found = contradiction([a, b, c], window, involving=3)
    assert found is not None and found.followup_ids == (1, 3)


def test_contradictory_roles():
    window = timedelta(hours=1)
    found = contradiction([Statement(followup_id=None, at=T, titles=("采购总监",)),
                           Statement(followup_id=7, at=T + timedelta(minutes=10), titles=("财务经理",))], window)
    assert found is not None and found.field == "职位" and found.followup_ids == (7,)
    assert contradiction([Statement(followup_id=None, at=T, titles=("采购总监",)),
                          Statement(followup_id=7, at=T, titles=("采购总监",))], window) is None


def test_company_names_compare_without_legal_form():
    assert same_company("万通物流", "万通物流有限公司")
    assert not same_company("万通物流", "华信科技")


def test_record_facts_read_company_role_and_phone_but_not_competitors():
    facts = record_facts("华信科技的张总，职位：采购总监，电话13912345678")
    assert facts.companies == ("华信科技",)
    assert facts.titles == ("采购总监",)
    assert facts.phones == ("+8613912345678",)
    assert record_facts("张伟说东软便宜").companies == ()


def test_review_cards_carry_their_actions_on_wecom_and_dingtalk():
    from bot.cards.anomalies import build_anomaly_card, build_returned_card
    from bot.platforms.dingtalk import render as dingtalk
    from bot.platforms.wecom import render as wecom
    from store.models import Anomaly

    anomaly = Anomaly(id=7, key="amount:3", kind="amount", team_id=1, rep_id=2, summary="李强 的金额 398万元",
                      reason="写成了三年合同额", status="returned", created_at=T)
    card = build_anomaly_card(anomaly=anomaly, rep_name="王芳", records=1, console_url="https://g.example.com")
    assert [b.label for b in card.buttons] == ["没问题", "退回给销售"]
    assert [(link.label, link.url) for link in card.links] == [("查看", "https://g.example.com/console/anomalies")]
    assert build_anomaly_card(anomaly=anomaly, rep_name="王芳", records=1, console_url=None).links == []
    assert wecom.card_actions(wecom.render_wecom(card, task_id="t1")) >= {"anomaly_ok:7", "anomaly_return:7"}
    assert dingtalk.card_actions(dingtalk.render_dingtalk(card)) >= {"anomaly_ok:7", "anomaly_return:7"}
    returned = build_returned_card(anomaly=anomaly, reviewer_name="陈主管", console_url=None)
    assert "主管意见：写成了三年合同额" in returned.notes[0] and "点「改金额」" in returned.notes[0]
    assert wecom.card_actions(wecom.render_wecom(returned, task_id="t2")) >= {"anomaly_amount:7", "anomaly_fixed:7"}
