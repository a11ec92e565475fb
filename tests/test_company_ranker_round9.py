"""Round 9 of the company ranker (bot/extract/company_ranker.py, issue #13): the noun phrase that closes a
chunk as a candidate, and the word classes of a span as features.

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import train_company_ranker as trainer
from bot.extract import company_ranker as cr

ROOT = Path(__file__).resolve().parent.parent


def _names(text: str) -> set[str]:
    return {c.name for c in cr.candidates(text, "", None, None, None)}


def test_a_brand_with_a_trade_word_outside_the_lexicon_before_de_is_a_candidate() -> None:
    # 猎头 is no industry word of the rules and the clause opens with a time word, so no chunk head reaches
    # the name: only the noun phrase before 的 does.
    names = _names("昨天陪经理聊了聊云帆猎头的单子，对方说下周定")
    assert "云帆猎头" in names
    # The phrase stops at the verb and the particle before it.
    assert not names & {"聊云帆猎头", "了聊云帆猎头", "聊了聊云帆猎头"}


def test_a_coined_name_that_reads_as_a_verb_opens_a_chunk() -> None:
    # The segmenter reads 飞跃 as a verb; standing alone at the head of its line, it is the brand.
    assert "飞跃教育" in _names("飞跃教育 王老师 —— 想了解一下课程系统")


def test_the_word_classes_of_a_span_are_features() -> None:
    text = "昨天陪经理聊了聊云帆猎头的单子"
    cands = {c.name: c for c in cr.candidates(text, "", None, None, None)}
    words = {side: cr._words(t) for side, t in (("C", text), ("R", ""), ("H", ""))}
    keys = cr.candidate_keys(cands["云帆猎头"], {"C": text, "R": "", "H": ""}, words, None, None, 0)
    assert "Cshape:nr+n" in keys
    assert "Clast:n2" in keys


def test_scoring_files_outside_the_pool_refuses_a_blind_one(monkeypatch: pytest.MonkeyPatch) -> None:
    blind = ROOT / "tests/data/corpus_v6/v6C.jsonl"
    monkeypatch.setattr(trainer, "is_trainable", lambda p: p != blind)
    with pytest.raises(AssertionError):
        trainer.load_records([blind])
