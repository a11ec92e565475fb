"""Round 16: the message's form (chat, one speaker, note; short) as inputs of the learned tag layer's second stage
(learned_layer.message_form, form_dense; train_learned_layer.Config.form; benchmarks/tag_form_check.py).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import tag_form_check as check
from benchmarks import train_learned_layer as tl
from bot.extract.model import StageInput, TagInput
from bot.understanding import learned_layer as ll
from tests.tag_layer_support import assert_declines_and_rep_offers_only_lower

CHAT = (("C", "你们的报价比上次贵了不少"), ("R", "我跟领导申请一下"))
SINGLE = (("C", "你们的报价比上次贵了不少"),)
NOTE = (("N", "客户说报价比上次贵了不少"),)


@pytest.mark.parametrize(("turns", "form"), [(CHAT, "chat"), (SINGLE, "single"), (NOTE, "note"), ((), "note"),
                                             ((("R", "方案发您了"),), "single"), ((*NOTE, *CHAT), "chat")])
def test_the_form_is_read_from_the_sides_of_the_turns(turns: tuple[tuple[str, str], ...], form: str) -> None:
    assert ll.message_form(TagInput("x", "", (), (), False, turns)) == form


def test_short_counts_plain_customer_clauses_only() -> None:
    two = TagInput("报价贵了，想再便宜点", "", (), (), False, SINGLE)
    assert ll.form_dense(two) == [0.0, 1.0, 0.0, 1.0]
    declined = dataclasses.replace(two, customer_text="报价贵了，想再便宜点，演示就先不用安排了")
    assert ll.form_dense(declined) == ll.form_dense(two)  # a negated clause is not counted
    three = dataclasses.replace(two, customer_text="报价贵了，想再便宜点，月底前要定下来")
    assert ll.form_dense(three)[-1] == 0.0
    assert len(ll.form_dense(two)) == ll.N_FORM


def _with_form(weights: ll.Weights, rows: list[list[float]]) -> ll.Weights:
    assert weights.stack_w is not None
    return dataclasses.replace(weights, stack_w=np.vstack([weights.stack_w, np.array(rows, dtype=np.float32)]),
                               form=True)


def test_weights_without_the_flag_read_no_form_and_zero_rows_decide_as_before() -> None:
    weights = ll.shipped_weights()
    assert weights is not None and not weights.form  # the shipped file has no "form" in its meta
    data = TagInput("你们的报价比上次贵了不少", "", (), (), False, SINGLE)
    before = ll.tag_probabilities(weights, data, ())
    zero = _with_form(weights, [[0.0] * len(ll.TAGS)] * ll.N_FORM)
    assert ll.tag_probabilities(zero, data, ()) == pytest.approx(before)
    price = ll.TAGS.index("价格异议")
    rows = [[0.0] * len(ll.TAGS) for _ in range(ll.N_FORM)]
    rows[ll.FORMS.index("single")][price] = 2.0
    lifted = _with_form(weights, rows)
    assert ll.tag_probabilities(lifted, data, ())["价格异议"] > before["价格异议"]  # a one-speaker message only
    chat = dataclasses.replace(data, turns=CHAT)
    assert ll.tag_probabilities(lifted, chat, ()) == pytest.approx(ll.tag_probabilities(weights, chat, ()))
    assert_declines_and_rep_offers_only_lower(_with_form(weights, [[-1.0] * len(ll.TAGS)] * ll.N_FORM))


def test_a_weights_file_with_the_flag_loads_and_one_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps({**meta, "form": True}, ensure_ascii=False))
    with pytest.raises(ValueError, match="second stage"):
        np.savez(tmp_path / "short.npz", **arrays)
        ll.load_weights(tmp_path / "short.npz")
    arrays["stack_w"] = np.vstack([arrays["stack_w"], np.zeros((ll.N_FORM, len(ll.TAGS)), dtype=np.float32)])
    np.savez(tmp_path / "form.npz", **arrays)
    assert ll.load_weights(tmp_path / "form.npz").form


def _item(k: int, text: str, turns: tuple[tuple[str, str], ...], tags: list[str], author: str,
          fmt: str = "forwarded_single") -> tl.Item:
    data = TagInput(text, "", (), (), False, turns)
    stage = StageInput(text, "", (), None, False, False)
    return tl.Item({"id": str(k), "expect": {"tags": tags}, "format": fmt}, author, data, (), stage, set(), None,
                   ll.text_indices(text, ""))


def test_the_trainer_adds_the_form_only_with_the_option_and_records_it() -> None:
    items = [_item(0, "报价贵了", SINGLE, ["价格异议"], "a"), _item(1, "下午三点到", CHAT, [], "b", "wecom_copy")]
    first = np.full((2, len(ll.TAGS)), 0.3)
    plain, with_form = tl.stack_rows(items, first), tl.stack_rows(items, first, form=True)
    assert with_form.shape == (2, plain.shape[1] + ll.N_FORM)
    assert with_form[:, -ll.N_FORM :].tolist() == [ll.form_dense(i.tag_input) for i in items]
    cfg = tl.Config(l2_hash=1.0, iters=5, folds=2, form=True)
    stack, _ = tl.second_stage(items, first, cfg)
    assert stack[0].shape == (with_form.shape[1], len(ll.TAGS))
    fit = tl.fit_tags(items, cfg)
    assert tl.weights(fit, (np.zeros((1, 1)), np.zeros(1)), np.full(len(ll.TAGS), 0.5), 0.0, stack=stack).form
    assert not tl.weights(fit, (np.zeros((1, 1)), np.zeros(1)), np.full(len(ll.TAGS), 0.5), 0.0).form


def test_form_thresholds_are_chosen_per_form_on_the_other_author_groups() -> None:
    # Authors a..d fall into groups 0..3; a one-speaker message with the tag scores 0.4, a chat without it 0.6.
    items, probs = [], []
    for k, author in enumerate("abcd" * 3):
        single = k % 2 == 0
        items.append(_item(k, "报价贵了", SINGLE if single else CHAT, ["价格异议"] if single else [], author))
        probs.append([0.4 if single else 0.6] * len(ll.TAGS))
    th = check.form_thresholds(np.array(probs), items, 4)
    price = ll.TAGS.index("价格异议")
    assert all(th[k, price] <= 0.4 for k in range(len(items)) if k % 2 == 0)
    assert all(th[k, price] > 0.6 for k in range(len(items)) if k % 2 == 1)
    decided = check.decide(np.array(probs), items, th)
    assert all(("价格异议" in d) == (k % 2 == 0) for k, d in enumerate(decided))


def test_per_form_thresholds_decide_each_form_at_its_own_threshold(tmp_path: Path) -> None:
    weights = ll.shipped_weights()
    assert weights is not None and weights.form_thresholds is None
    data = TagInput("你们的报价比上次贵了不少，能不能再便宜点", "", (), (), False, SINGLE)
    p = ll.tag_probabilities(weights, data, ())["价格异议"]
    price = ll.TAGS.index("价格异议")
    th = np.full((len(ll.FORMS), len(ll.TAGS)), 0.5, dtype=np.float32)
    th[ll.FORMS.index("single"), price] = min(1.0, p + 0.01)  # just above this message's probability
    on = dataclasses.replace(weights, form_thresholds=th)
    assert ("价格异议" in ll.learned_tags(weights, data, ())) == (p >= weights.thresholds[price])
    assert "价格异议" not in ll.learned_tags(on, data, ())
    chat = dataclasses.replace(data, turns=CHAT)
    assert ll.learned_tags(on, chat, ()) == ll.learned_tags(weights, chat, ())
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    np.savez(tmp_path / "th.npz", **arrays, form_thresholds=th)
    assert np.array_equal(ll.load_weights(tmp_path / "th.npz").form_thresholds, th)
    np.savez(tmp_path / "bad.npz", **arrays, form_thresholds=th[:2])
    with pytest.raises(ValueError, match="per-form thresholds"):
        ll.load_weights(tmp_path / "bad.npz")


def test_the_trainer_chooses_thresholds_per_form() -> None:
    items = [_item(k, "报价贵了", SINGLE if k % 2 == 0 else CHAT, ["价格异议"] if k % 2 == 0 else [], "abcd"[k % 4])
             for k in range(8)]
    probs = np.array([[0.4 if k % 2 == 0 else 0.6] * len(ll.TAGS) for k in range(8)])
    th = tl.per_form_thresholds(probs, items)
    price = ll.TAGS.index("价格异议")
    assert th[ll.FORMS.index("single"), price] <= 0.4 < 0.6 < th[ll.FORMS.index("chat"), price]
    assert th[ll.FORMS.index("note")].tolist() == [0.5] * len(ll.TAGS)  # no note among the records


@pytest.mark.parametrize(("text", "hit"), [("他们家的单价比你们低两成", 1.0), ("我们打算换成另一家的系统", 1.0),
                                           ("是续签还是重新招标还没定", 1.0), ("比例按合同走", 0.0),
                                           ("下周三下午来公司详谈", 0.0), ("不考虑跟别家比", 0.0)])
def test_the_comparison_column_reads_plain_customer_clauses(text: str, hit: float) -> None:
    assert check.comparison_column([_item(0, text, SINGLE, [], "a")]).tolist() == [[hit]]


def test_the_second_stage_out_of_fold_reads_the_form_for_the_per_form_thresholds() -> None:
    items = [_item(k, "报价贵了" if k % 2 == 0 else "下午三点到", SINGLE if k % 2 == 0 else CHAT,
                   ["价格异议"] if k % 2 == 0 else [], "abcd"[k // 2 % 4]) for k in range(8)]
    first = np.full((8, len(ll.TAGS)), 0.3)  # each author (and so each author group) has both forms
    cfg = tl.Config(l2_hash=1.0, iters=5, folds=2, form=True, form_thresholds=True)
    stacked = tl.stacked_oof(items, first, cfg)
    price = ll.TAGS.index("价格异议")
    # the first stage says the same for every record: only the form tells the tagged one-speaker messages apart
    assert stacked[0::2, price].min() > stacked[1::2, price].max()
    plain = tl.stacked_oof(items, first, dataclasses.replace(cfg, form=False))
    assert np.ptp(plain[:, price]) < 1e-9
    assert tl.per_form_thresholds(stacked, items).shape == (len(ll.FORMS), len(ll.TAGS))
