"""Round 17 of the company ranker: trade names whose edge words the chunk heads refuse (`LOOSE_EDGES`), the fields
of a contact line (`CONTACT_FIELDS`) and record-level keys for the "no company" row (`NULL_ORG`).

Sentences and names are written for these tests (no corpus text). Which choice wins is the trained model's decision
(judged held out in tests/data/FINAL_FIELDS.md, round 17), so these tests check the candidates and the keys: with a
switch off they are exactly round 16's, with it on the spans and keys described are there.
"""

from __future__ import annotations

import pytest

from bot.extract import company_ranker as co

CARD = "今天展会上收到一张名片：云栖之光国际文旅 市场部 经理 赵敏，手机 13900001111"
UNIT_FIELD = "加了个客户，名片上写刘洋，福瑞堂，电话 0571-88886666"


def _sources(text: str) -> dict[str, set[str]]:
    return {c.name: c.sources for c in co.candidates(text, "", None, None, None)}


def _feats(text: str) -> tuple[list[str], list[set[int]]]:
    names, feats = co.featurize(text, "", None, None, None)
    return names, [set(f.tolist()) for f in feats]


def _key(key: str) -> int:
    return int(co.hashed([key])[0])


def test_shipped_switches() -> None:
    # the two sources gained held out (FINAL_FIELDS round 17) and ship; the null keys were level and stay off
    assert co.LOOSE_EDGES is True
    assert co.CONTACT_FIELDS is True
    assert co.NULL_ORG is False


def test_contact_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(co, "CONTACT_FIELDS", False)
    off = _sources(CARD)
    assert "云栖之光国际文旅" not in off  # 之 inside: no chunk head holds it
    monkeypatch.setattr(co, "CONTACT_FIELDS", True)
    on = _sources(CARD)
    assert "Ccf" in on["云栖之光国际文旅"]
    assert "市场部" in on
    assert not any("13900001111" in name for name in on)  # a number is no field
    # a line without any contact mark gives no fields
    assert not any("Ccf" in s for s in _sources("云栖之光国际文旅 市场部 经理 赵敏 下周再聊").values())


def test_contact_field_with_a_unit_read_as_a_measure_word(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(co, "CONTACT_FIELDS", True)
    assert "Ccf" in _sources(UNIT_FIELD)["福瑞堂"]


def test_loose_edges_propose_coined_names(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "新美达今天来电，洪总说法务还要再审"
    monkeypatch.setattr(co, "LOOSE_EDGES", False)
    off = _sources(text)
    monkeypatch.setattr(co, "LOOSE_EDGES", True)
    on = _sources(text)
    added = {name for name, s in on.items() if "Cedge" in s}
    assert set(off) <= set(on)
    assert added  # the head of the note, read with a verb or adjective at its edge
    assert all(name not in off for name in added)  # only spans nothing else proposes
    assert all(3 <= len(name) <= 8 for name in added)
    assert not any("说" in name or "本周" in name for name in added)  # no predicate, no time word


def test_loose_edges_stop_after_a_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(co, "LOOSE_EDGES", True)
    spans = co.candidates("华彩家说要货", "", None, None, None)
    assert not any(c.name.startswith("华彩家") and len(c.name) > 3 and "Cedge" in c.sources for c in spans)


def test_switches_off_give_round_16s_features(monkeypatch: pytest.MonkeyPatch) -> None:
    for switch in ("LOOSE_EDGES", "CONTACT_FIELDS", "NULL_ORG"):
        monkeypatch.setattr(co, switch, False)
    names, before = _feats(CARD)
    monkeypatch.setattr(co, "NULL_ORG", True)
    names_on, after = _feats(CARD)
    assert names == names_on
    assert before[1:] == after[1:]  # NULL_ORG touches only the "no company" row
    assert before[0] < after[0]


def test_null_org_keys() -> None:
    text = "上午拜访了恒达机械厂，他们说下月再订"
    cands = co.candidates(text, "", None, None, None)
    keys = co._null_org_keys(cands, text)
    assert "NOorg:industry" in keys or "NOorg:unit" in keys or "NOorg:legal" in keys
    assert any(k.startswith("NOorg:use:") for k in keys)
    plain = "今天天气不错明天再说"
    assert co._null_org_keys(co.candidates(plain, "", None, None, None), plain)[0] == "NOorg:none"


def test_shape_of_a_candidate() -> None:
    assert co._shape(co.Candidate("恒达机械有限公司", {"Cfc"})) == "legal"
    assert co._shape(co.Candidate("恒达机械", {"Cfc"})) == "industry"
    assert co._shape(co.Candidate("福瑞堂", {"Ccf"})) == "unit"
    assert co._shape(co.Candidate("福瑞", {"Ccue:叫"})) == "none"  # an enumerated span says nothing
    assert co._shape(co.Candidate("福瑞", {"Ccf"})) == "announced"
