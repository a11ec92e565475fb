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
        ("王总说下周要报价", "王总"),  # no honorific: unchanged
    ],
)
def test_a_surname_with_a_japanese_honorific(text: str, expected: str) -> None:
    assert extract(text, ref_time=SENT).customer_name == expected


def test_the_rep_greeted_by_the_customer_is_not_the_customer() -> None:
    # the customer addresses the rep (a surname of one character plus さん) and names nobody else
    ext = extract("今天收到一条消息：陈さん，样品收到了，下周再联系", ref_time=SENT)
    assert ext.customer_name != "陈さん"
