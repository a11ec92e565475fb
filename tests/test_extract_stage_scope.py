"""Stage from evidence, round fields3 of issue #13: a customer with nothing more shown starts at
初步接触; needs said not to exist yet or only vague wants from a contact that says it is early are
no needs; a solution presentation said in many ways is 方案演示; asking for less is bargaining only
over a price already given; payments, complaints and churn words make an existing customer only when
nothing marks the text as a prospect's request. Every sentence is new, written for this file. The
cases of test_stage_from_evidence failed before the change except those marked "guard", which pin
behaviour the new rules could have broken; test_stage_scope holds the boundaries of the new rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.extract import extract
from bot.extract.stage import stage_hint
from bot.handlers.flow import _stage_hint_for
from store.models import Customer
from store.stages import Stage

SENT = datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        # A customer met, nothing more: the first stage, not "no stage".
        ("见了嘉禾物业的孙经理，她说目前这套门禁还能用，明年再看看。", Stage.FIRST_CONTACT),
        # Vague wants from a contact that says it is early; a budget said not to exist yet.
        ("今天见了蓝山酒店的工程经理周涛 他说想了解一下我们的能耗系统 暂时没有预算 先加了微信", Stage.FIRST_CONTACT),
        ("冯敏 11/20 09:10\n你好，我们在找一个排班工具，先了解下你们的产品，不急", Stage.FIRST_CONTACT),
        # Presentations said without 演示.
        ("孙强说下周三让我带上售前去他们公司给领导讲一遍方案", Stage.DEMO),
        ("邓总想让我们下周一来他们办公室做个简报", Stage.DEMO),
        ("客户想先把设备放在门店试一个月再说，我答应了，联系人程杰", Stage.DEMO),
        # Bargaining over a price already on the table, and a quote accepted with terms still open.
        # guard
        ("何丽 11/20 09:00\n你们年费多少？\n周斌 11/20 09:05\n标准版一年 6,000\n"
         "何丽 11/20 09:10\n有点贵，能不能给点优惠", Stage.NEGOTIATION),
        ("万总说报价他们已经认可了，就是交货期要再压两周", Stage.NEGOTIATION),
        ("顾经理说我们的价格还可以，就是要求能赊账两个月", Stage.NEGOTIATION),
        # Payments and renewals of a customer; the rep noting that the customer runs our product.
        ("财务-梁静 11-20 09:00\n你们9月的运费我们这周付", Stage.WON),
        ("庞总那边用的是我们的考勤系统，想再加一个排班模块，让我们报个价", Stage.WON),  # guard
        # A choice made elsewhere.
        ("邹经理说他们已经选了另一家的，合同上周签了", Stage.LOST),  # guard
        ("【转发】沈涛：评估下来我们决定还是用现在这家，谢谢", Stage.LOST),
    ],
)
def test_stage_from_evidence(text: str, stage: Stage) -> None:
    assert extract(text, ref_time=SENT).stage_hint is stage


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        # "决定用了" is a decision still in procurement, not a product in use; terms are being agreed.
        ("于强 11/20 09:00\n你们的系统我们已经决定用了，就是要分三期付款，合同条款你们改一下", Stage.NEGOTIATION),
        # Asking for less before any price is given is needs talk; the demo is the stage.
        ("嗯 今天跟韩梅聊了 她觉得你们这类系统都太贵 问能不能便宜点 约了周五线上演示", Stage.DEMO),
        # Payment terms asked about at first contact are a need, not a paying customer.
        ("【转发】陶然：我们想入驻你们的平台，扣点怎么算？账期多长？麻烦报个价", Stage.NEEDS_CONFIRMED),
        # An e-invoicing product is not an invoice.
        ("【转发】蔡琳：我们想上一套电子发票系统，请提供报价", Stage.NEEDS_CONFIRMED),
        # Reporting to one's own boss is not a presentation to the customer.
        ("李想问了价格，我大概报了一下，她说回去跟领导汇报", Stage.NEEDS_CONFIRMED),
    ],
)
def test_stage_scope(text: str, stage: Stage) -> None:
    assert extract(text, ref_time=SENT).stage_hint is stage


@pytest.mark.parametrize(
    "text",
    [
        "今天去了两次都扑空了，明天再打电话约",  # no contact took place
        "今天在公司整理样品和报价模板，没有出去跑客户",
    ],
)
def test_no_contact_no_stage(text: str) -> None:
    assert extract(text, ref_time=SENT).stage_hint is None


def test_no_customer_no_default_stage() -> None:
    assert stage_hint("今天天气不错", (), customer=False) is None
    assert stage_hint("今天天气不错", (), customer=True) is Stage.FIRST_CONTACT


def test_first_contact_is_no_hint_for_a_customer_already_further() -> None:
    assert _stage_hint_for(Customer(name="程杰", stage=Stage.NEGOTIATION), Stage.FIRST_CONTACT) is None
    assert _stage_hint_for(Customer(name="程杰", stage=Stage.FIRST_CONTACT), Stage.FIRST_CONTACT) is Stage.FIRST_CONTACT
    assert _stage_hint_for(Customer(name="程杰", stage=Stage.NEGOTIATION), Stage.WON) is Stage.WON


@pytest.mark.parametrize(
    ("text", "tags", "stage"),
    [
        # Text evidence that does not depend on the tag layer finding the right tag.
        ("惠民药房的邱店长说我们给他们装的那台取药机这周老是卡住，顾客都在排队", (), Stage.WON),
        ("你们上个月到货的那批扫码枪有十几个读不出条码", (), Stage.WON),
        ("【转发】葛经理：你们的报价我们看过了，比另外一家高，最好能降到二十万以内", (), Stage.NEGOTIATION),
        ("柏总说你们报的那套方案平台费能不能也免掉", (), Stage.NEGOTIATION),
        ("曹经理想先在一楼大堂试运行一个月再决定", (), Stage.DEMO),
        ("蒋主任想约个时间看一次线上示范", (), Stage.DEMO),
        # A contract of the customer's current vendor running out is no contract work of ours.
        ("姚经理说他们现在跟物业公司的合同年底到期，明年要公开招标，让我们关注", ("合同法务",),
         Stage.NEEDS_CONFIRMED),
        # A worry about faults is not a fault in something installed.
        ("秦总问你们的系统会不会卡顿，担心高峰期扛不住", (), Stage.FIRST_CONTACT),
    ],
)
def test_stage_without_relying_on_tags(text: str, tags: tuple[str, ...], stage: Stage) -> None:
    assert stage_hint(text, tags, customer=True) is stage
