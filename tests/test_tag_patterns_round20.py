"""Round 20: the tag constructions in business English, and another seller's lower price said as a figure.

The sentences were written for these tests; none is a corpus text. These are the rules' evidence (the
learned layer weighs it); each case is checked at the pattern level, where a wrong rule shows directly."""

from __future__ import annotations

import pytest

from bot.extract.tag_patterns import pattern_hits
from bot.extract.tags import DEFAULT_TAGS


def _hits(text: str) -> set[str]:
    return set(pattern_hits(text, DEFAULT_TAGS))


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("Northwind Tools came in a lot lower for the same spec", "竞品对比"),
        ("We are also talking to two other suppliers in Ningbo", "竞品对比"),
        ("it is 10% more than our current vendor charges", "竞品对比"),
        ("Honestly this is way over our budget", "价格异议"),
        ("Could you give us a better price on 500 units?", "价格异议"),
        ("Can you quote us for 2,000 pcs, FOB Shanghai?", "要报价"),
        ("Could your engineer walk us through the dashboard first?", "要演示"),
        ("Our new procurement director will take over this project", "决策链变更"),
        ("We will not renew the service agreement next year", "流失风险"),
        ("The second payment is overdue by three weeks", "付款回款"),
        ("Legal review of the draft agreement is still pending", "合同法务"),
        ("Two of the pumps stopped working after a week", "技术问题"),
        ("那边的批发市场别的档口才十二块一件", "竞品对比"),
        ("别家都是45左右，你们这个没优势", "竞品对比"),
        ("楼下那家只要两万八，还包安装", "竞品对比"),
    ],
)
def test_a_construction_gives_its_tag(text: str, tag: str) -> None:
    assert tag in _hits(text)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("We are fine with the price, please go ahead", "价格异议"),
        ("No need for a demo, we know the product", "要演示"),
        ("We got your quote for the chairs yesterday", "要报价"),
        ("你们那边才三万，已经很便宜了", "竞品对比"),  # our own price
        ("他们那边只要两台就够了", "竞品对比"),  # a quantity, not another seller's price
        ("We would like to visit the factory in May", "竞品对比"),
        ("No problem with the price, please send the contract", "技术问题"),
    ],
)
def test_a_negated_or_unrelated_sentence_gives_no_tag(text: str, tag: str) -> None:
    assert tag not in _hits(text)
