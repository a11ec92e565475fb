"""Round 13 of the customer and company rankers: where a mention stands in one message (`MESSAGE_ROLE_KEYS`).

Sentences are written for these tests (no corpus text). Which candidate wins is the trained model's decision
(judged held out in tests/data/FINAL_FIELDS.md, round 13), so these tests check the features: with the switch on a
mention in a forward's label, its sign-off or a self-introduction carries keys the switch-off features lack, and
with it off the features are exactly round 12's (older weights decide as before).
"""

from __future__ import annotations

import pytest

from bot.extract import company_ranker as co
from bot.extract import customer_ranker as cr
from bot.extract.message_roles import register, role_keys
from tests.customer_support import customer_input

FORWARD = ("【转发】周工（华晟电子）：小杨，布线预算批了，你们报价超了六万\n施工队周末能进场不？\n"
           "—— 周明 华晟电子 13912345678")


def _customer_rows(text: str) -> tuple[list[str], list[list[int]]]:
    data = customer_input(text)
    cands = cr.candidates(data)
    _, hashed = cr.featurize(data, cands)
    return [c.name for c in cands], hashed


def test_customer_keys_of_the_addressee_and_the_sign_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "MESSAGE_ROLE_KEYS", False)
    names, before = _customer_rows(FORWARD)
    monkeypatch.setattr(cr, "MESSAGE_ROLE_KEYS", True)
    monkeypatch.setattr(cr, "MESSAGE_VOCATIVE", True)
    names_on, after = _customer_rows(FORWARD)
    assert names == names_on  # the same candidates, only more keys
    text = customer_input(FORWARD).customer_text
    # the label "周工（华晟电子）：" is a speaker turn; its text opens with the addressee, ends with a sign-off
    for name, expected in (("小杨", "mrvocative"), ("周明", "mrsignoff")):
        assert name in names
        i = names.index(name)
        at = text.index(name)
        keys = role_keys(text, at, at + len(name), register(text))
        assert expected in keys
        if expected == "mrvocative":
            assert expected not in role_keys(text, at, at + len(name), register(text), vocative=False)
        assert cr._hash("C" + expected) in after[i] and cr._hash("C" + expected) not in before[i]
        assert set(before[i]) < set(after[i])


def _company_feats(text: str) -> tuple[list[str], list[set[int]]]:
    names, feats = co.featurize(text, "", None, None, None)
    return names, [set(f.tolist()) for f in feats]


def test_company_keys_off_are_round_12s_and_on_add_the_role_words(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "今天去了华鑫科技，他们的物流一直用顺丰，我们的报价他们还在看"
    monkeypatch.setattr(co, "MESSAGE_ROLE_KEYS", False)
    names, before = _company_feats(text)
    monkeypatch.setattr(co, "MESSAGE_ROLE_KEYS", True)
    names_on, after = _company_feats(text)
    assert names == names_on
    assert "顺丰" in names
    i = names.index("顺丰")
    party = int(co.hashed(["Cmrb:party:3p"])[0])
    assert party in after[i] and party not in before[i]
    assert before[0] == after[0]  # the "no company" row is untouched
    assert all(b <= a for b, a in zip(before, after, strict=True))
