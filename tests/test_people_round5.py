"""Customer and company, round 5 (issue #13): general constructions the unseen-author corpora showed.

Every sentence here is written for the test (none is a corpus text); each failed before this round.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.extract import extract

REF = datetime(2026, 3, 9, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _who(text: str) -> tuple[str | None, str | None]:
    r = extract(text, ref_time=REF)
    return r.customer_name, r.company


@pytest.mark.parametrize(
    ("text", "person", "company"),
    [
        # Forward marks as people write them, Traditional ones included (轉寄, 轉傳).
        ("转：鸿图五金 Kevin Ma —— 小王，样品收到了，下周安排打样。", "Kevin Ma", "鸿图五金"),
        ("轉寄：您好，我是晨星電子的採購 黃美玲，想了解一下價格。", "黃美玲", "晨星電子"),
        ("转发一条消息：我是青松物业的经理 田野，电梯的维保合同快到期了。", "田野", "青松物业"),
        # A header with organisation, department and person joined by a dash.
        ("【转发】金帆纺织 财务部-苗红梅：小刘，上个月的发票还没收到。", "苗红梅", "金帆纺织"),
        # A header with organisation, role and a Latin name of two words.
        ("【转发】云图网络 运维负责人 Sandy Wu：你们的服务器又掉线了。", "Sandy Wu", "云图网络"),
        # The sender's organisation in brackets after a Latin name.
        ("转发：Tony Fang（海川网络）：报价收到，我们内部再评估一下。", "Tony Fang", "海川网络"),
        # "转发自 <sender>：" with a space names the sender; without one it names the group it came from.
        ("转发自 海岳网络 邹建明：服务器的续费发票开好了吗？", "邹建明", "海岳网络"),
        ("转发自门店群：你好，收银机一直黑屏，麻烦尽快处理。—— Leo Chen（南港超市）", "Leo Chen", "南港超市"),
    ],
)
def test_forwarded_messages_give_the_sender(text: str, person: str, company: str | None) -> None:
    assert _who(text) == (person, company)


@pytest.mark.parametrize(
    ("text", "person"),
    [
        # An ordinary word that starts with a surname character is no name (项目, 方案, 师傅).
        ("去了新城地产的项目部 见了工程经理龚立伟 他说外墙要返工", "龚立伟"),
        ("谢谢你们的方案，我们老板还要再看看。Best, Rita Gu (星河酒店)", "Rita Gu"),
        ("仓库那边说网关还是掉线 下周我带维修师傅过去看看", None),
        # A surname inside the word before it is no surname: 实施 + 经理 is a role, not 施经理.
        ("和我们的实施经理一起去了客户那边，信息科的闫科长说下周开始培训", "闫科长"),
        # Less common surnames (邝, 闻) and titles (园长, 老X).
        ("晚上和安捷快运的调度经理 邝永康 通了电话", "邝永康"),
        ("见了他们的办公室主任 姓闻 闻主任 说要先报预算", "闻主任"),
        ("去了春苗幼儿园，园长姓葛，葛园长说想先试用一个月", "葛园长"),
        ("给红星中学的后勤主任老聂打了个电话，滤芯要换了", "老聂"),
        # The rep's own colleague further back in the clause is not the customer.
        ("和我们技术部的老钱一起去了宏远模具，没见到能拍板的人", None),
        # A greeting to the rep in a forwarded message is the reader, not the writer.
        ("王经理您好，我是康达齿科的医生许文涛，想再加两台设备的授权。", "许文涛"),
        # A role between the organisation and the name in a self-introduction.
        # English: a self-introduction, not the greeting before it.
        ("Hello Mr. Li, this is Peter Novak from Danube Foods. Could you send a price list?", "Peter Novak"),
    ],
)
def test_who_the_customer_is(text: str, person: str | None) -> None:
    assert _who(text)[0] == person
