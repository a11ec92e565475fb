"""A full name right after a title ("仓储科长…", "生产厂长 …") or before 打电话/通了 is the customer
(issue #13). New sentences; three of the four failed before people.py's _INTRODUCED learned these contexts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.extract import extract

SENT = datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("转发：你好，我是北湖供水公司的仓储科长覃立新。请于下周一前报价。", "覃立新"),
        ("嗯 今天跑了一趟 主要是见了鸿运食品的质检部长邬志成 说要换一批检测设备", "邬志成"),
        ("老客户青松阀门的柴国梁打电话来，说明年的备件照旧", "柴国梁"),
        ("刚跟远帆冷链的调度主管裴文军通了电话，冷库老是误报", "裴文军"),
    ],
)
def test_a_name_after_a_title_or_before_a_call_is_the_customer(text: str, name: str) -> None:
    assert extract(text, ref_time=SENT).customer_name == name
