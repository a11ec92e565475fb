"""The data-health score's formula (store/health_score.py): weights, parts left out when there is
nothing to count, bounds, and the coaching threshold."""

from __future__ import annotations

import pytest

from store.health import is_backward
from store.health_score import COACHING_BELOW, WEIGHTS, HealthCounts, health_score


def test_weights_add_up_to_100():
    assert sum(WEIGHTS.values()) == 100


def test_a_perfect_week_scores_100_and_each_part_earns_its_weight():
    counts = HealthCounts(records=10, confirmed=10, fields_filled=50, corrected=0, stage_moves=4, leads=3,
                          leads_on_time=3, amount_total=90_000, amount_from_catalog=90_000, visits_judged=2,
                          visits_noted=2)
    score = health_score(counts)
    assert score.score == 100 and not score.needs_coaching
    assert score.points == pytest.approx({name: float(w) for name, w in WEIGHTS.items()})


def test_each_part_is_its_share_times_its_weight():
    counts = HealthCounts(records=10, confirmed=8, fields_filled=32, corrected=2, stage_moves=3, stage_backward=1,
                          stage_refused=1, leads=4, leads_on_time=1)
    score = health_score(counts)
    assert score.parts == pytest.approx({"completeness": 32 / 40, "plausibility": 2 / 4, "confirmation": 0.8,
                                         "corrections": 6 / 8, "first_response": 0.25, "catalog": None,
                                         "post_visit": None})
    # No catalog amounts and no visits: the five original parts, their weights (24/12/16/12/16 = 80)
    # scaled back to 100 — the score a rep had before those two parts existed.
    expected = 30 * 0.8 + 15 * 0.5 + 20 * 0.8 + 15 * 0.75 + 20 * 0.25
    assert score.score == round(expected) == 64 and score.needs_coaching


def test_catalog_share_and_post_visit_timeliness_are_parts_of_the_score():
    base = dict(records=10, confirmed=10, fields_filled=50, corrected=0, stage_moves=4, leads=3, leads_on_time=3)
    score = health_score(HealthCounts(**base, amount_total=100_000, amount_from_catalog=40_000, visits_judged=4,
                                      visits_noted=1))
    assert score.parts["catalog"] == pytest.approx(0.4) and score.parts["post_visit"] == pytest.approx(0.25)
    assert score.points["catalog"] == pytest.approx(4.0) and score.points["post_visit"] == pytest.approx(2.5)
    assert score.score == round(80 + 4 + 2.5)


def test_a_part_with_nothing_to_count_is_left_out_and_the_rest_scaled():
    # No stage moves, no leads, no catalog amounts, no visits: 52 of the 100 points of weight left, scaled.
    counts = HealthCounts(records=4, confirmed=4, fields_filled=20, corrected=0)
    score = health_score(counts)
    assert score.parts["plausibility"] is None and score.parts["first_response"] is None
    assert score.score == 100 and set(score.points) == {"completeness", "confirmation", "corrections"}
    half = health_score(HealthCounts(records=4, confirmed=2, fields_filled=10, corrected=0))
    assert half.score == round(100 * (24 + 16 * 0.5 + 12) / 52)


def test_nothing_counted_is_no_score_not_zero():
    score = health_score(HealthCounts())
    assert score.score is None and not score.needs_coaching and score.points == {}


def test_only_drafts_scores_zero_and_needs_coaching():
    score = health_score(HealthCounts(records=3))
    assert score.score == 0 and score.needs_coaching and COACHING_BELOW == 70


def test_shares_stay_within_bounds():
    counts = HealthCounts(records=1, confirmed=1, fields_filled=9, stage_moves=1, stage_backward=1, stage_refused=5)
    score = health_score(counts)
    assert all(0.0 <= p <= 1.0 for p in score.parts.values() if p is not None)
    assert 0 <= (score.score or 0) <= 100


@pytest.mark.parametrize(("summary", "backward"), [
    ("阶段 方案演示 → 需求确认", True), ("阶段 初步接触 → 需求确认", False), ("阶段 合同洽谈 → 已流失", False),
    ("阶段 已流失 → 初步接触", False), ("阶段 已成交 → 初步接触", True), ("事件 2", False),
])
def test_backward_moves_go_back_along_the_path(summary, backward):
    assert is_backward(summary) is backward
