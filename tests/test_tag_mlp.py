"""The round-11 hidden layer of the tag model (learned_layer.Mlp, train_learned_layer.fit_mlp).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import train_learned_layer as tl
from bot.extract.model import TagInput
from bot.understanding import learned_layer as ll
from tests.tag_layer_support import (
    assert_a_block_is_read_only_with_its_stack_rows,
    assert_declines_and_rep_offers_only_lower,
    assert_weights_without_blocks_decide_as_before,
    central_difference,
    with_one_extra_block,
)


def _problem(seed: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    bits, h, n = 5, 6, 7
    params = [rng.normal(0, 0.5, (1 << bits, h)), rng.normal(0, 0.5, (ll.N_TAG_DENSE, h)), rng.normal(0, 0.5, h),
              rng.normal(0, 0.5, (h, len(ll.TAGS))), rng.normal(0, 0.5, len(ll.TAGS))]
    lists = [np.unique(rng.integers(0, 1 << bits, size=rng.integers(0, 6))) for _ in range(n)]
    indptr, indices = tl._ragged(lists)
    dense = rng.integers(0, 2, size=(n, ll.N_TAG_DENSE)).astype(float)
    y = rng.integers(0, 2, size=(n, len(ll.TAGS))).astype(float)
    return params, indptr, indices, dense, y, rng.random((n, h)) < 0.7


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_hidden_layers_gradients_match_finite_differences(seed: int) -> None:
    params, indptr, indices, dense, y, keep = _problem(seed)
    rows = np.arange(len(y))
    mask = keep / 0.7
    l2n = 0.3

    def loss() -> float:
        return tl.mlp_loss_grads(params, indptr, indices, dense, y, rows, mask, l2n)[0]

    _, grads, touched = tl.mlp_loss_grads(params, indptr, indices, dense, y, rows, mask, l2n)
    assert set(touched.tolist()) == set(indices.tolist())
    full_e = np.zeros_like(params[0])
    full_e[touched] = grads[0]
    for j, grad in enumerate([full_e, *grads[1:]]):
        param = params[j]
        for pos in list(np.ndindex(param.shape))[:: max(1, param.size // 40)]:
            if j == 0 and pos[0] not in set(touched.tolist()):
                continue  # an untouched embedding row: neither loss nor gradient reads it
            assert central_difference(param, pos, loss) == pytest.approx(grad[pos], abs=1e-6), (j, pos)


def test_the_bag_handles_rows_without_features() -> None:
    emb = np.arange(12, dtype=float).reshape(6, 2)
    out = tl._bag(emb, np.array([2, 0, 3, 0, 1]))
    assert out.tolist() == [[2.0, 4.0], [0.0, 0.0], [18.0, 21.0], [0.0, 0.0], [10.0, 11.0]]


def _mlp(seed: int, bits: int = 8, hidden: int = 5) -> ll.Mlp:
    rng = np.random.default_rng(seed)
    return ll.Mlp(rng.normal(0, 1, (1 << bits, hidden)).astype(np.float32),
                  rng.normal(0, 1, (ll.N_TAG_DENSE, hidden)).astype(np.float32),
                  rng.normal(0, 1, hidden).astype(np.float32),
                  rng.normal(0, 1, (hidden, len(ll.TAGS))).astype(np.float32),
                  rng.normal(0, 1, len(ll.TAGS)).astype(np.float32))


def test_the_hidden_layer_reads_only_plain_customer_clauses() -> None:
    """A negated clause or a rep's turn never changes its log-odds, so the second stage may weigh them either way
    and the first stage's guarantees still hold."""
    mlp = _mlp(1)
    base = "邹总说他们明年要在华东再开两个仓"
    plain = ll.mlp_logodds(mlp, TagInput(base, "", (), (), True), ())
    assert ll.mlp_logodds(mlp, TagInput(f"{base}，演示就先不用安排了", "", (), (), True), ()).tolist() == plain.tolist()
    replied = ll.mlp_logodds(mlp, TagInput(base, "好的收到", (), (), True), ())
    offered = ll.mlp_logodds(mlp, TagInput(base, "好的收到。我们可以先给您出个报价", (), (), True), ())
    assert offered.tolist() == replied.tolist()
    assert ll.mlp_logodds(mlp, TagInput(f"{base}，价格太贵了", "", (), (), True), ()).tolist() != plain.tolist()


