"""Round 9 of the customer ranker (issue #13): the register of each chat speaker, where a named person
stands in the discourse, and two name forms no rule proposed.

Sentences are written for these tests (no corpus text). Each candidate case is one the round-8
candidates missed (`test_not_a_candidate_before` switches this round's constructions off, so the table
cannot pass vacuously). Which candidate wins is the trained model's decision (judged by leave-one-author-out
in tests/data/FINAL_FIELDS.md), so these tests check the candidate set and the features, not the weights.
"""

from __future__ import annotations

import re

import pytest

from bot.extract import customer_ranker as cr
from tests.customer_support import customer_input

NEVER = re.compile(r"(?!)")

REACHED = [
    # A romanised name of three words (surname + two given syllables).
    ("Met Ong Boon Hwa of a Penang trading firm; he wants samples next week.", "Ong Boon Hwa"),
    ("下午和 Lee Chin Seng 视频了半小时，他想先试用一个月。", "Lee Chin Seng"),
    # A title after a surname outside the list of the 300 most common ones.
    ("今天去了仓库，贝经理说下个月要扩到三个库，让我们先出方案。", "贝经理"),
    ("鄢总来电话，合同盖章了，下周一寄回。", "鄢总"),
]


def _names(text: str) -> list[str]:
    return [c.name for c in cr.candidates(customer_input(text))]


@pytest.mark.parametrize(("text", "person"), REACHED)
def test_the_customer_is_a_candidate(text: str, person: str) -> None:
    assert person in _names(text)


@pytest.mark.parametrize(("text", "person"), REACHED)
def test_not_a_candidate_before(text: str, person: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "_LATIN3", NEVER)
    monkeypatch.setattr(cr, "_rare_surname_titled", lambda text: [])
    monkeypatch.setattr(cr, "RARE_SURNAMES", False)  # round 15 proposes 贝经理 too (a 百家姓 surname and a title)
    assert person not in _names(text)


def test_a_title_inside_a_word_or_after_a_function_word_is_no_rare_surname() -> None:
    # 财务|总监 (the character belongs to the word before), 副总 / 老总 (a title, no surname), 的总 (a particle).
    assert cr._rare_surname_titled("财务总监和副总都在，老总说的总价可以") == []


GROUP = (
    "采购-秦晴 2026-11-20 09:00\n"
    "你们的冷柜能不能先送一台来试？\n"
    "包志远 2026-11-20 09:05\n"
    "秦经理好，可以的，我明天安排司机送过去，报价也一起发您\n"
    "采购-秦晴 2026-11-20 09:10\n"
    "好的，小包，周四上午吧\n"
)


def _keys(name: str, text: str = GROUP) -> set[str]:
    data = customer_input(text)
    keys = set(cr._speaker_keys(name, data))
    is_speaker = any(t.speaker == name for t in data.turns)
    return keys | set(cr._discourse_keys(name, data, is_speaker))


def test_the_register_of_each_speaker_is_a_feature() -> None:
    customer, rep = _keys("秦晴"), _keys("包志远")
    # The customer names the vendor (你们), asks, calls the rep 小X, and is answered in the seller's register;
    # the rep commits to a service for the other side.
    assert {"spk:vendor2", "spk:says_young", "spk:answered_seller3", "spk:last"} <= customer
    assert {"spk:vendor0", "spk:seller3"} <= rep
    assert not {"spk:says_young", "spk:last"} & rep


INTERNAL = (
    "龚立 2026-11-20 09:00\n"
    "小蒲，城南那家药店的车经理要冷链柜的报价\n"
    "蒲晓 2026-11-20 09:05\n"
    "好，我下午算一下\n"
)


def test_a_person_only_talked_about_in_a_chat_is_a_feature() -> None:
    # Two colleagues talk about a customer: no vendor voice in the chat, the person is no speaker.
    assert {"disc:nonspk_vendor0", "disc:nonspk_by1"} <= _keys("车经理", INTERNAL)
    assert "disc:nonspk_vendor1" in _keys("秦经理")


def test_a_self_introduction_and_the_titled_form_of_a_speaker_are_features() -> None:
    text = ("Tony 2026-11-20 09:00\n你好，我是南湖物业的采购主管蔺家明，想了解一下你们的门禁\n"
            "邢伟 2026-11-20 09:05\n蔺主管您好\n")
    assert "disc:self_intro" in _keys("蔺家明", text)
    assert "disc:titled_of_speaker" in _keys("秦经理")
    assert "disc:titled_of_speaker" not in _keys("秦晴")


def test_the_run_of_capitalised_words_around_a_latin_candidate_is_a_feature() -> None:
    text = "今天见了 Silver Harbour Logistics 的 Grace Ho，她想要报价"
    # A firm's name: the candidate is followed by a word of the same run.
    assert {"latrun:0_1", "latR:logistics", "latw:silver"} <= set(cr._latin_run_keys("Silver Harbour", text))
    # A person's name stands alone.
    assert "latrun:0_0" in cr._latin_run_keys("Grace Ho", text)
