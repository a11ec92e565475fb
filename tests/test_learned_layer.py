"""The learned tag and stage layer (bot/understanding/learned_layer.py, issue #13 round 5).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import zlib
from datetime import datetime

import numpy as np
import pytest

from benchmarks.corpora import TRAINING_POOL, is_trainable
from bot.extract.model import TagInput
from bot.extract.textnorm import clauses
from bot.understanding import learned_layer as ll
from bot.understanding.semantic_tags import CUSTOMER_REQUEST_TAGS, NEGATIVE_BY_NATURE, negated
from bot.understanding.text import make_stager, understand_text
from store.stages import Stage

SENT = datetime.fromisoformat("2026-11-16T10:00:00+08:00")


def test_the_weights_load_once_per_process() -> None:
    first = ll.shipped_weights()
    assert first is not None
    for text in ("客户说价格太高了", "下周三上午去他们公司演示"):
        understand_text(text, sent_at=SENT)
    assert ll.shipped_weights() is first
    assert ll.SHIPPED.loads == 1


def test_the_shipped_weights_are_small_and_trained_on_the_training_pool_only() -> None:
    weights = ll.shipped_weights()
    assert weights is not None
    assert ll.WEIGHTS_FILE.stat().st_size < 10_000_000  # round 11: + the hidden layer (~2 MB); brief: under ~20 MB
    trained_on = weights.meta["trained_on"]
    assert isinstance(trained_on, list) and trained_on
    pool = {p.resolve().relative_to(ll.WEIGHTS_FILE.parents[2]).as_posix() for p in TRAINING_POOL}
    assert set(trained_on) == pool
    assert all(is_trainable(ll.WEIGHTS_FILE.parents[2] / p) for p in trained_on)


def test_inference_is_deterministic() -> None:
    weights = ll.shipped_weights()
    assert weights is not None
    data = TagInput("刘主任说系统老是卡，报表也导不出来，再这样下去明年就不续了", "", ("技术问题",), (), False)
    first = ll.tag_probabilities(weights, data, ("技术问题",))
    ll._features.cache_clear()
    assert ll.tag_probabilities(weights, data, ("技术问题",)) == first
    text = "何经理 11/16 09:30\n你们的方案我们领导看过了，就是单价比另外一家高了不少，能再让一点吗"
    assert understand_text(text, sent_at=SENT) == understand_text(text, sent_at=SENT)


def test_a_negation_or_a_reps_offer_can_only_lower_a_request() -> None:
    """Training keeps these weights <= 0, so a declined demo or quote never adds the tag."""
    weights = ll.shipped_weights()
    assert weights is not None
    size = 1 << ll.tag_hash_bits(weights.tag_w)
    for j, tag in enumerate(ll.TAGS):
        for block in ll.nonpositive_blocks(tag):
            start = ll.N_TAG_DENSE + block * size
            assert (weights.tag_w[start : start + size, j] <= 0).all(), (tag, block)
    assert ll.nonpositive_blocks("要演示") == (1, 2, 3)
    assert all(ll.nonpositive_blocks(t) == () for t in NEGATIVE_BY_NATURE if t not in CUSTOMER_REQUEST_TAGS)


@pytest.mark.parametrize("negated_clause", ["演示就先不用安排了", "暂时不需要报价", "没提降价的事"])
def test_adding_a_negated_clause_never_raises_a_request_or_objection(negated_clause: str) -> None:
    weights = ll.shipped_weights()
    assert weights is not None
    base = "孙总说他们下个月要上新产线"
    plain = ll.tag_probabilities(weights, TagInput(base, "", (), (), True), ())
    more = ll.tag_probabilities(weights, TagInput(f"{base}，{negated_clause}", "", (), (), True), ())
    for tag in ll.TAGS:
        if tag not in NEGATIVE_BY_NATURE:
            assert more[tag] <= plain[tag] + 1e-9, tag


def test_a_declined_demo_is_no_demo_request() -> None:
    text = "跟冯经理通了电话，他说演示就不必了，他们内部已经看过录屏，下周再聊合同细节"
    assert "要演示" not in understand_text(text, sent_at=SENT).tags


def test_rules_only_stays_available() -> None:
    assert make_stager(learned=False) is None
    text = "客户周总说想先了解一下我们的排班系统"
    rules = understand_text(text, sent_at=SENT, learned=False)
    assert rules == understand_text(text, sent_at=SENT, learned=False)


def test_stage_probabilities_are_a_distribution() -> None:
    weights = ll.shipped_weights()
    assert weights is not None
    from bot.extract.model import StageInput

    p = ll.stage_probabilities(weights, StageInput("合同已经盖章寄回来了", "", ("合同法务",), None, False, True))
    assert p.shape == (len(ll.STAGES),) and np.isclose(p.sum(), 1.0)


# Decisions the rules get wrong and the learned layer gets right, by the README's conventions. After a retrain
# (benchmarks/train_learned_layer.py --write) over changed rules, a sentence the rules now get right may be
# replaced by another new one.
@pytest.mark.parametrize(("text", "tags"), [
    ("潘总说想先拿一台样机回去测一测", ("要演示",)),  # a trial asked for
    ("麦总说合同他们律师还在过，估计下周能回", ("合同法务",)),  # legal review under way
])
def test_the_learned_layer_finds_a_tag_the_rules_miss(text: str, tags: tuple[str, ...]) -> None:
    assert understand_text(text, sent_at=SENT, learned=False).tags != tags
    assert understand_text(text, sent_at=SENT).tags == tags


def test_the_learned_layer_reads_a_paying_customer_as_won() -> None:
    text = "欧阳主任说下个月起三个分厂都切到我们的系统，首期款本周打过来"
    assert understand_text(text, sent_at=SENT, learned=False).stage_hint is not Stage.WON
    assert understand_text(text, sent_at=SENT).stage_hint is Stage.WON


# A strict xfail from round 5 (a long memo naming five things kept only some of their tags) to round 13; the
# round-14 and round-15 retrains keep all five; the round-16 retrain (20395 records, 136 authors) drops 价格异议
# again (measured after the retrain, not tuned); round 19's retrain (156 authors, with the pooled clause scores)
# keeps all five again.
def test_a_long_memo_keeps_every_tag_it_names() -> None:
    text = ("今天下午去了恒达制造，见了采购部的李明李经理。他们现在用的是别家的系统，觉得价格有点贵，"
            "想要我们出一份正式报价。他说老板要看演示。我们约好下周五上午去他们公司做一次产品演示。")
    assert {"价格异议", "竞品对比", "要报价", "要演示", "预约拜访"} <= set(understand_text(text, sent_at=SENT).tags)


# The clause-level part of the tag model (round 6): each plain customer clause is scored on its own and a
# message reads the soft maximum, so a tag said in one clause of a long memo is not diluted by the others.
def _pool_weights(hot: dict[str, dict[str, float]]) -> np.ndarray:
    """A clause-pool table where each listed clause key adds its weight to a tag; everything else is -1."""
    w = np.full((1 << ll.HASH_BITS, len(ll.TAGS)), -0.05, dtype=np.float32)
    for key, per_tag in hot.items():
        for tag, value in per_tag.items():
            w[ll._hash(key) & ((1 << ll.HASH_BITS) - 1), ll.TAGS.index(tag)] = value  # the pool's size
    return w


def test_the_clause_pool_keeps_a_tag_said_in_one_clause_of_a_long_memo() -> None:
    w = _pool_weights({"w演示": {"要演示": 4.0}})
    short = "孙总想看演示"
    long = ("孙总想看演示。他们仓库在城东，三个班次轮流上，现在排班都靠表格，每个月底对一次账，"
            "财务那边另外有一套系统，门口还在修路，车不好停")
    one = ll.pool_scores(w, ll.pooled_indices(short, ""))[ll.TAGS.index("要演示")]
    many = ll.pool_scores(w, ll.pooled_indices(long, ""))[ll.TAGS.index("要演示")]
    assert one > 3.0 and many >= one - 1e-9  # the other clauses neither dilute nor cancel it
    # A message-level sum over the same weights is diluted by the other topics' n-grams: what the pool is for.
    j = ll.TAGS.index("要演示")
    plain_block = (ll.fold(ll.text_indices(t, ""), ll.HASH_BITS) for t in (short, long))
    summed_short, summed_long = (float(w[h[h < len(w)], j].sum()) for h in plain_block)
    assert summed_long < summed_short - 3.0


def test_negated_and_rep_clauses_stay_out_of_the_clause_pool() -> None:
    base = "孙总说他们下个月要上新产线"
    plain = [a.tolist() for a in ll.pooled_indices(base, "")]
    assert len(plain) == 1
    assert [a.tolist() for a in ll.pooled_indices(f"{base}，演示就先不用安排了", "")] == plain
    assert [a.tolist() for a in ll.pooled_indices(base, "我们可以安排一次演示")] == plain


def test_a_clause_can_only_raise_the_pooled_score() -> None:
    rng = np.random.default_rng(6)
    w = rng.normal(0.0, 1.0, size=(1 << ll.HASH_BITS, len(ll.TAGS))).astype(np.float32)
    text = "价格还要再谈，系统上周又宕机了，法务在看合同"
    parts = ll.pooled_indices(text, "")
    assert len(parts) == 3
    for k in range(len(parts)):
        assert (ll.pool_scores(w, parts[: k + 1]) >= ll.pool_scores(w, parts[:k]) - 1e-9).all()
    assert (ll.pool_scores(w, ()) == 0).all()


# ---------------------------------------------------------------- round 7: the second tag stage


def _with_stack(seed: int) -> ll.Weights:
    """The shipped first stage under a random second stage that obeys the sign bounds."""
    weights = ll.shipped_weights()
    assert weights is not None
    rng = np.random.default_rng(seed)
    stack = rng.normal(0.0, 1.0, size=(len(ll.TAGS) + ll.N_TAG_DENSE, len(ll.TAGS))).astype(np.float32)
    nonneg, nonpos = ll.stack_sign_bounds()
    n = len(ll.TAGS)
    stack[:n][nonneg] = np.abs(stack[:n][nonneg])
    stack[:n][nonpos] = -np.abs(stack[:n][nonpos])
    stack[:n][nonneg & nonpos] = 0.0
    return ll.Weights(weights.tag_w, weights.tag_b, weights.thresholds, weights.stage_w, weights.stage_b,
                      weights.stage_margin, weights.meta, weights.tag_pool_w, stack,
                      rng.normal(0.0, 1.0, size=len(ll.TAGS)).astype(np.float32))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_second_stage_keeps_the_first_stages_guarantees(seed: int) -> None:
    """Within the sign bounds, a negated clause still only lowers the tags that are not negative by nature and a
    rep's offer still only lowers a request, whatever the second stage learned about tags that come together."""
    weights = _with_stack(seed)
    base = "邹总说他们明年要在华东再开两个仓"
    plain = ll.tag_probabilities(weights, TagInput(base, "", (), (), True), ())
    for clause in ("演示就先不用安排了", "暂时不需要报价", "没提降价的事", "合同先不急着签"):
        more = ll.tag_probabilities(weights, TagInput(f"{base}，{clause}", "", (), (), True), ())
        assert all(more[t] <= plain[t] + 1e-9 for t in ll.TAGS if t not in NEGATIVE_BY_NATURE), clause
    # A rep's turn (the same first turn, so the has-a-rep-turn flag is the same) that adds an offer:
    replied = ll.tag_probabilities(weights, TagInput(base, "好的收到", (), (), True), ())
    for offer in ("我们可以先给您出个报价", "下周可以安排工程师上门演示", "系统有问题随时找我们"):
        more = ll.tag_probabilities(weights, TagInput(base, f"好的收到。{offer}", (), (), True), ())
        assert all(more[t] <= replied[t] + 1e-9 for t in CUSTOMER_REQUEST_TAGS), offer


