"""Round 16 (`companycand16`): candidate sources for firms the generator never proposed.

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import company_unreachable
from benchmarks import train_company_ranker as trainer
from bot.extract import company_ranker as cr

ROOT = Path(__file__).resolve().parent.parent
SWITCHES = ("FOREIGN_FORMS", "TITLE_AFTER", "PLACE_TRIM")


def _names(text: str) -> set[str]:
    return {c.name for c in cr.candidates(text, "", None, None, None)}


def test_the_switches_are_known_to_the_trainer() -> None:
    assert set(SWITCHES) <= set(trainer.SWITCHES)


def test_a_latin_name_glued_to_han_text_is_a_candidate_only_with_foreign_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "昨天和Brightwater Labs的采购开了会"
    monkeypatch.setattr(cr, "FOREIGN_FORMS", False)
    assert "Brightwater Labs" not in _names(text)
    monkeypatch.setattr(cr, "FOREIGN_FORMS", True)
    assert "Brightwater Labs" in _names(text)


def test_foreign_legal_forms_diacritics_and_mixed_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "FOREIGN_FORMS", True)
    names = _names("对方是 Lumière Textiles Co., Ltd. 的代表，另外还有 Kite 咨询 也在")
    assert {"Lumière Textiles Co., Ltd.", "Lumière Textiles", "Kite 咨询"} <= names
    assert "Lumière Textiles Co., Ltd" not in names
    # A full stop that closes a sentence is no part of a name.
    assert "Harbor View" in _names("下周去见 Harbor View.")
    assert "Harbor View." not in _names("下周去见 Harbor View.")


def test_a_legal_name_with_its_place_in_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "FOREIGN_FORMS", True)
    names = _names("合同主体是星河数码(香港)有限公司，下周签")
    assert {"星河数码(香港)", "星河数码(香港)有限公司"} <= names
    # A bracket that holds no place is not read so.
    assert not any("(报价)" in n for n in _names("星河数码(报价)下周给"))


def test_a_name_glued_to_surname_and_title(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "今天去拜访了蓝湾渔具孙总，聊得不错"
    monkeypatch.setattr(cr, "TITLE_AFTER", True)
    found = {c.name: c.sources for c in cr.candidates(text, "", None, None, None)}
    assert "Cti" in found.get("蓝湾渔具", set())
    monkeypatch.setattr(cr, "TITLE_AFTER", False)
    found = {c.name: c.sources for c in cr.candidates(text, "", None, None, None)}
    assert "Cti" not in found.get("蓝湾渔具", set())


def test_a_name_without_its_leading_place(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cr._without_place("杭州市余杭区青禾茶社") == "青禾茶社"
    assert cr._without_place("杭州青禾茶社") == "青禾茶社"
    assert cr._without_place("杭州市") == "杭州市"  # nothing left but the place
    monkeypatch.setattr(cr, "PLACE_TRIM", True)
    found = {c.name: c.sources for c in cr.candidates("杭州市青禾茶社，下午对账", "", None, None, None)}
    assert "trimplace" in found.get("青禾茶社", set())


def test_the_measured_sources_are_on_and_place_trim_is_off() -> None:
    # FOREIGN_FORMS and TITLE_AFTER gained held out on the UNREAD authors (FINAL_FIELDS round 16, companycand16);
    # PLACE_TRIM reached one more label in 5,000 and was not measured further.
    assert cr.FOREIGN_FORMS and cr.TITLE_AFTER
    assert not cr.PLACE_TRIM


def test_with_the_switches_off_the_candidates_are_round_15s(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "跟Oakline Home的Mike谈了，蓝湾渔具孙总说(香港)那边再议"
    monkeypatch.setattr(cr, "FOREIGN_FORMS", False)
    monkeypatch.setattr(cr, "TITLE_AFTER", False)
    sources = {s for c in cr.candidates(text, "", None, None, None) for s in c.sources}
    assert not sources & {"Clat2", "Cbrk", "Cti", "trimplace"}


def test_the_unreachable_classes_read_the_label_against_the_text() -> None:
    record = trainer.Record("x", "a", "Zeta", None, [""], [], None, 0.0,
                            ("我们和蓝湾渔具谈了", "", None, None, None), "我们和蓝湾渔具谈了")
    assert company_unreachable.why(record, [""]) == "absent"
    record.expect = "蓝湾渔具"
    assert company_unreachable.why(record, [""]) in {"bare", "cut_start", "cut_end"}
    record.expect, record.args = "Oakline Home", ("跟Oakline Home的人聊", "", None, None, None)
    assert company_unreachable.why(record, [""]) == "latin"


def test_dotted_legal_forms_are_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Round 19: a word never stops before a dot and a letter, so a dotted form is the name's, not cut inside."""
    monkeypatch.setattr(cr, "FOREIGN_FORMS", True)
    names = _names("下午拜访了Lopez Hermanos S.A.的老板，另外Grupo Vela S.A. de C.V.也要报价")
    assert {"Lopez Hermanos S.A.", "Lopez Hermanos", "Grupo Vela S.A. de C.V.", "Grupo Vela"} <= names
    assert not {"Lopez Hermanos S", "Lopez Hermanos S.", "Grupo Vela S.A. de C"} & names
    assert {"Fontana Tessuti S.r.l.", "Nusantara Jaya Sdn. Bhd."} <= _names(
        "Fontana Tessuti S.r.l.和Nusantara Jaya Sdn. Bhd.都在比价")


def test_the_choice_does_not_depend_on_the_string_hash_seed() -> None:
    """Round 19: a foreign run and its shorter forms were ranked in a set's order, so one text got two different
    firms in two processes. The same text in processes with different PYTHONHASHSEEDs must give one answer."""
    code = (
        "from bot.extract import company_ranker as cr\n"
        "text = \"I'm Maria Costa of Iberia Fresh Foods, we need 50 units by May. Lopez Hermanos S.A. too\"\n"
        "names, feats = cr.featurize(text, '', None, 'Maria Costa', None)\n"
        "print(names, [f.tolist() for f in feats], cr.choose(text, '', None, 'Maria Costa', None))\n"
    )
    outputs = set()
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        outputs.add(done.stdout)
    assert len(outputs) == 1
