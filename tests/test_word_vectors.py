"""Static word vectors for the learned tag layer (issue #13, round 9): the table, its distillation, and the
optional dense block of the tag model (bot/understanding/word_vectors.py, learned_layer.vector_features)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import distill_word_vectors as distil
from benchmarks import train_learned_layer as tl
from benchmarks.corpora import is_trainable
from bot.extract.model import TagInput
from bot.understanding import learned_layer as ll
from bot.understanding import word_vectors as wv

RIVAL = ll.TAGS.index("竞品对比")


def test_the_table_loads_once_per_process_and_is_small() -> None:
    first = wv.shipped_table()
    assert first is not None
    assert wv.shipped_table() is first
    assert wv.SHIPPED.loads == 1
    assert wv.TABLE_FILE.stat().st_size < 5_000_000
    assert first.vectors.dtype == np.float32 and first.dims == first.meta["dims"]


def test_the_table_is_distilled_from_the_training_pool_only() -> None:
    table = wv.shipped_table()
    assert table is not None
    root = wv.TABLE_FILE.parents[2]
    # Distilled in round 9 from round 8's pool (51 authors); the pool has grown since, and the block is off, so
    # the table is not re-distilled: it must come from training files only, never a blind one.
    pool = {p.resolve().relative_to(root).as_posix() for p in tl.TRAINING_POOL}
    trained_on = table.meta["trained_on"]
    assert isinstance(trained_on, list) and trained_on and set(trained_on) <= pool
    assert all(is_trainable(root / p) for p in trained_on)


def test_the_distillation_is_deterministic_on_a_tiny_vocabulary() -> None:
    words = ["价格", "报价", "合同", "付款", "演示", "拜访", "对手", "故障"]
    embed = distil.e5_embed()
    first = distil.distill(words, 3, embed)
    assert first.shape == (len(words), 3) and first.dtype == np.float16
    assert np.array_equal(first, distil.distill(words, 3, embed))
    assert wv.fingerprint(words, first) == wv.fingerprint(words, distil.distill(words, 3, embed))


def test_a_word_outside_the_table_reads_its_characters() -> None:
    vectors = np.arange(6, dtype=np.float16).reshape(3, 2)
    table = wv.Table({"报价": 0, "报": 1, "价": 2}, vectors.astype(np.float32), "x", {"dims": 2})
    assert wv.word_vector(table, "报价").tolist() == [0.0, 1.0]
    assert wv.word_vector(table, "价报单").tolist() == [3.0, 4.0]  # the mean of 价 and 报; 单 is unknown
    assert wv.word_vector(table, "单据") is None
    assert wv.pool(table, ["单据"], "mean+max").tolist() == [0.0] * 4  # nothing known adds nothing
    assert wv.pool(table, ["报价", "价"], "mean+max").tolist() == [2.0, 3.0, 4.0, 5.0]


def test_only_plain_customer_clauses_feed_the_vectors() -> None:
    """A negated clause or a rep's turn adds no word: they keep only lowering the tags they may lower."""
    words = ll.plain_customer_words("客户说下个月想看演示，不需要报价", "我们可以安排培训")
    assert "演示" in words
    assert "报价" not in words and "培训" not in words


def test_the_shipped_weights_without_the_block_decide_as_before() -> None:
    """Weights trained before round 9 (no tag_vec_w) load, and their first stage is exactly the round-8 sum."""
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as data:
        if "tag_vec_w" in data.files:
            pytest.skip("the shipped weights were retrained with the word-vector block")
    weights = ll.shipped_weights()
    assert weights is not None and weights.tag_vec_w is None
    data = TagInput("客户说友商那边的方案便宜一些", "", (), (), False)
    bits = ll.tag_hash_bits(weights.tag_w)
    hashed = ll.fold(ll.text_indices(data.customer_text, data.rep_text), bits)
    z = (np.asarray(ll.tag_dense(data, ())) @ weights.tag_w[: ll.N_TAG_DENSE].astype(np.float64)
         + weights.tag_w[ll.N_TAG_DENSE + hashed].astype(np.float64).sum(0) + weights.tag_b)
    assert ll.first_stage_probabilities(weights, data, ()) == pytest.approx(1 / (1 + np.exp(-z)))