def test_the_shipped_second_stage_obeys_the_sign_bounds() -> None:
    weights = ll.shipped_weights()
    assert weights is not None
    if weights.stack_w is None:
        pytest.skip("these weights have no second stage (trained without --folds)")
    nonneg, nonpos = ll.stack_sign_bounds()
    logits = weights.stack_w[: len(ll.TAGS)]
    assert (logits[nonneg] >= 0).all() and (logits[nonpos] <= 0).all()


def test_weights_without_a_second_stage_read_the_first_stage() -> None:
    weights = ll.shipped_weights()
    assert weights is not None
    first = ll.Weights(weights.tag_w, weights.tag_b, weights.thresholds, weights.stage_w, weights.stage_b,
                       weights.stage_margin, weights.meta, weights.tag_pool_w)
    data = TagInput("葛经理说合同法务还在审，付款要走三个节点", "", ("合同法务",), (), False)
    p = ll.tag_probabilities(first, data, ("合同法务",))
    assert [p[t] for t in ll.TAGS] == pytest.approx(ll.first_stage_probabilities(first, data, ("合同法务",)).tolist())
    assert ll.tag_probabilities(_with_stack(4), data, ("合同法务",)) != p  # the second stage is read when present


def test_a_second_stage_of_another_shape_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An old or foreign file fails to load (and shipped_weights leaves the rules deciding) instead of raising
    on every message."""
    path = tmp_path / "layer.npz"
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["stack_w"] = np.zeros((3, len(ll.TAGS)), dtype=np.float32)
    arrays["stack_b"] = np.zeros(len(ll.TAGS), dtype=np.float32)
    np.savez(path, **arrays)
    with pytest.raises(ValueError):
        ll.load_weights(path)


def test_features_fold_to_exactly_the_smaller_hashing() -> None:
    """Round 8: the tag model hashes into 2^16 rows per scope and the stage model into 2^14, from one hashing:
    folding keeps a crc32's low bits, which is the smaller hashing itself, so 2^14 weights decide as trained."""
    customer, rep = "汤经理说竞品报价低一截，合同先不急着签", "好的，我们再出一版方案"
    folded = ll.fold(ll.text_indices(customer, rep), ll.HASH_BITS)
    size = 1 << ll.HASH_BITS
    expected = set()
    for side, text in ((0, customer), (2, rep)):
        for clause in clauses(text):
            scope = side + negated(clause)
            expected |= {scope * size + (zlib.crc32(k.encode("utf-8")) & (size - 1)) for k in ll._clause_keys(clause)}
    assert folded.tolist() == sorted(expected)
    assert ll.fold(ll.text_indices(customer, rep), ll.FEATURE_BITS).tolist() == ll.text_indices(customer, rep).tolist()


