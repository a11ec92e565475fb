"""Stage from evidence of an existing customer, a signed contract, a trial and a lost deal (issue #13).

Each sentence here is new (not from a corpus); each case failed before the change it covers.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.extract import extract
from store.stages import Stage

SENT = datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def _stage(text: str) -> Stage | None:
    return extract(text, ref_time=SENT).stage_hint


@pytest.mark.parametrize(
    "text",
    [
        # a renewal with us is a customer's, even while its terms and contract are being worked on
        "邹经理说你们的考勤系统合同年底到期，续约的话法务想加一条保密条款，付款改成按季度",
        "我们那套仓储软件明年三月到期，这次续签想把付款改成半年一付，合同条款法务在看",
        # a contract the customer has signed, with words between 合同 and 签
        "魏总说合同他们董事长昨天已经签了，首付款月底前安排",
        "【转发】岳琳（松涛印务）：合同我们签好了，原件明天寄出",
        # an add-on order and a product in use
        "老客户郑姐说门店再加两台打印机，按老价格走，合同照旧签",
    ],
)
def test_an_existing_customer_is_won_even_while_terms_are_discussed(text: str) -> None:
    assert _stage(text) is Stage.WON


@pytest.mark.parametrize(
    "text",
    [
        # signing after which something happens is a term of the deal, not a signature
        "苗经理说签完合同以后首付款付三成，剩下的验收后付",
        # a renewal with the customer's other vendor, a tender, or a condition is not ours
        "他们跟一家本地软件公司的合同明年到期，想看看别的选择，合同模板先发我们法务看看",
        "如果要签，续费每年不能涨价，合同条款法务还要再看",
    ],
)
def test_terms_of_a_deal_not_yet_won_stay_in_negotiation(text: str) -> None:
    assert _stage(text) is Stage.NEGOTIATION


def test_a_trial_of_two_weeks_is_not_use_of_a_bought_product() -> None:
    assert _stage("他们的质检部门试用了两周，说识别率还可以，想再看一次演示") is Stage.DEMO


@pytest.mark.parametrize(
    "text",
    [
        "贝经理说他们的预约小程序项目取消了，不做了",
        "郁总说校领导不打算上这套系统了，谢谢我们之前跑了那么多趟",
        # a decision, with a hedge only in the reason after it
        "石主任说他们还是决定续用原来那家的平台，主要是不想再折腾",
    ],
)
def test_a_decision_not_to_buy_is_lost_and_churn(text: str) -> None:
    result = extract(text, ref_time=SENT)
    assert result.stage_hint is Stage.LOST
    assert "流失风险" in result.tags


def test_a_threat_before_the_decision_words_keeps_the_customer() -> None:
    result = extract("仇总说要是这个月还修不好，明年就不续了，换成别家的", ref_time=SENT)
    assert result.stage_hint is Stage.WON


def test_a_threat_split_by_a_pause_in_a_transcript_keeps_the_customer() -> None:
    text = "嗯 莫总说要是下周还修不好 下个月就要换成别家的系统了 我约了他周五见面"
    assert extract(text, ref_time=SENT).stage_hint is Stage.WON
