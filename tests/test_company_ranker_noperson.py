"""The company ranker's keys when the customer ranker chose nobody (`NOPERSON_KEY`, `NOPERSON_MENTION`; branch
`noperson15`, measured in tests/data/FINAL_FIELDS.md, "Round 15, company when no customer is chosen").

Sentences are written for these tests (no corpus text). The defaults keep main's shipped key ("pt:noperson" on every
candidate); the switches drop it or split it by whether the text names someone a reader takes for a person.
"""

from __future__ import annotations

import pytest

from bot.extract import company_ranker as co

FIRM_ONLY = "收到安和药房连锁的邮件，要我们提供检测报告"
ROLE_ONLY = "路边一家叫好运来的面馆，老板想上扫码点餐"
TITLED = "今天去了宏图建材，和吕总聊了报价"
FAMILIAR = "小王说顺丰物流明天发货"


def _texts(text: str) -> dict[str, str]:
    return {"C": text, "R": "", "H": ""}


def test_defaults_are_mains_shipped_keys() -> None:
    assert co.NOPERSON_KEY and not co.NOPERSON_MENTION
    cands = co.candidates(FIRM_ONLY, "", None, None, None)
    assert cands and all(keys == ["pt:noperson"] for keys in co.person_ties(cands, _texts(FIRM_ONLY), None).values())


def test_names_someone() -> None:
    assert not co.names_someone(_texts(FIRM_ONLY))
    assert not co.names_someone(_texts(ROLE_ONLY))  # 老板 is a role, not a surname with a title
    assert not co.names_someone(_texts("工地施工进度慢，总额还没定"))  # 施工 and 总额 are words, not 施 + 工
    assert co.names_someone(_texts(TITLED))
    assert co.names_someone(_texts(FAMILIAR))
    assert co.names_someone({"C": "", "R": "好的，我是张伟", "H": ""})  # any side counts


def test_switch_off_drops_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    cands = co.candidates(FIRM_ONLY, "", None, None, None)
    monkeypatch.setattr(co, "NOPERSON_KEY", False)
    assert all(keys == [] for keys in co.person_ties(cands, _texts(FIRM_ONLY), None).values())
    names_off, off = co.featurize(FIRM_ONLY, "", None, None, None)
    monkeypatch.setattr(co, "NOPERSON_KEY", True)
    names_on, on = co.featurize(FIRM_ONLY, "", None, None, None)
    key = int(co.hashed(["pt:noperson"])[0])
    assert names_off == names_on and (off[0] == on[0]).all()  # the "no company" row is untouched
    assert all(key in set(f.tolist()) for f in on[1:]) and not any(key in set(f.tolist()) for f in off[1:])
    # a chosen customer's ties do not depend on the switch
    with_person = co.candidates(TITLED, "", None, "吕总", None)
    monkeypatch.setattr(co, "NOPERSON_KEY", False)
    assert co.person_ties(with_person, _texts(TITLED), "吕总")["宏图建材"]


def test_mention_switch_splits_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(co, "NOPERSON_MENTION", True)
    cands = co.candidates(FIRM_ONLY, "", None, None, None)
    assert all(keys == ["pt:noperson:m0"] for keys in co.person_ties(cands, _texts(FIRM_ONLY), None).values())
    cands = co.candidates(FAMILIAR, "", None, None, None)
    assert all(keys == ["pt:noperson:m1"] for keys in co.person_ties(cands, _texts(FAMILIAR), None).values())


def test_company_sentences_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import company_sentences

    monkeypatch.setattr(co, "SHIPPED", co.SHIPPED)  # the tool swaps the weights file: put main's back afterwards
    monkeypatch.setattr(co, "NOPERSON_KEY", co.NOPERSON_KEY)
    rows = company_sentences.score(co.WEIGHTS_FILE, ["NOPERSON_KEY=0"], [(TITLED, "宏图建材")])
    assert not co.NOPERSON_KEY  # the switch was applied
    (row,) = rows
    assert row["customer"] is not None and isinstance(row["none"], float) and "best" in row
    assert row["company"] in (None, row["best"])  # what extract() files is the ranker's decision on these scores
