"""Where a mention stands in one message (bot/extract/message_roles.py, round 13)."""

from __future__ import annotations

from bot.extract.message_roles import register, role_keys


def _keys(text: str, mention: str) -> list[str]:
    at = text.index(mention)
    return role_keys(text, at, at + len(mention), register(text))


def test_register_says_whom_the_message_addresses() -> None:
    assert register("王总：你们的报价我们看过了") == "you"
    assert register("今天去拜访了王总，他说预算还没批") == "3p"
    assert register("合同已寄出") == "plain"


def test_role_words_of_the_clause_crossed_with_the_register() -> None:
    keys = _keys("李经理：您好，我是华鑫科技的，想了解一下", "华鑫科技")
    assert "mrb:self" in keys and "mrb:self:you" in keys
    keys = _keys("今天见了王总，他们的物流一直用顺丰，价格谈不下来", "顺丰")
    assert "mrb:third:3p" in keys and "mrb:party" in keys
    keys = _keys("你们的报价偏高，我们公司预算有限", "我们公司")
    assert not any(k.startswith("mrb:") for k in keys)  # a new clause: 你们 speaks for the one before
    assert "mrclause0:you" in keys


def test_where_the_mention_stands_in_the_message() -> None:
    text = "周工（华晟电子）：小杨，布线预算批了\n另外施工队周末能进场不？\n—— 周明 华晟电子 13912345678"
    first = role_keys(text, text.index("华晟电子"), text.index("华晟电子") + 4, register(text))
    assert "mrlabel" in first and "mrfirstline" in first
    at = text.rindex("周明")
    last = role_keys(text, at, at + 2, register(text))
    assert "mrsignoff" in last and "mrcontact" in last and "mrlastlineshort" in last
    assert "mrlabel" not in last and "mrtail3" in first and "mrtail3" not in last
    middle = _keys(text, "施工队")
    assert not {"mrlabel", "mrfirstline", "mrcontact", "mrsignoff"} & set(middle)
    assert not any(k.startswith("mrlastline") for k in middle)


def test_the_addressee_opens_the_message_or_follows_its_label() -> None:
    assert "mrvocative" in _keys("贝经理（洁源科技）：钱先生，样品测试通过了", "钱先生")
    assert "mrvocative" in _keys("刘经理，老规矩再来300卷", "刘经理")
    label = _keys("贝经理（洁源科技）：钱先生，样品测试通过了", "贝经理")
    assert "mrlabel" in label and "mrvocative" not in label
    assert "mrvocative" not in _keys("今天见了刘经理，他说再来300卷", "刘经理")