@pytest.mark.parametrize("bits", [ll.HASH_BITS, ll.TAG_HASH_BITS])
def test_tag_tables_of_either_size_load_and_the_stage_reads_its_own(bits: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A tag table of 2^14 rows per scope (before round 8) or 2^16 (the trainer's now) loads; its size is read from
    its shape; the stage model keeps 2^14. A table of another size is refused (the rules decide)."""
    rng = np.random.default_rng(bits)
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["tag_w"] = rng.normal(0, 0.1, size=(ll.N_TAG_DENSE + (len(ll.SCOPES) << bits), len(ll.TAGS)))
    np.savez(tmp_path / "layer.npz", **arrays)
    weights = ll.load_weights(tmp_path / "layer.npz")
    assert ll.tag_hash_bits(weights.tag_w) == bits
    data = TagInput("汤经理说竞品报价低一截", "", (), (), False)
    z = ll.first_stage_probabilities(weights, data, ())
    hashed = ll.fold(ll.text_indices(data.customer_text, data.rep_text), bits)
    by_hand = weights.tag_w[ll.N_TAG_DENSE + hashed].astype(np.float64).sum(0) + weights.tag_b + np.asarray(
        ll.tag_dense(data, ())) @ weights.tag_w[: ll.N_TAG_DENSE].astype(np.float64)
    assert z == pytest.approx(1 / (1 + np.exp(-by_hand)))
    arrays["tag_w"] = np.zeros((ll.N_TAG_DENSE + 5, len(ll.TAGS)))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError):
        ll.load_weights(tmp_path / "bad.npz")
