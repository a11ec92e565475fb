"""Round 20: an amount in another currency is not the deal's amount in yuan (README), in the names reps abroad use.

The sentences were written for these tests; none is a corpus text."""

from __future__ import annotations

import pytest

from bot.extract.amount import deal_amount


@pytest.mark.parametrize(
    "text",
    [
        "装修报价要成四萬幾加幣，佢話太貴",  # Traditional, colloquial, a rough figure before the currency
        "一年服务费 12000 NZD",  # after a price word, the code in lower case once normalised
        "整套报 A$ 38,500，含安装",
        "合同总价2.5万澳幣",
        "这批木材总共一百二十万卢布",
        "押金五十万坚戈",
        "两万多美金的货",
    ],
)
def test_a_foreign_currency_amount_is_no_yuan(text: str) -> None:
    assert deal_amount(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("总价 45,000 AUD，折合人民币预算20万", 200_000),  # the yuan figure beside it is the deal's
        ("一年 4,800", 4_800),
        ("报价一共三万二千四人民币", 32_400),
    ],
)
def test_a_yuan_amount_beside_or_without_a_foreign_one(text: str, expected: int) -> None:
    assert deal_amount(text) == expected
