"""Round 20: a Japanese form of address after a surname is part of how the customer is named (like 王总).

The texts were written for these tests; none is a corpus text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.extract.extractor import extract

SENT = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("佐藤さん说下周三来工厂看样品", "佐藤さん"),
        # the header has the bare surname; the rep's reply addresses the customer with さん
        ("鈴木 11/20 15:10\n陈さん，样品收到了，有两个尺寸不对\n陈俊 11/20 15:22\n鈴木さん您好，我马上查", "鈴木さん"),
        ("今天拜访了大阪的佐藤さん，他要报价", "佐藤さん"),  # the surname ends the run before さん
        ("長谷川さん说下周要报价", "長谷川さん"),
        ("Tomokoさん说下周要报价", "Tomoko"),  # a romanised given name keeps no kana honorific
        ("王总说下周要报价", "王总"),  # no honorific: unchanged
    ],
)
def test_a_surname_with_a_japanese_honorific(text: str, expected: str) -> None:
    assert extract(text, ref_time=SENT).customer_name == expected


def test_the_rep_greeted_by_the_customer_is_not_the_customer() -> None:
    # the customer addresses the rep (a surname of one character plus さん) and names nobody else
    ext = extract("今天收到一条消息：陈さん，样品收到了，下周再联系", ref_time=SENT)
    assert ext.customer_name != "陈さん"


@pytest.mark.parametrize(
    ("text", "customer", "company"),
    [
        # two capitalised words followed by a business word are the business, not a person
        ("Rebecca Hollis (Harbour View Home, the furniture shop in Geelong) wants a quote for six sofas",
         "Rebecca Hollis", "Harbour View Home"),
        ("太阳能经销商 Southern Cross Energy 换老板了，新老板 Aaron 王下周来看货", "Aaron 王", "Southern Cross Energy"),
    ],
)
def test_a_romanised_business_name_is_no_person(text: str, customer: str, company: str) -> None:
    ext = extract(text, ref_time=SENT)
    assert (ext.customer_name, ext.company) == (customer, company)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Siobhan O'Connell 说下周来看厂，要报价", "Siobhan O'Connell"),
        ("客户 Marisol Ortega-Diaz 要三个款的报价", "Marisol Ortega-Diaz"),
        ("Annabelle Whitworth-Cavendish asked for the price list", "Annabelle Whitworth-Cavendish"),  # 29 letters
    ],
)
def test_an_apostrophe_or_hyphen_stays_inside_a_romanised_name(text: str, expected: str) -> None:
    assert extract(text, ref_time=SENT).customer_name == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Дмитрий Соколов 11/20 15:10\n李总，挖掘机的报价太贵了\n李强 11/20 15:22\n好的，我再问问老板",
         "Дмитрий Соколов"),
        ("今天和阿拉木图的 Әсел Нұрланова 通了电话，她要报价", "Әсел Нұрланова"),  # Kazakh letters
    ],
)
def test_a_cyrillic_name_is_read_like_a_romanised_one(text: str, expected: str) -> None:
    assert extract(text, ref_time=SENT).customer_name == expected


def test_a_persons_name_is_never_also_the_company() -> None:
    ext = extract("Viktor Alekseevich 说下周三来黑河看车", ref_time=SENT)
    assert ext.customer_name == "Viktor Alekseevich" and ext.company is None


def test_a_customer_thanking_the_rep_with_an_honorific_names_nobody() -> None:
    assert extract("谢谢陈さん，样品收到了，下周再联系", ref_time=SENT).customer_name is None
