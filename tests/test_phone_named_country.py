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
    # a city is no country, and eleven digits in one run have no grouping to go by: not guessed (written
    # "090-7712-3345", the grouping decides: test_a_number_written_in_a_foreign_grouping)
    assert find_phones("东京的田中 09077123345") == []
    assert find_phones("0921-456-778 台湾客户") == ["+886921456778"]


def test_countries_are_named_by_their_chinese_or_english_name_as_a_whole_word() -> None:
    assert named_regions("巴西的Ana和Mexico的Luis") == ("BR", "MX")
    assert named_regions("Japanese food") == ()


def test_the_frozen_country_names_are_what_the_pinned_library_gives() -> None:
    from benchmarks import country_names

    assert country_names.main(["country_names.py", "--check"]) == 0


# Round 20: the grouping itself. A mainland landline keeps its trunk 0 and area code together; three groups
# of 3-3-4 without a trunk 0 are North America's, and a trunk group that cuts a mainland area code is Japan's
# or Korea's. None of these texts names a country.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("郑主任手机 (718) 463-2290，周末都在", "+17184632290"),  # 0718 is also Enshi's area code
        ("我手機 604-812-3367，平日晚上打", "+16048123367"),  # not Malaysia's +60 4…
        ("my number is 647-318-0192.", "+16473180192"),
        ("Kevin电话 090-7712-3345", "+819077123345"),  # not Kizilsu's 0908 …
        ("電話：06-6123-4567", "+81661234567"),
    ],
)
def test_a_number_written_in_a_foreign_grouping(text: str, expected: str) -> None:
    assert find_phones(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("恩施的座机 0718-4632290", "+867184632290"),
        ("深圳座机0755-8888-1234", "+8675588881234"),
        ("上海办公室 021-5555-6666", "+862155556666"),
        ("手机139 2245 6708", "+8613922456708"),
        # Seoul's 02-3456-7812 would need the text to name Korea: by shape alone Japan is tried first
    ],
)
def test_a_mainland_grouping_stays_mainland(text: str, expected: str) -> None:
    assert find_phones(text) == [expected]
