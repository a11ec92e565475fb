"""Next contact, amount and phone, round 5 of issue #13 (branch when5).

Every sentence is new, written for this file (none is a corpus text). Each case failed on main before
this round unless it is marked "guard" (a guard pins down what the new rules must not do).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.extract import extract
from bot.extract.amount import deal_amount
from bot.extract.phone import customer_phones
from bot.extract.when import find_time_mentions

TZ = timezone(timedelta(hours=8))
MORNING = datetime(2026, 11, 17, 10, 0, tzinfo=TZ)  # a Tuesday, 10:00
EVENING = datetime(2026, 11, 17, 19, 30, tzinfo=TZ)  # the same Tuesday, after work


def _contact(text: str, sent: datetime) -> date | None:
    found = extract(text, ref_time=sent).next_contact
    return found.date() if found else None


# --- next contact: what is a contact ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sent", "expected"),
    [
        # A voice memo's pause before a date ends the clause before it: the document sent is not the call.
        ("嗯 先把合同草稿发给他 周五下午电话对一下条款", EVENING, date(2026, 11, 20)),
        # A time without a day takes the day named just before it.
        ("记一下明天的安排 上午九点半跟华越物流的采购开视频会", EVENING, date(2026, 11, 18)),
        ("严主任说她周四下午有空，你们三点过来就行", MORNING, date(2026, 11, 19)),
        # A part of today said without a day, and "before the end of work" today.
        ("孔丽 11/17 09:50\n新报表什么时候能用\n贾明 11/17 09:55\n我问下研发，下午给您回话", MORNING,
         date(2026, 11, 17)),
        ("孔丽 11/17 09:50\n新报表什么时候能用\n贾明 11/17 09:55\n今天下班前给您答复", MORNING, date(2026, 11, 17)),
        # "下周二我不在，周三吧": the counter-offer keeps the week that was named.
        ("贾明 11/17 09:55\n下周二上午去您那边？\n孔丽 11/17 09:58\n下周二我不在，周三吧", MORNING, date(2026, 11, 25)),
        # Cantonese day and visit words.
        ("聽日下晝三點過嚟我哋公司傾吓", EVENING, date(2026, 11, 18)),
        # A visit to the customer's premises said with whose they are, a presentation to their people.
        ("周四上午我到您仓库看一下货架", MORNING, date(2026, 11, 19)),
        ("下周一在他们总部给信息部做个介绍", MORNING, date(2026, 11, 23)),
        # A reply the customer asks for.
        ("付总说这事明天必须给他们一个说法", MORNING, date(2026, 11, 18)),
        # A call back, not money sent over.
        ("他还在犹豫，下周一我再打过去问问", MORNING, date(2026, 11, 23)),
        # A day moved to another: the new day holds.
        pytest.param("原定周四的培训会推迟到下周一上午", MORNING, date(2026, 11, 23),
                     marks=pytest.mark.xfail(strict=True, reason=(
            "round 15 retrain (18895 records, 126 authors): the next-contact chooser scores the day moved from "
            "(周四, 1.74) over the day moved to (1.56); the rules choose the new day"))),
        # The customer's internal review with an invitation to present at it.
        ("下周四他们内部开评审会，请我们去讲一下方案", MORNING, date(2026, 11, 26)),
        # Arriving at a time confirmed by the one who comes.
        ("孔丽 11/17 09:50\n设备周五能装吗\n贾明 11/17 09:55\n可以，周五上午到", MORNING, date(2026, 11, 20)),
        # English day expressions in a bilingual chat.
        # Round 19's contact ranker (156 authors) picks no contact here: strict xfail with the measured reason.
        pytest.param("Grace 11/17 09:50\nCan we meet next Tuesday afternoon?", MORNING, date(2026, 11, 24),
                     marks=pytest.mark.xfail(strict=True, reason="round 19 contact ranker (156 authors): no contact")),
        ("OK, let's have a quick call tomorrow at 3pm", MORNING, date(2026, 11, 18)),
        # Bringing something over on a day is going there (guard).
        ("周三我把样机送过去给他们试用", MORNING, date(2026, 11, 18)),
    ],
)
def test_contact(text: str, sent: datetime, expected: date) -> None:
    assert _contact(text, sent) == expected


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        # A bare 给您 hands something over ("…前给您"), or does a task for the customer.
        ("孔丽 11/17 09:50\n把资质文件发我一份\n贾明 11/17 09:55\n好的，周四前给您", MORNING),
        pytest.param("贾明 11/17 09:55\n账单的差异我明天上午给您查清楚", MORNING,
                     marks=pytest.mark.xfail(strict=True, reason=(
            "round 10 retrain (11245 records, 75 authors): the next-contact chooser takes the rep's promise to "
            "check the bill tomorrow morning as the contact"))),
        # Signing is not a meeting word: 签约 is not 约.
        ("采购说价格没问题了，争取本周五签约", MORNING),
        # A threat inside a condition is not a plan.
        ("车间主任说如果周四还修不好就找我们老板谈", MORNING),
        # The customer's board meets without us.
        ("下周二他们董事会开会讨论预算", MORNING),
        # Two days offered as alternatives, not yet chosen. The round-13 retrain (16045 records, 107 authors) takes the
        # earlier day; pool authors themselves label such a record with a date about twice as often as null (a crude
        # count of two days joined by 或者/还是: 20 with a date, 11 null of 31), and the labelling README is silent.
        pytest.param("孔丽 11/17 09:50\n你们下周二上午或者周三下午过来都行", MORNING,
                     marks=pytest.mark.xfail(strict=True, reason=(
            "round 13 retrain (16045 records, 107 authors): the next-contact chooser takes the earlier of two days "
            "offered as alternatives, as most pool authors label it"))),
        # Goods delivered by a day are a delivery deadline.
        ("我答应周三之前把样机送过去", MORNING),
        # Sending a quote by a day is a deadline, in English too (guard).
        ("I will send the quotation by Friday.", MORNING),
        # A parcel arriving is not a visit (guard).
        ("孔丽 11/17 09:50\n配件到了吗\n贾明 11/17 09:55\n快递周五到", MORNING),
        # What happened this afternoon, told in the perfective (guard).
        ("下午给何总打了电话，他说再考虑考虑", EVENING),
        # Money transferred by a day (guard).
        ("财务说尾款本周五之前打过去", MORNING),
    ],
)
def test_no_contact(text: str, sent: datetime) -> None:
    assert _contact(text, sent) is None


# --- dates ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三周后再约", date(2026, 12, 8)),  # jionlp moved it to that week's Monday
        ("两个月后再看", date(2027, 1, 17)),
        ("下个月底前", date(2026, 12, 31)),  # was this month's end
        ("二月底", date(2027, 2, 28)),  # was this month's end
        ("那天下午", None),  # guard: "that day" with no day before it dates nothing
    ],
)
def test_dates(text: str, expected: date | None) -> None:
    found = find_time_mentions(text, ref_time=MORNING)
    assert (found[0].when.date() if found else None) == expected


# --- amount --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Counted things (measure words) are not money.
        ("场里养了三千头牛，这套饲喂系统预算大概八十万", 800_000),
        ("五千亩的果园都要装，报价二十六万", 260_000),
        ("旺季一天能走两千票", None),
        # 本 is a measure word, but not in 本周.
        ("首付款30万本周内到账", 300_000),
        # Another currency is not converted.
        ("对方的报价是2万美元", None),
        ("合同金额港币十五万", None),
        # The speaker corrects the figure.
        ("预算六十万 不对 是六十五万", 650_000),
        # Approximations and rates.
        ("他们预算大概三十来万", 300_000),
        ("维保服务费九万六一年", 96_000),
        ("仓库月租金是4500", 4_500),
        # The figure a money word introduces is the deal's.
        ("他们有两百万注册会员。我们这个项目的预算是80万", 800_000),
        # A figure under 1万 with no currency and no money word is no price.
        ("门店大概一千五左右。", None),
        ("每月5k的套餐，包括所有功能", 5_000),
        # Guards: plain yuan amounts stay.
        ("三万九千八", 39_800),
        ("¥39,800", 39_800),
        ("20万包括安装", 200_000),
    ],
)
def test_amount(text: str, expected: int | None) -> None:
    assert deal_amount(text) == expected


# --- phone ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "customer", "expected"),
    [
        # In the customer's own chat turn, 他/她 is someone else.
        ([("我们仓库的主管老魏负责，他手机 13912345678", True)], "严红", []),
        ([("0755-2345 6789，她下午都在办公室", True)], "严红", []),
        # In a note, another named person's number is not the customer's.
        ([("见了李总和他的助理小唐，小唐的电话 13712345678", False)], "李总", []),
        # Guards: the customer's own number, and 他 in a note (the customer).
        ([("我手机 13912345678，有事打我", True)], "严红", ["+8613912345678"]),
        ([("见了严红，他手机 13912345678", False)], "严红", ["+8613912345678"]),
    ],
)
def test_customer_phone(parts: list[tuple[str, bool]], customer: str, expected: list[str]) -> None:
    assert customer_phones(parts, customer) == expected


def test_referral_phone_in_a_chat() -> None:
    text = (
        "严红 11/17 09:50\n设备的事以后找我们设备科的老魏，他手机 139 1234 5678\n"
        "贾明 11/17 09:55\n好的，我今天联系他"
    )
    assert extract(text, ref_time=MORNING).phone is None
