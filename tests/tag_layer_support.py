"""The sign guarantees every extra block of the learned tag layer must keep (round 11's hidden layer, round 12's
convolution): a declined or negated clause, or a rep's offer, never raises a customer request tag."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from bot.extract.model import TagInput
from bot.understanding import learned_layer as ll
from bot.understanding.semantic_tags import CUSTOMER_REQUEST_TAGS, NEGATIVE_BY_NATURE


def assert_declines_and_rep_offers_only_lower(weights: ll.Weights) -> None:
    base = "邹总说他们明年要在华东再开两个仓"
    plain = ll.tag_probabilities(weights, TagInput(base, "", (), (), True), ())
    for clause in ("演示就先不用安排了", "暂时不需要报价", "没提降价的事"):
        more = ll.tag_probabilities(weights, TagInput(f"{base}，{clause}", "", (), (), True), ())
        assert all(more[t] <= plain[t] + 1e-9 for t in ll.TAGS if t not in NEGATIVE_BY_NATURE), clause
    replied = ll.tag_probabilities(weights, TagInput(base, "好的收到", (), (), True), ())
    more = ll.tag_probabilities(weights, TagInput(base, "好的收到。下周可以安排工程师上门演示", (), (), True), ())
    assert all(more[t] <= replied[t] + 1e-9 for t in CUSTOMER_REQUEST_TAGS)


def central_difference(param: npt.NDArray[np.float64], pos: tuple[int, ...], loss: Callable[[], float],
                       step: float = 1e-6) -> float:
    """The loss's slope along one parameter, by central differences (the parameter is restored)."""
    old = param[pos]
    param[pos] = old + step
    up = loss()
    param[pos] = old - step
    down = loss()
    param[pos] = old
    return (up - down) / (2 * step)


def with_one_extra_block(seed: int, *, mlp: ll.Mlp | None = None, cnn: ll.CharCnn | None = None) -> ll.Weights:
    """The shipped weights with one extra block (a hidden layer or a convolution) read by a second stage whose rows
    for it are random, of any sign."""
    weights = ll.shipped_weights()
    assert weights is not None and weights.stack_w is not None and weights.stack_b is not None
    extra = np.random.default_rng(seed).normal(0, 2, (len(ll.TAGS), len(ll.TAGS))).astype(np.float32)
    stack = np.vstack([weights.stack_w[: len(ll.TAGS) + ll.N_TAG_DENSE], extra])
    # the shipped weights' other blocks are cut off with their rows: the pooled clause scores too (round 19)
    return dataclasses.replace(weights, stack_w=stack, mlp=mlp, cnn=cnn, clause_max=None)


def without_clause_meta(arrays: dict[str, npt.NDArray[Any]]) -> None:
    """A weights file's arrays, its meta without the pooled clause scores' flag (shipped from round 19): the file's
    second stage is then read as having no clause block."""
    meta = json.loads(str(arrays["meta"]))
    meta.pop("clause_max", None)
    arrays["meta"] = np.array(json.dumps(meta))


def assert_weights_without_blocks_decide_as_before(arrays: dict[str, npt.NDArray[Any]], path: Path
                                                   ) -> tuple[ll.Weights, TagInput]:
    """`arrays` (a weights file's, its extra blocks removed) with the second stage cut back to the rules-era inputs
    load without a block and decide by the plain two-stage formula; `arrays["stack_w"]` is left cut back. Returns
    those weights and the message they were checked on."""
    arrays["stack_w"] = arrays["stack_w"][: len(ll.TAGS) + ll.N_TAG_DENSE]
    without_clause_meta(arrays)
    np.savez(path, **arrays)
    old = ll.load_weights(path)
    assert old.cnn is None and old.mlp is None and old.stack_w is not None and old.stack_b is not None
    data = TagInput("汤经理说竞品报价低一截，价格还得再谈", "", (), (), False)
    first = ll.first_stage_probabilities(old, data, ())
    x = ll.stack_features(first, ll.tag_dense(data, ()))
    z = x @ old.stack_w.astype(np.float64) + old.stack_b.astype(np.float64)
    assert [ll.tag_probabilities(old, data, ())[t] for t in ll.TAGS] == pytest.approx((1 / (1 + np.exp(-z))).tolist())
    return old, data


def assert_a_block_is_read_only_with_its_stack_rows(arrays: dict[str, npt.NDArray[Any]], directory: Path,
                                                     old: ll.Weights, data: TagInput) -> ll.Weights:
    """`arrays` (cut back as above) with one extra block added: with its second-stage rows appended the weights load
    and decide otherwise than `old` on `data`; without them the file is refused. Returns the loaded weights."""
    stack = arrays["stack_w"]
    arrays["stack_w"] = np.vstack([stack, np.ones((len(ll.TAGS), len(ll.TAGS)), dtype=np.float32)])
    np.savez(directory / "new.npz", **arrays)
    new = ll.load_weights(directory / "new.npz")
    assert ll.tag_probabilities(new, data, ()) != ll.tag_probabilities(old, data, ())
    arrays["stack_w"] = stack  # a block the second stage cannot read: refused
    np.savez(directory / "bad.npz", **arrays)
    with pytest.raises(ValueError):
        ll.load_weights(directory / "bad.npz")
    return new
