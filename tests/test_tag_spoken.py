"""Round 17: clauses of speech for the learned tag layer (learned_layer.spoken_clauses;
train_learned_layer.Config.spoken; benchmarks/tag_clause_check.py).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import tag_clause_check as check
from benchmarks import train_learned_layer as tl
from bot.extract.model import StageInput, TagInput
from bot.extract.textnorm import clauses
from bot.understanding import learned_layer as ll
from tests.tag_layer_support import assert_declines_and_rep_offers_only_lower


@pytest.mark.parametrize(("text", "parts"), [
    ("价格没问题但是老板要换供应商", ["价格没问题", "但是老板要换供应商"]),
    ("嗯今天见了刘总呃他们然后想先看看演示", ["今天见了刘总", "他们", "然后想先看看演示"]),
    ("因为预算的问题还要再等等", ["因为预算的问题还要再等等"]),  # a connective that starts the clause: no split
    ("这次的金额和额度都定了", ["这次的金额和额度都定了"]),  # 额 of a word is no filler
    ("报价收到了，不过有点贵", ["报价收到了", "不过有点贵"]),
])
def test_speech_is_split_before_a_connective_and_at_a_filler(text: str, parts: list[str]) -> None:
    assert ll.spoken_clauses(text) == parts
    assert ll.reading_clauses(text) == clauses(text)  # without the flag: clauses as before


def test_a_negation_no_longer_covers_the_clause_after_a_connective() -> None:
    text = "价格没问题但是老板要换供应商"
    assert ll._scoped_clauses(text, "") == ((1, text),)  # read as written: one negated clause
    assert ll._scoped_clauses(text, "", spoken=True) == ((1, "价格没问题"), (0, "但是老板要换供应商"))
    plain = ll.plain_customer_clauses(text, spoken=True)
    assert plain == ("但是老板要换供应商",) and ll.plain_customer_clauses(text) == ()


def test_weights_without_the_flag_read_the_text_as_before() -> None:
    weights = ll.shipped_weights()
    assert weights is not None and not weights.spoken  # the shipped file has no "spoken" in its meta
    data = TagInput("价格没问题但是老板要换供应商", "", (), (), False)
    assert np.array_equal(ll.tag_text_indices(data, False), ll.text_indices(data.customer_text, data.rep_text))
    spoken = dataclasses.replace(weights, spoken=True)
    assert not np.array_equal(ll.tag_text_indices(data, False, spoken=True), ll.tag_text_indices(data, False))
    assert ll.tag_probabilities(spoken, data, ()) != ll.tag_probabilities(weights, data, ())
    assert_declines_and_rep_offers_only_lower(spoken)  # the sign guarantees hold in clauses of speech


def test_a_weights_file_with_the_flag_loads_with_it(tmp_path: Path) -> None:
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps({**meta, "spoken": True}, ensure_ascii=False))
    np.savez(tmp_path / "spoken.npz", **arrays)
    assert ll.load_weights(tmp_path / "spoken.npz").spoken
    assert not ll.load_weights(ll.WEIGHTS_FILE).spoken


def _item(k: int, text: str, tags: list[str], author: str) -> tl.Item:
    data = TagInput(text, "", (), (), False)
    stage = StageInput(text, "", (), None, False, False)
    return tl.Item({"id": str(k), "expect": {"tags": tags}, "format": "voice_memo_text"}, author, data, (), stage,
                   set(), None, ll.text_indices(text, ""))


def test_the_trainer_reads_clauses_of_speech_only_with_the_option_and_records_it() -> None:
    items = [_item(0, "价格没问题但是老板要换供应商", ["决策链变更"], "a"), _item(1, "下午三点到", [], "b")]
    assert np.array_equal(tl.tag_hashed(items[0], False), items[0].hashed)
    assert not np.array_equal(tl.tag_hashed(items[0], False, spoken=True), items[0].hashed)
    cfg = tl.Config(l2_hash=1.0, iters=5, spoken=True)
    fit = tl.fit_tags(items, cfg)
    no_stage = (np.zeros((1, 1)), np.zeros(1))
    assert tl.weights(fit, no_stage, np.full(len(ll.TAGS), 0.5), 0.0).spoken
    assert not tl.weights(tl.fit_tags(items, tl.Config(l2_hash=1.0, iters=5)), no_stage,
                          np.full(len(ll.TAGS), 0.5), 0.0).spoken
    assert tl.oof_key(items, cfg, 4) != tl.oof_key(items, dataclasses.replace(cfg, spoken=False), 4)
    conv = dataclasses.replace(cfg, folds=2, cnn=tl.CnnOptions(filters=2)).conv
    assert conv is not None and conv.spoken
    rows = tl.cnn_rows(items[:1], conv)
    assert len(rows.ids) == len(ll.cnn_windows("但是老板要换供应商", conv.bits, max(conv.widths)))


def test_the_count_finds_the_evidence_in_a_negated_clause() -> None:
    item = _item(0, "价格没问题但是老板要换供应商", ["决策链变更"], "a")
    j = ll.TAGS.index("决策链变更")
    w = np.zeros((ll.N_TAG_DENSE + (len(ll.SCOPES) << ll.TAG_HASH_BITS), len(ll.TAGS)))
    key = ll._hash("c换供")  # a plain-scope row of a key the negated clause holds
    w[ll.N_TAG_DENSE + (key & ((1 << ll.TAG_HASH_BITS) - 1)), j] = 2.0
    fit = tl.TagFit(w, np.zeros(len(ll.TAGS)), cfg=tl.Config(l2_hash=1.0))
    scores = check.clause_scores(fit, item, j)
    assert [(s, round(r, 3), round(p, 3)) for s, _, r, p in scores] == [(1, 0.0, 2.0)]
    assert check.cause(scores, 1.0) == "negated scope"
    assert check.cause([(0, "x", 0.2, 0.2)], 1.0) == "read, near zero"
    assert check.cause([(0, "x", 1.5, 1.5), (0, "y", -2.0, -2.0)], 1.0) == "read, outweighed"
    assert check.cause([(0, "x", 0.0, 0.0), (2, "y", 0.0, 1.5)], 1.0) == "rep's side"


def test_voice_memos_without_pauses_lose_their_spaces_only() -> None:
    memo = _item(0, "今天见了刘总 他们想看演示 ABC 系统", [], "a")
    other = dataclasses.replace(memo, sample={**memo.sample, "format": "plain_note"})
    out = check.without_pauses([memo, other])
    assert [i.tag_input.customer_text for i in out] == ["今天见了刘总他们想看演示 ABC 系统"]
