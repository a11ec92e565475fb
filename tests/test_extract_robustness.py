"""Hostile and degenerate inputs: no crash, nothing invented. How long they take is measured by
benchmarks/extract_speed.py (ratios within one run), not asserted against this machine's clock."""

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.extract import extract, normalize_phone, parse_amount, parse_when, split_chat

REF = datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "😀😀🎉👍",
        "[表情][表情]",
        "'; DROP TABLE customers; --",
        "SELECT * FROM deals WHERE amount > 0 OR 1=1",
        "\x00\x01\x02\xff\ufffd",
        "\u202e\u200b\u200d",
    ],
)
def test_junk_is_empty(text: str) -> None:
    result = extract(text, ref_time=REF)
    assert result.is_empty()
    assert result.stage_hint is None


def test_binary_junk_does_not_crash() -> None:
    rng = random.Random(7)
    blob = bytes(rng.randrange(256) for _ in range(4096)).decode("latin-1")
    extract(blob, ref_time=REF)
    split_chat(blob)
    normalize_phone(blob)
    parse_amount(blob)
    assert parse_when(blob, ref_time=REF) is None


def test_naive_ref_time_is_treated_as_shanghai() -> None:
    result = extract("明天下午三点过去拜访", ref_time=datetime(2026, 11, 18, 10, 0))
    assert result.next_contact is not None and result.next_contact.utcoffset().total_seconds() == 8 * 3600


CHAT = (
    "许志强 10/12 10:15\n你们的报价43万太贵了，东软便宜不少，周四上午过来聊，电话13812345678\n"
    "范磊 10/12 10:18\n许总，明天下午三点我给您回电话，邮箱 fan@example.com\n"
)


def test_100kb_of_a_repeated_chat_reads_like_the_chat_once() -> None:
    text = (CHAT * (100_000 // len(CHAT) + 1))[:100_000]
    once = extract(CHAT, ref_time=REF)
    assert once.customer_name == "许志强" and once.phone == "+8613812345678" and once.amount_cny == 430000
    assert extract(text, ref_time=REF) == once  # nothing lost, nothing multiplied


def test_100kb_of_one_char_is_empty() -> None:
    assert extract("啊" * 100_000, ref_time=REF).is_empty()
    assert extract("1" * 100_000, ref_time=REF).is_empty()
