"""Phones, round 7 of issue #13: foreign numbers written the way their owners write them. Sentences
written for this file; each case fails before the change unless marked "guard"."""

from __future__ import annotations

import pytest

from bot.extract.phone import find_phones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a Taiwan mobile in local form (09 + 8 digits: no mainland number has that shape)
        ("有問題請打我手機 0921-456-778，謝謝", "+886921456778"),
        ("陳小姐手機 0935 112 604", "+886935112604"),
        # a number dictated with its country code and no plus
        ("他的手机是八五二 六七七一 二三零八", "+85267712308"),
        ("澳门那边的电话 八五三 六六一二 三四五八", "+85366123458"),
        ("马来西亚的号码 六零 一三 二二四 五六七八", "+60132245678"),
    ],
)
def test_foreign_numbers(text: str, expected: str) -> None:
    assert find_phones(text) == [expected]


def test_mainland_numbers_unchanged() -> None:
    # guard: mainland mobiles and landlines keep their reading
    assert find_phones("手机 139 2245 6708") == ["+8613922456708"]
    assert find_phones("座机 0571-8888 6666") == ["+8657188886666"]


def test_a_code_glued_to_letters_is_no_phone() -> None:
    # guard: a waybill number is not tried as a foreign phone
    assert find_phones("运单号ZT20251130042已签收") == []