@pytest.mark.parametrize("seed", [1, 2])
def test_weights_with_a_hidden_layer_keep_the_guarantees(seed: int) -> None:
    assert_declines_and_rep_offers_only_lower(with_one_extra_block(seed, mlp=_mlp(seed)))


def test_a_hidden_layer_loads_and_is_read_and_older_weights_decide_as_before(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    mlp = arrays.pop("mlp_e", None)
    for key in (*ll.MLP_KEYS[1:], *ll.CNN_KEYS):  # weights of round 12 on may hold a convolution too
        arrays.pop(key, None)
    old, data = assert_weights_without_blocks_decide_as_before(arrays, tmp_path / "old.npz")
    del mlp
    block = _mlp(3)
    arrays.update(dict(zip(ll.MLP_KEYS, (block.e, block.wd, block.b1, block.w2, block.b2), strict=True)))
    new = assert_a_block_is_read_only_with_its_stack_rows(arrays, tmp_path, old, data)
    assert new.mlp is not None and new.mlp.bits == 8


def test_fit_mlp_is_deterministic_and_learns_a_construction() -> None:
    """Two clauses that each mean nothing for a tag, but together do: an XOR of single characters in separate clauses
    (no n-gram spans both), which a model linear in the features cannot fit."""
    texts = {"甲乙": True, "甲丙": False, "丁乙": False, "丁丙": True}
    items = []
    for k in range(80):
        text, label = list(texts.items())[k % 4]
        data = TagInput(f"{text[0]}。{text[1]}", "", (), (), False)
        item = tl.Item({"id": str(k), "expect": {"tags": ["价格异议"] if label else []}}, "a", data, (), None,  # type: ignore[arg-type]
                       set(), None, ll.text_indices(data.customer_text, ""))
        items.append(item)
    opts = tl.MlpOptions(hidden=16, bits=10, epochs=60, batch=16, lr=0.02, dropout=0.0, l2=0.0)
    first = tl.fit_mlp(items, opts)
    second = tl.fit_mlp(items, opts)
    assert np.array_equal(first.e, second.e) and np.array_equal(first.w2, second.w2)
    out = tl.mlp_apply(first, items[:4])[:, ll.TAGS.index("价格异议")]
    assert [bool(v > 0) for v in out] == list(texts.values())


def test_an_ensemble_is_one_wider_net_giving_the_mean_of_its_nets() -> None:
    data = [TagInput(text, "", (), (), False) for text in ("价格太贵了。再便宜点", "下周来演示", "付款走三个节点")]
    items = [tl.Item({"id": str(k), "expect": {"tags": ["价格异议"] if k == 0 else []}}, "a", d, (), None,  # type: ignore[arg-type]
                     set(), None, ll.text_indices(d.customer_text, "")) for k, d in enumerate(data)]
    opts = tl.MlpOptions(hidden=4, bits=8, epochs=3, batch=2)
    both = tl.fit_mlp(items, tl.MlpOptions(hidden=4, bits=8, epochs=3, batch=2, ensemble=2))
    nets = [tl.fit_mlp(items, opts), tl.fit_mlp(items, tl.MlpOptions(hidden=4, bits=8, epochs=3, batch=2, seed=1))]
    assert both.e.shape == (256, 8)
    mean = (tl.mlp_apply(nets[0], items) + tl.mlp_apply(nets[1], items)) / 2
    assert tl.mlp_apply(both, items) == pytest.approx(mean, abs=1e-5)
