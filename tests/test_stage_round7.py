"""The learned stage model keeps a contact the text calls new early in the funnel (issue #13, round 7).

"Stage from evidence: a new customer starts at 初步接触 unless the text shows more." The sentences here were
written for these tests; none is a corpus text.
"""

from __future__ import annotations

import numpy as np
import pytest

from bot.extract.model import StageInput
from bot.extract.stage import said_to_be_new, stage_evidence, stage_hint
from bot.understanding import learned_layer as ll
from store.stages import Stage


def _leaning_to(stage: Stage) -> ll.Weights:
    """Stage weights whose bias alone prefers `stage` by far: a model that has learned the wrong thing."""
    bias = np.zeros(len(ll.STAGES), dtype=np.float32)
    bias[ll.STAGES.index(stage)] = 10.0
    empty = np.zeros((1, 1), dtype=np.float32)
    stage_w = np.zeros((ll.N_STAGE_DENSE + ll.N_HASHED, len(ll.STAGES)), dtype=np.float32)
    return ll.Weights(empty, empty[0], empty[0], stage_w, bias, 0.0, {})


def _input(text: str, tags: tuple[str, ...] = ("价格异议",)) -> StageInput:
    rule = stage_hint(text, tags, customer=True)
    return StageInput(text, "", tags, rule, False, True)


@pytest.mark.parametrize("text", [
    "第一次见面，他说价格有点高，想便宜点",
    "刚认识的客户，嫌我们比别家贵",
    "新客户，一听价格就说太贵了，问能不能打个折",
])
def test_price_talk_with_a_new_contact_is_never_bargaining_or_a_sale(text: str) -> None:
    for wrong in (Stage.NEGOTIATION, Stage.WON):
        assert ll.learned_stage(_leaning_to(wrong), _input(text)) not in (Stage.NEGOTIATION, Stage.WON)


def test_a_new_contact_can_still_reach_a_demo_and_be_lost() -> None:
    text = "第一次拜访就给他们看了演示"
    assert ll.learned_stage(_leaning_to(Stage.DEMO), _input(text, ("要演示",))) is Stage.DEMO
    assert ll.learned_stage(_leaning_to(Stage.LOST), _input("第一次聊完，他们说已经定了别家")) is Stage.LOST


def test_without_words_of_a_new_contact_the_model_may_advance() -> None:
    """The bound is the text's own evidence, not price talk: the same model moves an old contact on."""
    text = "他说价格有点高，想便宜点"
    assert not said_to_be_new(text)
    assert ll.learned_stage(_leaning_to(Stage.NEGOTIATION), _input(text)) is Stage.NEGOTIATION


def test_a_new_contact_with_evidence_of_more_keeps_that_evidence() -> None:
    text = "第一次见面，合同已经签了，下周发货"
    assert said_to_be_new(text) and Stage.WON in (stage_evidence(text, ()) or set())
    assert ll.learned_stage(_leaning_to(Stage.WON), _input(text, ())) is Stage.WON


@pytest.mark.parametrize(("text", "new"), [
    ("第一次见面，他说价格有点高", True),
    ("初次拜访，聊得还行", True),
    ("刚加了微信的客户，问了下价格", True),
    ("年后第一次去他们那边，设备都正常", False),  # a first within a period: a routine visit
    ("这个月第一次拜访，聊了聊续费的事", False),
    ("初步判断是网络的问题", False),  # early words that are no new contact
    ("想先了解一下你们的系统", False),
])
def test_a_new_contact_is_said_of_the_contact_not_of_any_first(text: str, new: bool) -> None:
    assert said_to_be_new(text) is new


def test_the_evidence_lists_every_candidate_stage_not_only_the_most_advanced() -> None:
    found = stage_evidence("他们先要一份报价，下周再来公司做个演示", ("要报价", "要演示"))
    assert found is not None and {Stage.NEEDS_CONFIRMED, Stage.DEMO} <= found
    assert stage_hint("他们先要一份报价，下周再来公司做个演示", ("要报价", "要演示")) is Stage.DEMO
