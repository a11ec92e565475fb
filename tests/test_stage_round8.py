"""Stage, round 8 (issue #13): the rules' stage evidence is computed once and carried on StageInput, and the stage
head's own event-aspect features (bot/understanding/stage_features.py).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import numpy as np
import pytest

from bot.extract import extract
from bot.extract import stage as stage_rules
from bot.extract.model import StageInput
from bot.extract.stage import said_to_be_new, stage_evidence, stage_from_evidence, stage_hint
from bot.understanding import learned_layer as ll
from bot.understanding.stage_features import N_ASPECT, aspect_indices
from store.stages import Stage

SENT = datetime.fromisoformat("2026-11-16T10:00:00+08:00")


def _leaning_to(stage: Stage, rows: int = ll.N_STAGE_DENSE + ll.N_HASHED) -> ll.Weights:
    bias = np.zeros(len(ll.STAGES), dtype=np.float32)
    bias[ll.STAGES.index(stage)] = 10.0
    empty = np.zeros((1, 1), dtype=np.float32)
    return ll.Weights(empty, empty[0], empty[0], np.zeros((rows, len(ll.STAGES)), np.float32), bias, 0.0, {})


def _captured(text: str) -> StageInput:
    seen: list[StageInput] = []

    def stager(data: StageInput) -> Stage | None:
        seen.append(data)
        return data.rule_stage

    extract(text, ref_time=SENT, stager=stager)
    return seen[0]


@pytest.mark.parametrize("text", [
    "头一回上门拜访林经理，聊了聊他们仓库的情况",
    "新客户，贺总嫌我们的年费比同行高，想砍一点",
    "周二跟宁波港运的钱工打了电话，说下个月想安排一次试用",
])
def test_the_extractor_carries_the_rules_evidence_to_the_stager(text: str) -> None:
    data = _captured(text)
    assert data.new_contact is said_to_be_new(text)
    assert data.evidence is not None
    recomputed, _ = ll._evidence(dataclasses.replace(data, evidence=None, new_contact=None))
    assert (data.evidence if data.new_contact else frozenset()) == recomputed


def test_the_layer_reads_the_carried_evidence_and_does_not_run_the_rules_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def fail(*_: object, **__: object) -> None:
        raise AssertionError("the stage rules ran a second time")

    monkeypatch.setattr(ll, "stage_evidence", fail)
    monkeypatch.setattr(ll, "said_to_be_new", fail)
    text = "第一次见面，对方觉得我们的报价偏高"
    data = StageInput(text, "", ("价格异议",), Stage.NEEDS_CONFIRMED, False, True, frozenset(), True)
    assert ll.learned_stage(_leaning_to(Stage.NEGOTIATION), data) not in (Stage.NEGOTIATION, Stage.WON)
    carried_sale = dataclasses.replace(data, evidence=frozenset({Stage.WON}))
    assert ll.learned_stage(_leaning_to(Stage.WON), carried_sale) is Stage.WON


@pytest.mark.parametrize(("text", "tags"), [
    ("初次沟通，只是问了问价格", ()),
    ("尾款上周已经打过来了", ("付款回款",)),
    ("今天没见到人，电话也没打通", ()),
    ("他们下周要来公司看演示，顺便谈谈合同条款", ("要演示", "合同法务")),
])
def test_stage_hint_is_its_evidence_then_the_choice(text: str, tags: tuple[str, ...]) -> None:
    for customer in (False, True):
        assert stage_hint(text, tags, customer=customer) == stage_from_evidence(
            stage_evidence(text, tags), customer=customer)


def test_the_extractor_runs_the_stage_rules_once_per_message(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    real = stage_rules.stage_evidence

    def counting(*args: object, **kwargs: object) -> object:
        calls.append("x")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stage_rules, "stage_evidence", counting)
    monkeypatch.setattr("bot.extract.extractor.stage_evidence", counting)
    monkeypatch.setattr(ll, "stage_evidence", counting)
    weights = _leaning_to(Stage.DEMO)
    extract("刚认识的客户梁女士，想约个时间看看演示", ref_time=SENT, stager=lambda d: ll.learned_stage(weights, d))
    assert len(calls) == 1


@pytest.mark.parametrize(("done", "not_done"), [
    ("合同已经签好了", "合同还没签"),
    ("他们已经把货款打过来了", "他们还没有把货款打过来"),
    ("演示已经做完了", "演示准备下周做"),
    ("系统上个月已经上线了", "系统如果能上线的话"),
])
def test_an_event_with_its_aspect_is_a_feature_of_its_own(done: str, not_done: str) -> None:
    """The marker may stand words away from the event: the pairing reads the clause, not adjacent grams."""
    assert aspect_indices(done, "") != aspect_indices(not_done, "")
    assert all(0 <= i < N_ASPECT for i in aspect_indices(done, "") + aspect_indices(not_done, ""))


def test_the_same_words_on_the_reps_side_are_other_features() -> None:
    assert set(aspect_indices("合同已经签了", "")).isdisjoint(aspect_indices("", "合同已经签了"))


def test_weights_without_the_aspect_block_decide_as_before() -> None:
    """Round-7 weights (no rows for the stage-only block) load and read the shared n-grams only."""
    data = StageInput("合同还没有盖章", "", ("合同法务",), Stage.NEGOTIATION, False, True)
    old = _leaning_to(Stage.NEGOTIATION)
    assert ll.stage_probabilities(old, data).shape == (len(ll.STAGES),)
    assert ll.learned_stage(old, data) is Stage.NEGOTIATION


def test_an_aspect_weight_moves_the_stage() -> None:
    rows = ll.N_STAGE_DENSE + ll.N_HASHED + N_ASPECT
    w = _leaning_to(Stage.NEGOTIATION, rows)
    signed = StageInput("合同已经盖好章寄回来了", "", ("合同法务",), Stage.NEGOTIATION, False, True)
    unsigned = StageInput("合同还没盖章", "", ("合同法务",), Stage.NEGOTIATION, False, True)
    only_signed = sorted(set(aspect_indices(signed.customer_text, ""))
                         - set(aspect_indices(unsigned.customer_text, "")))
    assert only_signed
    w.stage_w[ll.N_STAGE_DENSE + ll.N_HASHED + np.array(only_signed), ll.STAGES.index(Stage.WON)] = 20.0
    assert ll.learned_stage(w, signed) is Stage.WON
    assert ll.learned_stage(w, unsigned) is Stage.NEGOTIATION


def test_a_stage_head_of_another_shape_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    shipped = ll.shipped_weights()
    assert shipped is not None
    path = tmp_path / "w.npz"
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["stage_w"] = np.zeros((ll.N_STAGE_DENSE + ll.N_HASHED + 7, len(ll.STAGES)), np.float16)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="stage head"):
        ll.load_weights(path)
    arrays["stage_w"] = np.zeros((ll.N_STAGE_DENSE + ll.N_HASHED + N_ASPECT, len(ll.STAGES)), np.float16)
    np.savez(path, **arrays)
    assert ll.load_weights(path).stage_w.shape[0] == ll.N_STAGE_DENSE + ll.N_HASHED + N_ASPECT
