"""Round 15 of the customer ranker: transliterated names written in Chinese (`TRANSLIT_CANDIDATES`).

Sentences are written for these tests (no corpus text). Whether the ranker picks a transliterated name is the trained
model's decision (judged held out in tests/data/FINAL_FIELDS.md, round 15); these tests check the spans, that the
switch adds them as candidates, and that with the switch off the candidates and features are round 14's.
"""

from __future__ import annotations

import pytest

from benchmarks.customer_misses import miss_kind, name_form
from bot.extract import customer_ranker as cr
from bot.extract.translit_names import TRANSLIT_CHARS, dotted_names, translit_spans
from tests.customer_support import customer_input


def _spans(text: str) -> list[str]:
    return [text[a:b] for a, b in translit_spans(text)]


@pytest.mark.parametrize(("text", "name"), [
    ("今天和买买提江那边聊了，他说下周来", "买买提江"),
    ("古丽娜尔说价格有点高", "古丽娜尔"),
    ("扎西次仁老板要报价", "扎西次仁"),
    ("巴特尔明天过来看看样品", "巴特尔"),
    ("阿依古丽·买买提下周签合同", "阿依古丽·买买提"),
    ("我跟阿卜杜拉约了周三见面", "阿卜杜拉"),
])
def test_a_transliterated_name_is_a_span(text: str, name: str) -> None:
    assert name in _spans(text)


@pytest.mark.parametrize("text", [
    "他们特别多要求，我们可以下周安排",
    "沙特那边的客户",  # two characters: no span
    "明天下午三点开会",
])
def test_ordinary_words_are_no_span(text: str) -> None:
    assert _spans(text) == []


def test_the_class_is_characters_of_sound_not_common_function_words() -> None:
    assert {"买", "提", "江", "扎", "西", "巴", "特", "尔", "·"} - TRANSLIT_CHARS == {"·"}
    assert not {"的", "了", "是", "我", "你", "们", "说", "要", "在", "有"} & TRANSLIT_CHARS


def test_the_switch_adds_the_span_and_off_is_round_14(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "昨天拜访了新疆的客户，古丽娜尔说价格还要再商量，下周再联系"
    monkeypatch.setattr(cr, "TRANSLIT_CANDIDATES", False)
    data = customer_input(text)
    off = cr.candidates(data)
    assert "古丽娜尔" not in [c.name for c in off]
    dense_off, hashed_off = cr.featurize(data, off)
    monkeypatch.setattr(cr, "TRANSLIT_CANDIDATES", True)
    on = cr.candidates(data)
    names_on = [c.name for c in on]
    assert "古丽娜尔" in names_on
    assert "translit" in on[names_on.index("古丽娜尔")].sources
    # the transliteration keys are there only with the switch on
    _, hashed_on = cr.featurize(data, on)
    tl = {cr._hash(k) for k in cr._translit_keys("古丽娜尔")}
    assert tl <= set(hashed_on[names_on.index("古丽娜尔")])
    assert not any(tl <= set(h) for h in hashed_off)


@pytest.mark.parametrize(("name", "form"), [
    ("王建国", "han"), ("小李", "xiao_lao_a"), ("王总", "titled"), ("买买提江", "translit"),
    ("阿依古丽·买买提", "translit"), ("吾斯曼经理", "translit"), ("福伟明", "rare_surname"), ("郁工", "rare_surname"),
    ("Aung Kyaw", "latin"), ("Lucy郑", "mixed"), (None, "null"),
])
def test_name_forms(name: str | None, form: str) -> None:
    assert name_form(name) == form


def test_miss_kinds() -> None:
    row = {"expect": "买买提江", "pred": None, "names": ["王总", None]}
    assert miss_kind(row) == "absent"
    assert miss_kind({**row, "names": ["买买提江那", None]}) == "cut"
    assert miss_kind({**row, "names": ["买买提江", None]}) == "none"
    assert miss_kind({**row, "pred": "王总", "names": ["买买提江", "王总", None]}) == "other"
    assert miss_kind({"expect": None, "pred": "王总", "names": ["王总", None]}) == "name_for_null"
    assert miss_kind({"expect": "王总", "pred": "王总", "names": ["王总", None]}) is None


@pytest.mark.parametrize(("text", "name"), [
    ("阿不来提·吾守尔", "阿不来提·吾守尔"),  # a middle dot joins the parts whatever characters spell them
    ("今天客户阿不来提·吾守尔说要报价", "阿不来提·吾守尔"),
    ("跟阿依古丽·买买提约了周三", "阿依古丽·买买提"),
])
def test_a_dotted_name_is_a_candidate_form(text: str, name: str) -> None:
    assert name in dotted_names(text)
    assert not any(n.startswith("跟") or n.endswith("说") for n in dotted_names(text))


def test_a_title_after_a_transliterated_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "TRANSLIT_CANDIDATES", True)
    names = [c.name for c in cr.candidates(customer_input("伊犁那边的努尔兰老板欠我们的货款，说月底前还一半"))]
    assert {"努尔兰", "努尔兰老板"} <= set(names)


@pytest.mark.parametrize(("switch", "text", "name"), [
    # 裘: a surname of the 百家姓 outside the common list
    ("RARE_SURNAMES", "新来的采购经理 裘晓东 看了样品", "裘晓东"),
    ("RARE_SURNAMES", "见了自来水公司的郁工，他说再看看", "郁工"),
    ("RARE_SURNAMES", "老板娘储姐打电话来", "储姐"),
    ("ADDRESS_FORMS", "晚上跟老周吃饭，聊了聊明年的计划", "老周"),
    ("ADDRESS_FORMS", "转发 老许：价格收到了", "老许"),
])
def test_the_rarer_forms_are_candidates_with_their_switch(switch: str, text: str, name: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, switch, False)
    off = [c.name for c in cr.candidates(customer_input(text))]
    monkeypatch.setattr(cr, switch, True)
    on = [c.name for c in cr.candidates(customer_input(text))]
    assert name not in off
    assert name in on


def test_a_common_word_is_no_form_of_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "ADDRESS_FORMS", True)
    names = {c.name for c in cr.candidates(customer_input("一个小时后老家来电话，说要再看看"))}
    assert not {"小时", "老家"} & names
