"""Round 12 of the company ranker (bot/extract/company_ranker.py, issue #13): features that compare nested forms of
one firm with each other (`NEST_KEYS`).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import pytest

from bot.extract import company_ranker as cr


def test_the_part_a_longer_form_adds_is_read_as_a_slot_of_a_firm_name() -> None:
    assert cr._part_kind("有限公司") == "legal"
    assert cr._part_kind("科技有限公司") == "more+legal"
    assert cr._part_kind("科技") == "industry"
    assert cr._part_kind("厂") == "unit"
    assert cr._part_kind("采购部") == "dept"
    assert cr._part_kind("王经理") == "title"
    assert cr._part_kind("杭州") == "w:place"


def test_a_span_knows_what_a_longer_form_adds_and_whether_each_stands_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "NEST_DETAIL", True)
    text = "杭州华鑫科技来电，说华鑫那边下周要报价"
    names = frozenset({"华鑫", "华鑫科技", "杭州华鑫科技"})
    short = cr._nest_keys("华鑫", names, (text, "", ""))
    # 华鑫 stands on its own once; 华鑫科技 never does (it is always inside 杭州华鑫科技), which stands alone.
    assert "nlpost:industry" in short and "nlpost:industry:sa1la0" in short
    assert "nlpre:w:place" in short
    assert "nlpost:industry:lfirst" in short  # the longer form is written first
    full = cr._nest_keys("杭州华鑫科技", names, (text, "", ""))
    assert "nspre:w:place" in full and "nspost:industry" in full
    assert not any(k.startswith("nl") for k in full)  # no longer candidate holds it


def test_a_longer_form_in_the_header_or_a_signature_line_is_a_feature(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "NEST_DETAIL", True)
    names = frozenset({"华鑫", "华鑫科技"})
    keys = cr._nest_keys("华鑫", names, ("华鑫那边下周报价", "", "华鑫科技-王总"))
    assert "nlH" in keys
    keys = cr._nest_keys("华鑫", names, ("华鑫那边下周报价\n王强 华鑫科技 电话 0571-88886666", "", ""))
    assert "nlsig" in keys
    assert "nlsig" not in cr._nest_keys("华鑫", names, ("华鑫那边下周报价，华鑫科技", "", ""))


def test_the_nest_keys_reach_the_candidate_features(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "华鑫科技有限公司来电，说华鑫那边下周要报价"
    words = {side: cr._words(t) for side, t in (("C", text), ("R", ""), ("H", ""))}
    cand = next(c for c in cr.candidates(text, "", None, None, None) if c.name == "华鑫")
    names = frozenset({"华鑫", "华鑫科技"})
    monkeypatch.setattr(cr, "NEST_KEYS", True)
    monkeypatch.setattr(cr, "NEST_DETAIL", True)
    keys = cr.candidate_keys(cand, {"C": text, "R": "", "H": ""}, words, None, None, 0, names)
    assert "nlpost:industry" in keys
    monkeypatch.setattr(cr, "NEST_KEYS", False)
    keys = cr.candidate_keys(cand, {"C": text, "R": "", "H": ""}, words, None, None, 0, names)
    assert not any(k.startswith(("nl", "ns")) for k in keys)


def test_the_trainer_flips_a_module_switch_from_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import train_company_ranker as trainer

    monkeypatch.setattr(cr, "NEST_KEYS", True)
    monkeypatch.setattr(cr, "CROSS_KEYS", False)
    trainer.apply_switches(["NEST_KEYS=0", "CROSS_KEYS=1"])
    assert cr.NEST_KEYS is False and cr.CROSS_KEYS is True
    with pytest.raises(SystemExit):
        trainer.apply_switches(["HASH_BITS=1"])
    with pytest.raises(SystemExit):
        trainer.apply_switches(["NEST_KEYS=yes"])


def test_the_cross_keys_pair_coarse_attributes_of_a_span(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cr._cross_keys(["len4", "al1", "in0h1"]) == ["x:len4&al1", "x:len4&in0h1", "x:al1&in0h1"]
    text = "华鑫科技有限公司来电，说华鑫那边下周要报价"
    words = {side: cr._words(t) for side, t in (("C", text), ("R", ""), ("H", ""))}
    cand = next(c for c in cr.candidates(text, "", None, None, None) if c.name == "华鑫")
    names = frozenset({"华鑫", "华鑫科技"})
    monkeypatch.setattr(cr, "CROSS_KEYS", True)
    keys = cr.candidate_keys(cand, {"C": text, "R": "", "H": ""}, words, None, None, 0, names)
    assert "x:len2&al1" in keys and "x:al1&in1h0" in keys
    monkeypatch.setattr(cr, "CROSS_KEYS", False)
    keys = cr.candidate_keys(cand, {"C": text, "R": "", "H": ""}, words, None, None, 0, names)
    assert not any(k.startswith("x:") for k in keys)


def test_the_coarse_nest_keys_name_only_the_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    names = frozenset({"华鑫", "华鑫科技", "杭州华鑫科技", "华鑫采购部"})
    monkeypatch.setattr(cr, "NEST_DETAIL", False)
    keys = cr._nest_keys("华鑫", names, ("杭州华鑫科技来电，华鑫采购部说华鑫那边下周要报价", "", ""))
    assert keys == ["clpost:dept", "clpost:firm", "clpre:place"]