def _weights_with_block(tmp_path: Path, fingerprint: str) -> Path:
    table = wv.shipped_table()
    assert table is not None
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = {**__import__("json").loads(str(arrays["meta"])), "vec_pooling": "mean", "word_vectors": fingerprint}
    arrays["meta"] = np.array(__import__("json").dumps(meta, ensure_ascii=False))
    arrays["tag_vec_w"] = np.zeros((table.dims, len(ll.TAGS)), dtype=np.float16)
    np.savez(tmp_path / "layer.npz", **arrays)
    return tmp_path / "layer.npz"


def test_weights_with_the_block_need_the_table_they_were_trained_on(tmp_path: Path) -> None:
    table = wv.shipped_table()
    assert table is not None
    weights = ll.load_weights(_weights_with_block(tmp_path, table.fingerprint))
    assert weights.tag_vec_w is not None and weights.table is table
    with pytest.raises(ValueError):  # another table's weights: refused, the rules decide
        ll.load_weights(_weights_with_block(tmp_path, "0" * 16))


# Invented sentences (not corpus texts). Each tag is taught with one word only; the test sentences use a synonym
# that shares no character with it (so no character or word n-gram of the training sentences covers it).
TAUGHT = {"付款回款": ("这笔{}下周能到", "财务说{}流程走完了", "{}的事老板已经签字", "上个月的{}还差一半"),
          "技术问题": ("设备昨天又{}了", "系统{}影响了发货", "{}之后数据丢了一部分", "夜里{}了两个小时")}
WORDS = {"付款回款": "付款", "技术问题": "故障"}
OTHER = ("下周二去工厂看一下产线", "合同条款法务还在看", "想约个时间做个培训", "他们的仓库在城东",
         "希望多给几个账号", "客户对售后服务很满意", "预算批下来了准备采购", "老板想先看看方案")


def _fit_vectors_only(table: wv.Table) -> ll.Weights:
    """A tag model that reads the rules' evidence and the word-vector block only (a hashed table of zeros),
    trained with the trainer's own fit on the invented sentences above."""
    texts, rows = [], []
    for tag, templates in TAUGHT.items():
        for template in templates:
            texts.append(template.format(WORDS[tag]))
            rows.append([t == tag for t in ll.TAGS])
    texts += OTHER
    rows += [[False] * len(ll.TAGS)] * len(OTHER)
    dense = np.array([[*ll.tag_dense(TagInput(t, "", (), (), False), ()),
                       *ll.vector_features(table, "mean", t, "")] for t in texts])
    x = tl.design(dense, [np.zeros(0, np.int64)] * len(texts))
    wd, _, b, _ = tl.fit(x, np.array(rows, dtype=float), l2_dense=0.1, l2_hash=1.0, softmax=False, iters=300,
                         n_hashed=len(ll.SCOPES) << 1)
    tag_w = np.vstack([wd[: ll.N_TAG_DENSE], np.zeros((len(ll.SCOPES) << 1, len(ll.TAGS)))]).astype(np.float32)
    stage = np.zeros((ll.N_STAGE_DENSE + ll.N_HASHED, len(ll.STAGES)), dtype=np.float32)
    return ll.Weights(tag_w, b.astype(np.float32), np.full(len(ll.TAGS), 0.5, dtype=np.float32), stage,
                      np.zeros(len(ll.STAGES), dtype=np.float32), 0.0, {}, None, None, None,
                      wd[ll.N_TAG_DENSE :].astype(np.float32), "mean", table)


@pytest.mark.parametrize(("text", "tag"), [("钱周四转账过来", "付款回款"),
                                           ("机器出毛病了", "技术问题")])
def test_a_synonym_of_a_trained_word_gets_the_tag(text: str, tag: str) -> None:
    """Taught 付款 and 故障 only, the model gives the tag to 转账 and 毛病, whose vectors lie near the taught words';
    without the block (the round-8 model's features) nothing in these sentences moves the tag."""
    table = wv.shipped_table()
    assert table is not None
    weights = _fit_vectors_only(table)
    data = TagInput(text, "", (), (), False)
    assert tag in ll.learned_tags(weights, data, ())
    without = ll.Weights(*[getattr(weights, f) for f in ("tag_w", "tag_b", "thresholds", "stage_w", "stage_b",
                                                         "stage_margin", "meta")])
    assert tag not in ll.learned_tags(without, data, ())
    assert not ll.learned_tags(weights, TagInput("下个月想安排一次培训", "", (), (), False), ())
