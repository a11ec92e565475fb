"""End-to-end behaviour of extract() on hand-written inputs in every supported format."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.extract import TagRule, extract

SH = ZoneInfo("Asia/Shanghai")
REF = datetime(2026, 11, 18, 10, 0, tzinfo=SH)  # a Wednesday


def _day(result_dt: datetime | None) -> date | None:
    return result_dt.date() if result_dt else None


def test_wecom_chat_picks_customer_not_rep() -> None:
    text = (
        "周婷@微信 2026/11/18 09:12:30\n你好，我们是嘉禾连锁药房，想了解一下你们的会员营销系统\n"
        "刘洋 2026/11/18 09:15:02\n周经理您好！我是云启科技的刘洋，方便说下门店规模吗？我电话13911112222\n"
        "周婷@微信 2026/11/18 09:20:11\n我们有35家门店，预算大概二十万左右。你们跟有赞比有什么优势？"
        "电话 0755-26668888\n"
        "刘洋 2026/11/18 09:22:40\n好的，下周二下午两点我带同事过去给您做个演示可以吗？\n"
        "周婷@微信 2026/11/18 09:25:00\n可以，来我们总部吧"
    )
    r = extract(text, ref_time=REF, products=("会员营销系统", "MES"))
    assert r.customer_name == "周婷"
    assert r.company == "嘉禾连锁药房"  # never the rep's own 云启科技
    assert r.phone == "+8675526668888"  # the rep's own mobile is ignored
    assert r.amount_cny == 200_000
    assert r.next_contact == datetime(2026, 11, 24, 14, 0, tzinfo=SH) and r.next_contact_has_time
    assert "竞品对比" in r.tags and "预约拜访" in r.tags
    assert r.stage_hint == "方案演示"
    assert r.product == "会员营销系统"


def test_rep_names_override_role_guessing() -> None:
    text = "张伟 11-18 09:00\n王总，合同我发您邮箱了\n王建 11-18 09:10\n收到，法务看完周五给你回复"
    assert extract(text, ref_time=REF).customer_name == "王建"
    assert extract(text, ref_time=REF, rep_names=("王建",)).customer_name == "张伟"


def test_dingtalk_payment_and_reply_date() -> None:
    text = (
        "黄建国 11-18 08:30\n小李，发票收到了，但是尾款要等下个月15号才能付\n"
        "李明 11-18 08:45\n好的黄总，那我下个月16号再跟您确认"
    )
    r = extract(text, ref_time=REF)
    assert r.customer_name == "黄建国"
    assert r.tags == ("付款回款",)
    assert _day(r.next_contact) == date(2026, 12, 16)  # the payment date is a deadline, not a contact
    assert r.stage_hint == "已成交"


def test_note_with_declined_demo_and_quote_deadline() -> None:
    text = (
        "下午给星河电子的马总打了电话，他说之前看过别人演示过类似产品，不需要演示了，直接报个价，"
        "邮箱 ma.zong@xinghe-elec.cn。周五前要把报价发过去。"
    )
    r = extract(text, ref_time=REF)
    assert (r.customer_name, r.company, r.email) == ("马总", "星河电子", "ma.zong@xinghe-elec.cn")
    assert r.tags == ("要报价",)
    assert r.next_contact is None
    assert r.stage_hint == "需求确认"


def test_rep_offer_turned_down_is_no_demo() -> None:
    text = (
        "吴芳 11/18 10:00\n你们的报价收到了\n赵鹏 11/18 10:05\n吴经理，要不要给您安排个演示？\n"
        "吴芳 11/18 10:10\n不用了"
    )
    r = extract(text, ref_time=REF)
    assert "要演示" not in r.tags
    assert r.stage_hint == "需求确认"


def test_voice_memo_deal_lost_to_competitor() -> None:
    r = extract("跟进一下 远大机械的钱经理说他们已经选了金蝶 这个单子丢了 以后有机会再说", ref_time=REF)
    assert (r.customer_name, r.company) == ("钱经理", "远大机械")
    assert r.tags == ("流失风险", "竞品对比")
    assert r.stage_hint == "已流失"


def test_forwarded_refund_is_churn_not_payment() -> None:
    r = extract("【转发】黄女士：买了你们的设备才两个月就坏了三次，售后一直不回复，我要求退货退款！", ref_time=REF)
    assert r.customer_name == "黄女士"
    assert r.tags == ("技术问题", "流失风险")
    assert r.stage_hint == "已成交"


def test_traditional_chinese_is_converted() -> None:
    text = "陳經理：我們公司下週三想安排一次線上會議，看看你們系統的演示，預算大概三十萬。"
    r = extract(text, ref_time=REF)
    assert r.customer_name == "陳經理"  # filed as written: the Traditional spelling is the person's own
    assert r.tags == ("要演示", "预约拜访")
    assert _day(r.next_contact) == date(2026, 11, 25) and not r.next_contact_has_time
    assert r.amount_cny == 300_000


def test_labelled_note_with_spoken_phone() -> None:
    text = (
        "客户：欧阳经理\n公司：华信物流有限公司\n电话：幺三八 一二三四 五六七八\n"
        "需求：要一份正式报价，预算三点五万\n下次：12月3号上午10点拜访"
    )
    r = extract(text, ref_time=REF)
    assert (r.customer_name, r.company, r.phone) == ("欧阳经理", "华信物流有限公司", "+8613812345678")
    assert r.amount_cny == 35_000
    assert r.next_contact == datetime(2026, 12, 3, 10, 0, tzinfo=SH) and r.next_contact_has_time


def test_contract_note_uses_visit_not_document_date() -> None:
    text = "今天跟博远教育的孙校长确认了合同条款，法务那边下周二给修订版，合同金额48万，首付30%，约了月底前去学校签约。"
    r = extract(text, ref_time=REF)
    assert (r.customer_name, r.company, r.amount_cny) == ("孙校长", "博远教育", 480_000)
    assert _day(r.next_contact) == date(2026, 11, 30)
    assert r.tags == ("付款回款", "合同法务", "预约拜访")
    assert r.stage_hint == "合同洽谈"


def test_phone_call_is_not_a_visit() -> None:
    r = extract("认识了新华印刷的田主任，约好后天电话回访。", ref_time=REF)
    assert "预约拜访" not in r.tags
    assert _day(r.next_contact) == date(2026, 11, 20)
    assert r.stage_hint == "初步接触"


def test_visit_without_date_is_not_booked() -> None:
    assert "预约拜访" not in extract("雷总说有空可以过来坐坐", ref_time=REF).tags


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("客户说你们比销售易贵不少", "竞品对比"),
        ("价格太贵了，能不能打个折", "价格异议"),
        ("他们新来的采购总监要重新评估，以后都要走审批流程", "决策链变更"),
        ("麻烦发一份报价单给我", "要报价"),
        ("能不能先给我们开个试用账号？", "要演示"),
        ("约了下周一上午去他们公司拜访", "预约拜访"),
        ("法务在审合同，下周盖章", "合同法务"),
        ("上个月的尾款还没到账", "付款回款"),
        ("系统今天又宕机了，一直报错", "技术问题"),
        ("明年不续约了", "流失风险"),
    ],
)
def test_each_default_tag(text: str, tag: str) -> None:
    assert tag in extract(text, ref_time=REF).tags


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("不需要演示，直接发报价", "要演示"),
        ("试用就不用了，我们很熟悉", "要演示"),
        ("价格没问题，就是交期要确认", "价格异议"),
        ("要求退款，已经付款的全部退回", "付款回款"),
        ("上线以后一直没问题", "技术问题"),
        ("你们的报价我看了", "要报价"),
        ("上周给他们做完演示了", "要演示"),
    ],
)
def test_negations_and_non_requests(text: str, absent: str) -> None:
    assert absent not in extract(text, ref_time=REF).tags


def test_custom_tag_rules_replace_defaults() -> None:
    rules = (TagRule("要样品", ("样品",), ("不需要样品",)),)
    assert extract("麻烦寄点样品", ref_time=REF, tag_rules=rules).tags == ("要样品",)
    assert extract("不需要样品，要报价", ref_time=REF, tag_rules=rules).tags == ()


def test_product_matching_uses_configured_list_only() -> None:
    text = "他们对我们的运输管理系统很感兴趣"
    assert extract(text, ref_time=REF, products=("运输管理系统", "仓储管理系统")).product == "运输管理系统"
    assert extract(text, ref_time=REF).product is None


def test_plain_note_without_customer_data_is_empty() -> None:
    r = extract("今天下午一直在改投标文件 没有新的客户进展 周末也要加班弄完", ref_time=REF)
    assert r.is_empty()
    assert r.stage_hint is None and r.next_contact is None
