"""Round 11 of the company ranker (bot/extract/company_ranker.py, issue #13): noun phrases between the function
words of an unpunctuated clause (a voice memo, a plain note written in one breath).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import pytest

from bot.extract import company_ranker as cr

MEMO = "呃就是上午跟进了金岭制冷那个项目对方说三十万左右"


def _sources(text: str) -> dict[str, set[str]]:
    return {c.name: c.sources for c in cr.candidates(text, "", None, None, None)}


def test_a_name_inside_an_unpunctuated_memo_is_a_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    # One chunk runs from the first character to the last: no chunk head, no closing noun phrase reaches the name.
    monkeypatch.setattr(cr, "SEGMENT_SPANS", False)
    assert "金岭制冷" not in _sources(MEMO)
    monkeypatch.setattr(cr, "SEGMENT_SPANS", True)
    found = _sources(MEMO)
    assert found["金岭制冷"] == {"Cseg"}
    assert "金岭" in found  # a proper noun on its own: the short form


def test_fillers_verbs_and_numerals_bound_a_segment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "SEGMENT_SPANS", True)
    found = _sources("嗯那个今天去了一下华鑫科技那边然后就是跟他们王总聊了一下报价的事情")
    assert found["华鑫"] == {"Cseg"}
    # A span another construction proposes keeps its own sources (its features are unchanged).
    assert "Cseg" not in found["华鑫科技"]
    # Neither a filler, a one-character verb, a numeral nor a time word is inside a segment's span.
    assert not any(n.startswith(("那个", "去", "一下", "今天", "然后", "就是")) or n.endswith(("那个", "一下"))
                   for n, s in found.items() if "Cseg" in s)
    # A common noun on its own is no candidate of this construction.
    assert "Cseg" not in found.get("报价", set())


def test_a_segment_holds_at_most_one_verb_read_word() -> None:
    spans: dict[str, cr.Candidate] = {}
    text = "金岭制冷展览"  # the segmenter reads 制冷 and 展览 as verbs
    cr._segment_spans("C", text, cr._words(text).toks, spans)
    assert set(spans) == {"金岭", "金岭制冷"}


def test_segment_spans_are_not_evidence_for_the_no_company_row() -> None:
    assert {"Cseg", "Rseg", "Hseg"} <= cr._UNANNOUNCED
