"""Round 19: a rep abroad writes a customer's number the local way; the country the text names decides it.

The sentences were written for these tests; none is a corpus text."""

from __future__ import annotations

import pytest

from bot.extract.phone import find_phones, named_regions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("日本客户田中，手机090-7712-3345，下周去大阪", "+819077123345"),
        ("美国客户Mike电话(626) 288-4410", "+16262884410"),
        ("Mike in the United States, call 626-288-4410", "+16262884410"),
        ("墨西哥的Carlos 55 1234 5678", "+525512345678"),
    ],
)
def test_a_local_number_of_the_country_the_text_names(text: str, expected: str) -> None:
    assert find_phones(text) == [expected]


def test_a_mainland_number_stays_mainland_whatever_country_is_named() -> None:
    assert find_phones("客户王总 139 2245 6708，在日本出差") == ["+8613922456708"]
    assert find_phones("北京办公室 010-6512-3456，下周去韩国") == ["+861065123456"]
    # so a Korean mobile written locally, which has a Beijing landline's shape, is read as Beijing's: the
    # common case for a mainland team wins (a known limit)
    assert find_phones("韩国那边金社长 010-2345-6789") == ["+861023456789"]


def test_without_a_named_country_nothing_changes() -> None:
    assert find_phones("东京的田中 090-7712-3345") == []  # a city is no country: not guessed
    assert find_phones("0921-456-778 台湾客户") == ["+886921456778"]


def test_countries_are_named_by_their_chinese_or_english_name_as_a_whole_word() -> None:
    assert named_regions("巴西的Ana和Mexico的Luis") == ("BR", "MX")
    assert named_regions("Japanese food") == ()


def test_the_frozen_country_names_are_what_the_pinned_library_gives() -> None:
    from benchmarks import country_names

    assert country_names.main(["country_names.py", "--check"]) == 0
