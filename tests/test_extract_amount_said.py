"""Amounts as people say them (issue #13, round fields3): counted goods are not money, a figure the
speaker corrects is withdrawn, approximations (五十来万), a trailing count (九万六一年), k after digits
and a bare number after a price word. Every sentence is new; each case failed before the change."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.extract import extract

SENT = datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("邢总说他们仓库一天大概三千单，想换个系统", None),
        ("这个项目大概六万方土方，工期三个月", None),
        ("汪经理说他们果园有八千亩，想上监测", None),
        ("预算说是三十万出头 不对 二十八万左右", 280000),
        ("预算四十来万 下个月立项", 400000),
        ("报价七万二一年 她觉得可以", 72000),
        ("标准版每月3k，含两个账号", 3000),
        ("场地的租金是2600，含设备", 2600),
        ("首付款30万本周内安排", 300000),
    ],
)
def test_amount_as_said(text: str, amount: int | None) -> None:
    assert extract(text, ref_time=SENT).amount_cny == amount


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        # Words that begin with a measure-word character keep the money ("包括", "支付", "只是").
        ("总价20万包括安装和培训", 200000),
        ("首期10万支付后开始实施", 100000),
        ("预算15万只是软件部分", 150000),
        # A day of the month after 每月 is a date, not money.
        ("每月15号对账", None),
    ],
)
def test_money_next_to_measure_like_words(text: str, amount: int | None) -> None:
    assert extract(text, ref_time=SENT).amount_cny == amount
