"""Companies without an industry suffix, found from the sentence around them, and forwarded headers
that put an organisation and a role before the person (issue #13). All sentences are new; the
positive cases failed before bot/extract/company.py's cue_companies and chat.py's header form."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.extract import extract

SENT = datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    ("text", "company"),
    [
        ("今天去了栖霞小筑，老板娘说想换一套民宿管理系统", "栖霞小筑"),
        ("上午见了墨点设计的创意总监岳珊，聊了素材库的需求", "墨点设计"),
        ("邝伟 11/20 09:10\n我是青柠集市的邝伟，想问一下你们的会员系统", "青柠集市"),
        ("【转发】Ivy Tan：我们公司（云杉文旅）想做一个景区小程序，请先报个价", "云杉文旅"),
        ("远山书舍的店长说上个月的书架已经到了", "远山书舍"),
    ],
)
def test_a_company_named_by_its_sentence(text: str, company: str) -> None:
    assert extract(text, ref_time=SENT).company == company


@pytest.mark.parametrize(
    "text",
    [
        "岑敏 11/20 09:10\n你好，我们是做儿童摄影的，想了解一下你们的预约系统",
        "你好，我是新开的一家面包店的店长，想问问收银机",
        "财务说要等甲方的款到了才能付",
    ],
)
def test_a_trade_or_a_clause_is_not_a_company(text: str) -> None:
    assert extract(text, ref_time=SENT).company is None


@pytest.mark.parametrize(
    ("text", "person", "company"),
    [
        ("【转发】松间茶社 冉老板：上次的茶具到了，尾款今天转", "冉老板", "松间茶社"),
        ("【转发】北辰文具 采购 祁经理：请报一下你们复印纸的价格", "祁经理", "北辰文具"),
        ("【转发】招标办 Ryan Koo：开标时间改到下周五", "Ryan Koo", None),
    ],
)
def test_a_forwarded_header_with_organisation_role_and_person(text: str, person: str, company: str | None) -> None:
    result = extract(text, ref_time=SENT)
    assert (result.customer_name, result.company) == (person, company)
