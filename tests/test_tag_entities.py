"""Round 14: who and what a clause talks about, as keys of the learned tag model (entity_keys.clause_entity_keys,
learned_layer.tag_text_indices with `entities`, train_learned_layer.Config.entities).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks import train_learned_layer as tl
from bot.extract.model import StageInput, TagInput
from bot.understanding import learned_layer as ll
from bot.understanding.entity_keys import clause_entity_keys
from bot.understanding.semantic_tags import negated
from tests.tag_layer_support import assert_declines_and_rep_offers_only_lower

SIZE = 1 << ll.FEATURE_BITS


@pytest.mark.parametrize(("clause", "expected"), [
    ("其他厂家报的价低一些", {"e:other_firm"}),
    ("人家的系统便宜一半", {"e:their_side"}),
    ("新来的运营总监要重新审批", {"e:role", "a:change", "a:decide", "ea:role:change", "ea:role:decide"}),
    ("我们打算自己开发一套", {"e:self_do"}),
    ("现在用的是Zendesk，比你们好用", {"e:brand", "a:use", "a:cmp", "ea:brand:use", "ea:brand:cmp"}),
])
def test_a_clause_gets_keys_for_what_it_names_and_what_it_does_with_it(clause: str, expected: set[str]) -> None:
    assert expected <= clause_entity_keys(clause)


@pytest.mark.parametrize("clause", ["好的", "下午三点到", "", "  "])
def test_a_clause_naming_nothing_gets_no_key(clause: str) -> None:
    assert not {k for k in clause_entity_keys(clause) if k.startswith(("e:", "ea:"))}


def _scope_of(index: int) -> str:
    return ll.SCOPES[index // SIZE]


def test_the_keys_land_in_the_scope_of_their_clause() -> None:
    firm, declined = "其他厂家报的价低一些", "不考虑换别家"
    assert negated(declined) and not negated(firm)
    data = TagInput(f"{firm}\n{declined}", "新来的总监下周到", (), (), False)
    old = ll.tag_text_indices(data, False)
    assert np.array_equal(old, ll.text_indices(data.customer_text, data.rep_text))
    new = ll.tag_text_indices(data, False, entities=True)
    assert set(old.tolist()) < set(new.tolist())
    added = set(new.tolist()) - set(old.tolist())
    expect = {("C", k) for k in clause_entity_keys(firm)} | {("CN", k) for k in clause_entity_keys(declined)} \
        | {("R", k) for k in clause_entity_keys("新来的总监下周到")}
    assert {(_scope_of(i), i % SIZE) for i in added} <= {(s, ll._hash(k)) for s, k in expect}
    assert ("CN", ll._hash("e:other_firm")) in {(_scope_of(i), i % SIZE) for i in added}
    assert ("R", ll._hash("ea:role:change")) in {(_scope_of(i), i % SIZE) for i in added}


def test_weights_without_the_flag_read_no_entity_key() -> None:
    weights = ll.shipped_weights()
    assert weights is not None and not weights.entities  # the shipped file has no "entities" in its meta
    data = TagInput("其他厂家报的价低一些，新来的总监要重新审批", "", (), (), False)
    hashed = ll.fold(ll.tag_text_indices(data, weights.dialogue), ll.tag_hash_bits(weights.tag_w))
    z = ll._scores(weights.tag_w, weights.tag_b, ll.tag_dense(data, ()), hashed)
    expected = 1 / (1 + np.exp(-np.clip(z, -30, 30)))  # the shipped weights have no pool and no vector block
    assert ll.first_stage_probabilities(weights, data, ()) == pytest.approx(expected)
    on = dataclasses.replace(weights, entities=True)  # the same weights reading the keys decide otherwise
    assert ll.first_stage_probabilities(on, data, ()).tolist() != pytest.approx(expected.tolist())
    assert_declines_and_rep_offers_only_lower(on)


def _item(k: int, data: TagInput, tags: list[str], author: str) -> tl.Item:
    stage = StageInput(data.customer_text, data.rep_text, (), None, False, False)
    return tl.Item({"id": str(k), "expect": {"tags": tags}}, author, data, (), stage, set(), None,
                   ll.text_indices(data.customer_text, data.rep_text))


def test_the_trainer_reads_the_keys_only_with_the_option_and_records_it() -> None:
    rival = _item(0, TagInput("其他厂家报的价低一些", "", (), (), False), ["竞品对比"], "a")
    plain = _item(1, TagInput("下午三点到", "", (), (), False), [], "b")
    assert np.array_equal(tl.tag_hashed(rival, False), rival.hashed)
    assert np.array_equal(tl.tag_hashed(rival, False, True), ll.tag_text_indices(rival.tag_input, False, True))
    cfg = tl.Config(l2_hash=1.0, iters=5, entities=True)
    fit = tl.fit_tags([rival, plain], cfg)
    w = tl.weights(fit, (np.zeros((1, 1)), np.zeros(1)), np.full(len(ll.TAGS), 0.5), 0.0)
    assert w.entities and not w.dialogue
    row = ll.N_TAG_DENSE + ll._hash("e:other_firm")  # scope C of a 2^16 table
    assert fit.w[row, ll.TAGS.index("竞品对比")] > 0
    assert not tl.weights(tl.fit_tags([rival, plain], dataclasses.replace(cfg, entities=False)),
                          (np.zeros((1, 1)), np.zeros(1)), np.full(len(ll.TAGS), 0.5), 0.0).entities
