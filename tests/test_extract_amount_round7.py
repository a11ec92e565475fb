"""Round 7 (issue #13): which figure is the deal's amount. Sentences written for these tests."""

from __future__ import annotations

import pytest

from bot.extract.amount import chinese_number, deal_amount


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a digit after 万 is the next place down, like spoken 四万二
        ("客户说年费6万3太高了", 63000),
        ("总价18万5，含运输", 185000),
        # financial numerals in a payment notice
        ("贵司合同款人民币捌拾贰万元整已审批", 820000),
        ("本期服务费叁万陆仟元已支付", 36000),
        # 块 before a pronoun or particle is yuan, not a measure word
        ("那八千块你们什么时候退", 8000),
        ("上次多收的三千块的安装费要退", 3000),
        # spoken shorthand: 两万六五 = 26500
        ("老板说两万六五能接受", 26500),
    ],
)
def test_amount_forms(text: str, expected: int) -> None:
    assert deal_amount(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # an area of concern, not one yuan (a guard: 我 after 块 is now read as money talk)
        "售后那一块我们还要再看看",
        "合同里保密这一块你们要改",
        # a gap between two prices
        "你们比隔壁那家贵了三万，我们再考虑",
        "你们每吨比别家高八百块",
        # a threshold of an approval rule
        "集团新规，超过三十万的项目都要董事会批",
        "二十万以上的采购要走招标",
        # an indefinite figure
        "这种系统一般要几十万吧",
        "去年花了两万多，效果一般",
        # a business result or a loss
        "上个月门店营收做到了八十万，比去年好",
        "停机一天损失五万，你们要给个说法",
    ],
)
def test_figures_that_are_not_the_deal(text: str) -> None:
    assert deal_amount(text) is None


def test_kept_limits_and_debts() -> None:
    # A guard (passes before the change too): a budget cap, a lowest price and a sum still owed are amounts of the deal
    assert deal_amount("他们预算不超过十二万") == 120000
    assert deal_amount("我们最低九万八，不能再低了") == 98000
    assert deal_amount("货款还差四万六没付") == 46000
    # the gap is dropped, the price stays
    assert deal_amount("报价二十二万，比去年贵了两万") == 220000


def test_chinese_number_two_places() -> None:
    assert chinese_number("三万五六") == 35600
    assert chinese_number("三万五") == 35000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a total or a named payment introduces a plain number
        ("设备加安装一共15600，您看下", 15600),
        ("上季度的尾款9300已经转了", 9300),
        ("保证金不用交，押金是六千五", 6500),
        ("合同金额不变还是8700", 8700),
        # a price per item gives way to the total
        ("一台¥4,200，三台一共一万二千六", 12600),
        ("按人头每月6块，三百人一年两万一千六", 21600),
        # our side's price, not another supplier's
        ("华为报的是十一万，我们报的十三万五，他嫌贵", 135000),
    ],
)
def test_which_figure_is_the_deal(text: str, expected: int) -> None:
    assert deal_amount(text) == expected


@pytest.mark.parametrize("text", ["预算大概 RM 80k，要含运费", "报价三十万泰铢可以接受"])
def test_foreign_currency_is_not_converted(text: str) -> None:
    assert deal_amount(text) is None


def test_crm_is_not_ringgit() -> None:
    # a guard: the ringgit code is not read inside a word
    assert deal_amount("CRM 预算 60万") == 600000
