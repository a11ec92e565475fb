"""Round 18: the pooled clause scores of the tag layer (learned_layer.clause_scores, pool_clause_scores,
clause_logodds; train_learned_layer.Config.clause_max).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from benchmarks import train_learned_layer as tl
from bot.extract.model import StageInput, TagInput
from bot.understanding import learned_layer as ll
from tests.tag_layer_support import assert_declines_and_rep_offers_only_lower, without_clause_meta

N = len(ll.TAGS)


def _random_tag_w(seed: int, bits: int = 10) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, (ll.N_TAG_DENSE + (len(ll.SCOPES) << bits), N)).astype(np.float32)


def _base() -> ll.Weights:
    """The shipped weights without their clause block (shipped since round 19: the last N second-stage rows, no form
    inputs after it)."""
    weights = ll.shipped_weights()
    assert weights is not None and weights.stack_w is not None and not weights.form
    if weights.clause_max is None:
        return weights
    return dataclasses.replace(weights, clause_max=None, stack_w=weights.stack_w[:-N])


def _with_clause_block(seed: int, pooling: str) -> ll.Weights:
    """The shipped weights with the clause block read by a second stage whose rows for it obey
    clause_stack_bounds (own tag only, >= 0) and are otherwise random."""
    weights = _base()
    assert weights.stack_w is not None
    block = np.abs(np.random.default_rng(seed).normal(0, 3, (N, N))).astype(np.float32)
    pos, zero = ll.clause_stack_bounds()
    block[zero] = 0.0
    assert (block[pos] >= 0).all()
    return dataclasses.replace(weights, stack_w=np.vstack([weights.stack_w, block]), clause_max=pooling)


def test_only_plain_customer_clauses_are_scored_each_by_its_own_keys() -> None:
    tag_w = _random_tag_w(1)
    data = TagInput("价格还要再谈，演示就先不用安排了，系统上周又宕机了", "我们可以先给您出个报价", (), (), True)
    scores = ll.clause_scores(tag_w, data)
    assert scores.shape == (2, N)  # the negated clause and the rep's turn are left out
    bits = ll.tag_hash_bits(tag_w)
    for row, clause in zip(scores, ("价格还要再谈", "系统上周又宕机了"), strict=True):
        keys = ll.fold(np.array(sorted({ll._hash(k) for k in ll._clause_keys(clause)}), dtype=np.int64), bits)
        assert row == pytest.approx(tag_w[ll.N_TAG_DENSE + keys].astype(np.float64).sum(axis=0))
    assert ll.clause_scores(tag_w, TagInput("", "好的", (), (), True)).shape == (0, N)


@pytest.mark.parametrize("pooling", ll.CLAUSE_POOLINGS)
def test_a_clause_can_only_raise_the_pooled_score_and_no_clause_is_zero(pooling: str) -> None:
    scores = np.random.default_rng(2).normal(0.0, 2.0, (5, N))
    for k in range(len(scores)):
        more, fewer = ll.pool_clause_scores(scores[: k + 1], pooling), ll.pool_clause_scores(scores[:k], pooling)
        assert (more >= fewer - 1e-9).all()
    assert (ll.pool_clause_scores(np.zeros((0, N)), "max") == 0).all()
    assert (ll.pool_clause_scores(np.full((1, N), 99.0), pooling) == ll.MLP_CLIP).all()
    with pytest.raises(ValueError):
        ll.pool_clause_scores(scores, "mean")


def test_a_decisive_clause_is_not_diluted_by_the_others() -> None:
    """The point of the lever: the pooled max of a long message is at least its strongest clause's score alone,
    whatever the other clauses' keys weigh (the message-level sum is not)."""
    tag_w = _random_tag_w(3)
    alone = ll.pool_clause_scores(ll.clause_scores(tag_w, TagInput("下周来演示一下", "", (), (), True)), "max")
    long = TagInput("下周来演示一下，老板最近在外地出差，他们仓库在搬家，财务换了人", "", (), (), True)
    assert (ll.pool_clause_scores(ll.clause_scores(tag_w, long), "max") >= alone - 1e-9).all()


