"""The learned company ranker (bot/extract/company_ranker.py, issue #13 round 6).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from benchmarks import train_company_ranker as trainer
from benchmarks.corpora import BLIND_CORPUS, TRAINING_POOL, is_trainable
from bot.extract import company_ranker as cr
from bot.extract import extract
from bot.extract.weights_file import ShippedWeights

SENT = datetime.fromisoformat("2026-11-16T10:00:00+08:00")
ROOT = Path(__file__).resolve().parent.parent


def _company(text: str) -> str | None:
    return extract(text, ref_time=SENT).company


def test_the_weights_load_once_per_process() -> None:
    first = cr.weights()
    assert first is not None
    for text in ("下午去了晨曦文具，老板说要报价", "客户说价格太高了"):
        _company(text)
    assert cr.weights() is first
    assert cr.SHIPPED.loads == 1


def test_the_shipped_weights_are_small_and_trained_on_the_training_pool_only() -> None:
    assert cr.WEIGHTS_FILE.stat().st_size < 3_000_000
    trained_on = cr.trained_on()
    pool = {p.resolve().relative_to(ROOT).as_posix() for p in TRAINING_POOL}
    assert set(trained_on) == pool
    assert all(is_trainable(ROOT / p) for p in trained_on)


def test_training_refuses_a_blind_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trainer, "TRAINING_POOL", (*TRAINING_POOL, BLIND_CORPUS[0]))  # the dev split: unseen this round
    with pytest.raises(AssertionError):
        trainer.load_records()


def test_training_is_deterministic() -> None:
    """Full-batch Adam from zero weights on the same records gives the same weights, bit for bit."""
    names, feats = cr.featurize("下午去了晨曦文具，老板孔亮说要报价", "", None, "孔亮", None)
    records = [trainer.Record("a", "x", "晨曦文具", None, names, feats, names.index("晨曦文具"), 0.0),
               trainer.Record("b", "x", None, None, names, feats, 0, 0.0)]
    first = trainer.fit(records, l2=3.0, iters=20)
    assert np.array_equal(first, trainer.fit(records, l2=3.0, iters=20))
    assert first.any()


def test_inference_is_deterministic() -> None:
    text = "柏文 11/16 09:30\n我们这边想把仓库的盘点也做进去\n邓凯 11/16 09:35\n好的柏总，我明天带方案过去"
    assert _company(text) == _company(text)
    args = ("刚从鹿鸣书房出来，店长卫东说下个月续费", "", None, "卫东", None)
    (names, feats), (again_names, again_feats) = cr.featurize(*args), cr.featurize(*args)
    assert names == again_names
    assert all(np.array_equal(a, b) for a, b in zip(feats, again_feats, strict=True))


def test_a_trade_name_without_an_industry_word_is_found_by_its_context() -> None:
    # "从X出来" and "X（老客户）": the rules know neither 书房 nor 茶舍 as a trade word.
    assert _company("刚从鹿鸣书房出来，店长卫东说下个月续费") == "鹿鸣书房"
    assert _company("下午把报价发给了云栖茶舍（老客户），老板娘韩梅说想加一套会员系统") == "云栖茶舍"


def test_a_trade_name_at_the_head_of_a_clause_is_a_candidate() -> None:
    # Round 7: no suffix, cue or 的 + role announces these; the chunk before a space or 的 and the
    # segmenter's words at the head of a clause do. 矿业 is no industry word of the rules.
    assert _company("松岭矿业 上周做了设备演示，程主任说效果不错") == "松岭矿业"


def test_the_candidates_hold_the_clause_head_and_a_name_continued_by_a_word() -> None:
    names = {c.name for c in cr.candidates("松岭矿业 上周做了设备演示", "", None, None, None)}
    assert "松岭矿业" in names
    assert not names & {"上周", "上周做了设备演示"}  # a time word or a verb does not open a name
    names = {c.name for c in cr.candidates("和华康医疗的张伟聊了", "", None, None, None)}
    assert {"华康医疗", "和华康医疗"} <= names


def test_a_comitative_preposition_is_a_feature_of_the_span() -> None:
    assert cr._comitative("和华康医疗", "和华康医疗的张伟聊了", 0)
    assert not cr._comitative("和美妇产医院", "和美妇产医院的张伟说要报价", 0)
    assert not cr._comitative("华康医疗", "和华康医疗的张伟聊了", 1)


def test_a_generic_noun_is_no_company() -> None:
    assert _company("客户吕志刚说他们上市公司流程比较多，合同要走三轮审批") is None


def test_a_labelled_company_line_stays_exact() -> None:
    assert _company("客户：潘悦\n公司：青禾小馆\n备注：下周要报价") == "青禾小馆"


def test_without_weights_the_rules_choice_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "weights", lambda: None)
    assert cr.choose("刚从鹿鸣书房出来", "", None, None, "规则的选择") == "规则的选择"


def test_no_company_wins_only_by_more_than_the_margin() -> None:
    names = ["", "晨曦文具", "晨曦"]
    assert cr.decide(names, [1.0, 0.8, 0.1], margin=0.5) == "晨曦文具"
    assert cr.decide(names, [1.0, 0.4, 0.1], margin=0.5) is None
    assert cr.decide([""], [0.0]) is None


def test_a_damaged_weights_file_leaves_the_rules_choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    damaged = tmp_path / "company_ranker.npz"
    damaged.write_bytes(b"not a zip archive")
    monkeypatch.setattr(cr, "SHIPPED", ShippedWeights(damaged, cr.read_weights, name="company_ranker"))
    assert cr.weights() is None
    assert cr.choose("拜访了华康医疗的张伟", "", None, "张伟", "华康医疗") == "华康医疗"


def test_a_name_given_by_a_naming_verb_is_described_and_no_span_holds_de() -> None:
    # Round 7: "叫X的<kind of business>" names X; with ~50% more candidates the ranker needs this
    # apposition as a feature, and a span running on through 的 ("X的水果店") is no candidate.
    text = "街角有家叫鲜果时光的水果店,店长姓周"
    start = text.index("鲜果时光")
    assert cr._naming(text, start, start + 4) == "trade"
    assert cr._naming(text, start, start + 2) == "more"
    assert cr._naming("我们公司(青禾互联)打算上线", 5, 9) == "self"
    assert cr._naming("青禾互联打算上线", 0, 4) is None
    names = {c.name for c in cr.candidates(text, "", None, None, None)}
    assert "鲜果时光" in names
    assert not any("的" in n for n in names)


def test_grouped_leave_out_never_scores_an_author_with_a_model_fitted_on_them(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Round 8: `--groups N` fits once per round-robin group of authors; each author is still held out.
    names, feats = cr.featurize("下午去了晨曦文具，老板孔亮说要报价", "", None, "孔亮", None)
    records = [trainer.Record(f"{a}-{i}", a, "晨曦文具", None, names, feats, names.index("晨曦文具"), 0.0)
               for a in ("a", "b", "c", "d", "e") for i in range(2)]
    fitted: list[set[str]] = []
    real_fit = trainer.fit

    def spy(train: list[trainer.Record], **kwargs: float) -> np.ndarray:
        fitted.append({r.author for r in train})
        return real_fit(train, l2=1.0, iters=2)

    monkeypatch.setattr(trainer, "fit", spy)
    trainer.loao(records, l2=1.0, iters=2, groups=2)
    assert fitted == [{"b", "d"}, {"a", "c", "e"}]  # groups {a, c, e} and {b, d}
    assert "| e | 2 |" in capsys.readouterr().out
