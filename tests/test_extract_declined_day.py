"""A day the customer says does not suit is not the next contact; the day offered instead is (issue #13).
The sentences are new; the first three failed before contact.py dropped declined days."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.extract import extract

# Wednesday 2026-11-18, 10:00 in Shanghai
SENT = datetime(2026, 11, 18, 10, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("阮静 11/18 09:10\n想看看你们的排班系统\n许诺 11/18 09:20\n我周五过去给您演示一下？\n"
         "阮静 11/18 09:30\n周五不太方便，下周二上午吧", date(2026, 11, 24)),
        ("卓越 11/18 09:10\n你们明天能来厂里看看设备吗\n许诺 11/18 09:20\n可以的卓总\n"
         "卓越 11/18 09:30\n哦明天我出差，后天上午吧", date(2026, 11, 20)),
        ("韦红 11/18 09:10\n方案我们想当面听一下\n许诺 11/18 09:20\n这周四下午我过去？\n"
         "韦红 11/18 09:30\n这周四我们有个评审会，改到下周一", date(2026, 11, 23)),
        # a day that suits stays
        ("韦红 11/18 09:10\n方案我们想当面听一下\n许诺 11/18 09:20\n这周四下午我过去？\n"
         "韦红 11/18 09:30\n这周四可以，下午三点", date(2026, 11, 19)),
    ],
)
def test_the_next_contact_skips_a_declined_day(text: str, expected: date) -> None:
    when = extract(text, ref_time=SENT).next_contact
    assert when is not None and when.date() == expected