@pytest.mark.parametrize(("seed", "pooling"), [(1, "max"), (2, "softmax"), (3, "max")])
def test_the_clause_block_keeps_the_guarantees(seed: int, pooling: str) -> None:
    """A negated clause or a rep's offer never enters the pool, so within the bounds it still only lowers."""
    weights = _with_clause_block(seed, pooling)
    assert_declines_and_rep_offers_only_lower(weights)
    data = TagInput("邹总说下周想看演示", "", (), (), True)
    without = dataclasses.replace(weights, clause_max=None, stack_w=weights.stack_w[:-N])  # type: ignore[index]
    assert ll.tag_probabilities(weights, data, ()) != ll.tag_probabilities(without, data, ())  # the block is read

def test_weights_with_the_flag_load_and_others_are_refused(tmp_path: Path) -> None:
    weights = _base()
    assert weights.stack_w is not None
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    without_clause_meta(arrays)
    meta = json.loads(str(arrays["meta"]))
    path = tmp_path / "layer.npz"
    arrays["stack_w"] = np.vstack([weights.stack_w, np.eye(N, dtype=np.float32)])
    np.savez(path, **{**arrays, "meta": np.array(json.dumps({**meta, "clause_max": "max"}))})
    assert ll.load_weights(path).clause_max == "max"
    np.savez(path, **{**arrays, "meta": np.array(json.dumps({**meta, "clause_max": "mean"}))})
    with pytest.raises(ValueError):
        ll.load_weights(path)  # a pooling this code does not know
    np.savez(path, **arrays)
    with pytest.raises(ValueError):
        ll.load_weights(path)  # ten more rows without the flag: another shape


def _item(k: int, text: str, tags: list[str], author: str) -> tl.Item:
    data = TagInput(text, "", (), (), False)
    stage = StageInput(text, "", (), None, False, False)
    return tl.Item({"id": str(k), "expect": {"tags": tags}}, author, data, (), stage, set(), None,
                   ll.text_indices(text, ""))


def test_the_trainer_bounds_the_block_and_reads_it_out_of_fold() -> None:
    texts = ("价格太贵了", "下周来演示一下", "合同法务在看", "付款走三个节点", "钉钉那个便宜", "好的")
    items = [_item(k, texts[k % 6], [ll.TAGS[k % 3]], f"a{k % 4}") for k in range(24)]
    cfg = tl.Config(l2_hash=1.0, folds=2, iters=5, clause_max="max")
    first = tl._first_stage_oof(items, cfg, cfg.folds)
    pooled = tl.clause_oof(items, cfg, cfg.folds)
    group = tl.author_groups(items, cfg.folds)
    held = [i for i in items if group[i.author] == 0]
    w0 = tl.first_stage_weights(tl.fit_tags([i for i in items if group[i.author] != 0], cfg))
    k = items.index(held[0])
    assert pooled[k] == pytest.approx(tl.clause_row(w0.tag_w, held[0], cfg, "max"))  # its group's fit, not the pool's
    extra = np.random.default_rng(0).normal(0.0, 3.0, pooled.shape)  # of any sign: the bounds must hold anyway
    w, _ = tl.fit_stack(items, first, 1.0, mlp=extra, clause=True)
    block = w[N + ll.N_TAG_DENSE :]
    pos, zero = ll.clause_stack_bounds()
    assert (block[pos] >= 0).all() and (block[zero] == 0).all()
    assert tl.extra_oof(items, cfg, cfg.folds) == pytest.approx(pooled)
    stack = (w.astype(np.float32), np.zeros(N, dtype=np.float32))
    fit = tl.fit_tags(items, cfg)
    assert tl.weights(fit, (np.zeros((1, 1)), np.zeros(1)), np.full(N, 0.5), 0.0, stack=stack).clause_max == "max"
    assert tl.weights(fit, (np.zeros((1, 1)), np.zeros(1)), np.full(N, 0.5), 0.0).clause_max is None


def test_the_shipped_weights_read_the_pooled_clause_scores() -> None:
    """Round 19: measured +2.0 points out of fold on unread authors (FINAL_TAGS.md), so the default retrain fits it."""
    weights = ll.shipped_weights()
    assert weights is not None and weights.clause_max == tl.SHIPPED_CLAUSE_MAX == "max"
