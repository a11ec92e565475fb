"""The round-12 character convolution of the tag model (learned_layer.CharCnn, train_learned_layer.fit_cnn).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

from pathlib import Path

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


def _item(k: int, text: str, tags: list[str], author: str = "a", rep: str = "") -> tl.Item:
    data = TagInput(text, rep, (), (), False)
    return tl.Item({"id": str(k), "expect": {"tags": tags}}, author, data, (), None,  # type: ignore[arg-type]
                   set(), None, ll.text_indices(text, rep))


def _params(opts: tl.CnnOptions, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    f, window = len(opts.widths) * opts.filters, max(opts.widths)
    e = rng.normal(0, 0.5, ((1 << opts.bits) + 3, opts.dims))
    e[-1] = 0.0
    return [e, rng.normal(0, 0.5, (window * opts.dims, f)) * tl.cnn_kernel_mask(opts), rng.normal(0, 0.3, f),
            rng.normal(0, 0.5, (f, len(ll.TAGS))), rng.normal(0, 0.5, len(ll.TAGS))]


TEXTS = ("价格太贵了，再便宜点", "下周来演示一下", "", "不要了", "付款走三个节点。合同法务在看", "好")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_convolutions_gradients_match_finite_differences(seed: int) -> None:
    opts = tl.CnnOptions(filters=3, widths=(2, 3), dims=4, bits=5)
    items = [_item(k, t, []) for k, t in enumerate(TEXTS)]
    data = tl.cnn_rows(items, opts)
    params = _params(opts, seed)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=(len(items), len(ll.TAGS))).astype(float)
    rows = np.arange(len(items))
    mask = (rng.random((len(items), 6)) < 0.7) / 0.7
    kmask = tl.cnn_kernel_mask(opts)

    def loss() -> float:
        return tl.cnn_loss_grads(params, data, y, rows, mask, 0.3, kmask)[0]

    _, grads, touched = tl.cnn_loss_grads(params, data, y, rows, mask, 0.3, kmask)
    full_e = np.zeros_like(params[0])
    full_e[touched] = grads[0]
    assert (1 << opts.bits) + 2 not in set(touched.tolist())  # the padding row never moves
    checked = 0
    for j, grad in enumerate([full_e, *grads[1:]]):
        param = params[j]
        for pos in np.ndindex(param.shape):
            if j == 0 and pos[0] not in set(touched.tolist()):
                continue  # a character no winning window reads: neither loss nor gradient moves
            if j == 1 and not kmask[pos]:
                assert grad[pos] == 0.0  # past a filter's width: kept zero
                continue
            assert central_difference(param, pos, loss) == pytest.approx(grad[pos], abs=1e-5), (j, pos)
            checked += 1
    assert checked > 100


def test_windows_stay_inside_a_clause_and_skip_negated_clauses() -> None:
    ids = ll.cnn_windows("再便宜点。演示就先不用安排了，周三", 6, 3)
    start, end, pad = 64, 65, 66
    # two plain clauses (再便宜点, 周三): their characters plus a start and an end mark each; the negated one is gone
    assert len(ids) == (4 + 2) + (2 + 2)
    assert ids[0, 0] == start and ids[5].tolist() == [end, pad, pad] and ids[6, 0] == start
    assert ll.cnn_windows("", 6, 3).shape == (0, 3)
    assert ll.cnn_windows("报价12万", 6, 2).tolist() == ll.cnn_windows("报价85万", 6, 2).tolist()  # digits read as 0
    assert len(ll.cnn_windows("好" * 100, 6, 2)) == ll.CNN_MAX_CHARS + 2


def _cnn(seed: int, bits: int = 8) -> ll.CharCnn:
    opts = tl.CnnOptions(filters=4, widths=(2, 3, 4), dims=6, bits=bits)
    e, k, kb, w2, b2 = (p.astype(np.float32) for p in _params(opts, seed))
    return ll.CharCnn(e, k, kb, w2, b2)


def test_inference_matches_the_trainers_forward_pass() -> None:
    cnn = _cnn(4)
    items = [_item(k, t, []) for k, t in enumerate(TEXTS)]
    one = np.array([ll.cnn_logodds(cnn, i.tag_input) for i in items])
    assert tl.cnn_apply(cnn, items) == pytest.approx(one, abs=1e-9)
    empty = ll.cnn_logodds(cnn, TagInput("", "", (), (), False))
    assert empty.tolist() == pytest.approx(cnn.b2.astype(np.float64).tolist())


def test_the_convolution_reads_only_plain_customer_clauses() -> None:
    cnn = _cnn(1)
    base = "邹总说他们明年要在华东再开两个仓"
    plain = ll.cnn_logodds(cnn, TagInput(base, "", (), (), True))
    assert ll.cnn_logodds(cnn, TagInput(f"{base}，演示就先不用安排了", "", (), (), True)).tolist() == plain.tolist()
    replied = ll.cnn_logodds(cnn, TagInput(base, "好的收到", (), (), True))
    offered = ll.cnn_logodds(cnn, TagInput(base, "好的收到。我们可以先给您出个报价", (), (), True))
    assert offered.tolist() == replied.tolist()
    assert ll.cnn_logodds(cnn, TagInput(f"{base}，价格太贵了", "", (), (), True)).tolist() != plain.tolist()


@pytest.mark.parametrize("seed", [1, 2])
def test_weights_with_a_convolution_keep_the_guarantees(seed: int) -> None:
    assert_declines_and_rep_offers_only_lower(with_one_extra_block(seed, cnn=_cnn(seed)))


def test_a_convolution_loads_and_is_read_and_older_weights_decide_as_before(tmp_path: Path) -> None:
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for key in (*ll.MLP_KEYS, *ll.CNN_KEYS):
        arrays.pop(key, None)
    old, data = assert_weights_without_blocks_decide_as_before(arrays, tmp_path / "old.npz")
    block = _cnn(3)
    arrays.update(dict(zip(ll.CNN_KEYS, (block.e.astype(np.float16), block.k.astype(np.float16), block.kb,
                                         block.w2, block.b2), strict=True)))
    new = assert_a_block_is_read_only_with_its_stack_rows(arrays, tmp_path, old, data)
    assert new.cnn is not None and new.cnn.bits == 8 and new.cnn.window == 4


def test_fit_cnn_is_deterministic_and_reads_characters_in_order() -> None:
    """The same two characters in either order: a bag of characters cannot tell them apart, the convolution can."""
    texts = {"甲乙": True, "乙甲": False, "丙乙": False, "乙丙": True}
    items = [_item(k, list(texts)[k % 4], ["价格异议"] if list(texts.values())[k % 4] else [], f"a{k % 10}")
             for k in range(80)]
    opts = tl.CnnOptions(filters=8, widths=(2,), dims=8, bits=8, epochs=60, batch=16, lr=0.02, dropout=0.0, l2=0.0,
                         val_every=100)
    first, second = tl.fit_cnn(items, opts), tl.fit_cnn(items, opts)
    assert np.array_equal(first.e, second.e) and np.array_equal(first.k, second.k)
    out = tl.cnn_apply(first, items[:4])[:, ll.TAGS.index("价格异议")]
    assert [bool(v > 0) for v in out] == list(texts.values())


def test_early_stop_keeps_the_epoch_best_on_held_out_authors() -> None:
    items = [_item(k, t, ["价格异议"] if k % 2 else [], f"a{k % 9}") for k, t in enumerate(TEXTS * 6)]
    opts = tl.CnnOptions(filters=2, widths=(2,), dims=4, bits=6, epochs=3, batch=8, val_every=3)
    cnn = tl.fit_cnn(items, opts)
    assert cnn.k.shape == (2 * 4, 2) and not np.any(cnn.e[-1])
