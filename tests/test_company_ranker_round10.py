"""Round 10 of the company ranker (bot/extract/company_ranker.py, issue #13): noun phrases that hold a word the
segmenter reads as a verb or an adjective, Cantonese 嘅 as a break, and the short and full form of a name.

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import pytest

from bot.extract import company_ranker as cr


def _names(text: str) -> set[str]:
    return {c.name for c in cr.candidates(text, "", None, None, None)}


def test_a_trade_word_read_as_a_verb_closes_a_loose_phrase(monkeypatch: pytest.MonkeyPatch) -> None:
    # The segmenter reads 制冷 as a verb, and the clause opens with a time word and a verb: neither a chunk head
    # nor the strict noun phrase reaches the name.
    text = "上午跟进金岭制冷，对方说下周再谈"
    monkeypatch.setattr(cr, "SEGMENT_SPANS", False)  # round 11's segments reach it too
    assert "金岭制冷" in _names(text)
    monkeypatch.setattr(cr, "LOOSE_PHRASES", False)
    assert "金岭制冷" not in _names(text)


def test_a_loose_phrase_holds_one_such_word_and_no_verb_of_one_character() -> None:
    names = _names("王经理说合同下周签，上午跟进金岭制冷")
    assert "金岭制冷" in names
    # 说 is the clause's predicate, 跟进 a second verb: neither is part of a name.
    assert not any(n.startswith(("经理说", "说", "跟进")) for n in names)


def test_cantonese_possessive_closes_a_phrase_like_de() -> None:
    assert "云帆猎头" in {c.name for c in cr.candidates("Hi，我係九龙云帆猎头嘅阿May", "", None, None, None)}
    spans: dict[str, cr.Candidate] = {}
    cr._loose_phrase_spans("C", "我哋云帆猎头嘅报价", cr._words("我哋云帆猎头嘅报价").toks, spans)
    assert "云帆猎头" in spans and spans["云帆猎头"].sources == {"Cnpl"}


def test_the_short_and_the_full_form_of_a_name_are_features() -> None:
    text = "华鑫科技有限公司来电，说华鑫那边下周要报价"
    names = frozenset({"华鑫", "华鑫科技", "下周"})
    short = cr._form_keys("华鑫", names, (text,))
    full = cr._form_keys("华鑫科技", names, (text,))
    # 华鑫 stands once on its own (once inside 华鑫科技); the full form's head stands on its own elsewhere.
    assert "alone1" in short and "fullalone1" in short
    assert "headalone1" in full and "alone1:longFalse" in full
    assert "alone0" in cr._form_keys("华鑫", names, ("华鑫科技有限公司来电",))


def test_the_form_keys_reach_the_candidate_features(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "华鑫科技有限公司来电，说华鑫那边下周要报价"
    words = {side: cr._words(t) for side, t in (("C", text), ("R", ""), ("H", ""))}
    cand = next(c for c in cr.candidates(text, "", None, None, None) if c.name == "华鑫")
    names = frozenset({"华鑫", "华鑫科技"})
    keys = cr.candidate_keys(cand, {"C": text, "R": "", "H": ""}, words, None, None, 0, names)
    assert "alone1" in keys
    monkeypatch.setattr(cr, "FORM_KEYS", False)
    keys = cr.candidate_keys(cand, {"C": text, "R": "", "H": ""}, words, None, None, 0, names)
    assert not any(k.startswith(("alone", "headalone", "fullalone")) for k in keys)


def test_the_demonstrative_spans_are_off_and_found_when_switched_on(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "他们那个华鑫 报价还没回，鑫源家的货这周到"
    assert not cr.DEICTIC
    off = {c.name: c.sources for c in cr.candidates(text, "", None, None, None)}
    assert "Cdem" not in off.get("华鑫", set()) and "鑫源" not in off
    monkeypatch.setattr(cr, "DEICTIC", True)
    on = {c.name: c.sources for c in cr.candidates(text, "", None, None, None)}
    assert "Cdem" in on["华鑫"] and on["鑫源"] == {"Cjia"}


def test_the_miss_report_names_each_kind_of_miss() -> None:
    from benchmarks.company_misses import author_sets, kind

    def row(expect: str | None, pred: str | None, names: list[str]) -> dict[str, object]:
        return {"expect": expect, "pred": pred, "names": ["", *names], "reachable": expect is None or expect in names}

    assert kind(row("华鑫科技", "华鑫科技", ["华鑫科技"])) is None
    assert kind(row(None, "华鑫", ["华鑫"])) == "company_for_null"
    assert kind(row("华鑫科技", None, ["华鑫科技"])) == "none_over_label"
    assert kind(row("华鑫科技", "上海华鑫科技", ["华鑫科技", "上海华鑫科技"])) == "longer"
    assert kind(row("华鑫科技", "华鑫", ["华鑫", "华鑫科技"])) == "shorter"
    assert kind(row("华鑫科技", "鼎力起重", ["华鑫科技", "鼎力起重"])) == "other_firm"
    assert kind(row("华鑫科技", None, ["华鑫"])) == "unreachable:overlap"
    assert kind(row("华鑫科技", None, ["鼎力"])) == "unreachable:none_near"
    sets = author_sets(["a", "b", "c", "d", "e"])
    assert sets == {"read": {"a", "c", "e"}, "unread": {"b", "d"}}
