"""Round 18 of the company ranker: a second softmax that re-picks the form of the chosen firm among its nested
forms (`FORM_STEP`, with `FORM_RANK`'s keys of a form's place in its family).

Names are written for these tests (no corpus text). Whether the step helps is measured held out (FINAL_FIELDS.md,
round 18); these tests check the mechanics: the family, the re-pick, the weights file with and without the form
weights, and the trainer's form-step training choices.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import train_company_ranker as trainer
from bot.extract import company_ranker as co
from bot.extract.weights_file import ShippedWeights

NAMES = ["", "青禾科技", "青禾", "青禾科技有限公司", "杭州青禾科技", "王总"]


def _feats(n: int) -> list[np.ndarray]:
    # candidate i has the one key "k{i}", so a weight vector can favour any candidate
    return [co.hashed([f"k{i}"]) for i in range(n)]


def _favour(i: int, feats: list[np.ndarray]) -> np.ndarray:
    w = np.zeros(co.N_FEATURES, np.float32)
    w[feats[i]] = 5.0
    return w


def test_the_family_is_the_nested_forms() -> None:
    assert co.family(NAMES, 1) == [1, 2, 3, 4]  # 王总 and "no company" are no form of 青禾科技
    assert co.family(NAMES, 2) == [1, 2, 3, 4]
    assert co.family(NAMES, 5) == [5]
    assert co.family(["", "甲乙", ""], 1) == [1]  # an empty name (no written form) is no member


def test_refine_repicks_among_the_family_only() -> None:
    feats = _feats(len(NAMES))
    assert co.refine(NAMES, feats, "青禾科技", _favour(3, feats)) == "青禾科技有限公司"
    # a weight on a candidate outside the family changes nothing: the firm stays the first stage's
    assert co.refine(NAMES, feats, "青禾科技", _favour(5, feats)) == "青禾科技"
    assert co.refine(NAMES, feats, None, _favour(3, feats)) is None  # "no company" is the first stage's alone
    assert co.refine(NAMES, feats, "青禾科技", None) == "青禾科技"  # no form weights: one stage
    assert co.refine(NAMES, feats, "王总", _favour(3, feats)) == "王总"  # a lone form


def test_form_rank_keys_tell_the_longest_from_the_shortest(monkeypatch: pytest.MonkeyPatch) -> None:
    feats = _feats(len(NAMES))
    monkeypatch.setattr(co, "FORM_RANK", False)
    assert [f.tolist() for f in co.family_feats(NAMES, [1, 2, 3], feats)] == [feats[i].tolist() for i in (1, 2, 3)]
    monkeypatch.setattr(co, "FORM_RANK", True)
    ranked = co.family_feats(NAMES, [1, 2, 3], feats)
    longest, shortest = int(co.hashed(["FSlongest"])[0]), int(co.hashed(["FSshortest"])[0])
    assert longest in ranked[2] and shortest not in ranked[2]  # 青禾科技有限公司
    assert shortest in ranked[1] and longest not in ranked[1]  # 青禾
    assert set(feats[1].tolist()) <= set(ranked[0].tolist())  # the candidate's own keys stay


def test_weights_without_the_form_step_load_and_decide_in_one_stage(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    w = np.zeros(co.N_FEATURES, np.float16)
    old, new = tmp_path / "old.npz", tmp_path / "new.npz"
    np.savez_compressed(old, w=w, trained_on=np.array(["a.jsonl"]))
    np.savez_compressed(new, w=w, trained_on=np.array(["a.jsonl"]), w_form=w + 1)
    assert co.read_weights(old).w_form is None
    assert co.read_weights(new).w_form is not None
    monkeypatch.setattr(co, "SHIPPED", ShippedWeights(new, co.read_weights, name="company_ranker"))
    monkeypatch.setattr(co, "FORM_STEP", False)
    assert co.form_weights() is None  # the switch off: the form weights are not read
    monkeypatch.setattr(co, "FORM_STEP", True)
    assert co.form_weights() is not None
    monkeypatch.setattr(co, "SHIPPED", ShippedWeights(old, co.read_weights, name="company_ranker"))
    assert co.form_weights() is None


def test_the_trainer_fits_the_form_step_on_the_labels_family_only() -> None:
    feats = _feats(len(NAMES))
    record = trainer.Record("r1", "a", "青禾科技有限公司", None, list(NAMES), feats, 3, 0.0)
    lone = trainer.Record("r2", "a", "王总", None, list(NAMES), feats, 5, 0.0)
    null = trainer.Record("r3", "a", None, None, list(NAMES), feats, 0, 0.0)
    out = trainer.form_records([record, lone, null])
    assert len(out) == 1  # a lone form and "no company" teach the form step nothing
    # the label's nested forms: 杭州青禾科技 neither holds 青禾科技有限公司 nor is held by it
    assert out[0].names == ["青禾科技", "青禾", "青禾科技有限公司"]
    assert out[0].names[out[0].label or 0] == "青禾科技有限公司"
    w = trainer.fit_form([record] * 3, l2=1.0, iters=50)
    # a tie in the first stage files its first firm, 青禾科技; the form step re-picks the labelled form
    assert trainer.predict(np.zeros(co.N_FEATURES), record) == "青禾科技"
    assert trainer.predict(np.zeros(co.N_FEATURES), record, w_form=w) == "青禾科技有限公司"
    chosen = co.refine(NAMES, feats, "青禾", w)
    assert chosen == "青禾科技有限公司"
