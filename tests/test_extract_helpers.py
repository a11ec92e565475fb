"""Unit tests for the extraction helpers: phones, amounts, time expressions, chat splitting, tag files."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.extract import DEFAULT_TAGS, TagRule, load_tag_rules, normalize_phone, parse_amount, parse_when, split_chat

SH = ZoneInfo("Asia/Shanghai")
REF = datetime(2026, 11, 18, 10, 0, tzinfo=SH)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("手机 159-2683-4470，", "+8615926834470"),
        ("0571-88886666", "+8657188886666"),
        ("(021)68881234", "+862168881234"),
        ("010 8888 6666", "+861088886666"),
        ("+852 9123 4567", "+85291234567"),
        ("聯絡電話：+886 912 345 678", "+886912345678"),
        ("幺三八一二三四五六七八", "+8613812345678"),
        ("电话是一三九 一二三四 五六七八", "+8613912345678"),
        ("零五七一 八八八八 六六六六", "+8657188886666"),
        ("一五九二六八三四四七零", "+8615926834470"),
        ("两零幺三八", None),
        ("订单号20261112345678", None),
        ("400-820-8820", None),
        ("没有号码", None),
        ("", None),
    ],
)
def test_normalize_phone(text: str, expected: str | None) -> None:
    assert normalize_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50万", 500_000),
        ("五十万", 500_000),
        ("3.98万", 39_800),
        ("39800元", 39_800),
        ("¥39,800", 39_800),
        ("￥39,800", 39_800),
        ("三万九千八", 39_800),
        ("四十五万", 450_000),
        ("三点九八万", 39_800),
        ("二十万八", 208_000),
        ("二百三十万", 2_300_000),
        ("预算大约60万元", 600_000),
        ("两千块钱", 2_000),
        ("RMB 12000", 12_000),
        ("1.5w", 15_000),
        ("39800", 39_800),
        ("首付款百分之四十", None),
        ("50%", None),
        ("120万用户", None),
        ("3万台服务器", None),
        ("一个半小时", None),
        ("", None),
    ],
)
def test_parse_amount(text: str, expected: int | None) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "expected", "has_time"),
    [
        ("明天下午三点", datetime(2026, 11, 19, 15, 0), True),
        ("下周三", datetime(2026, 11, 25, 9, 0), False),
        ("周五", datetime(2026, 11, 20, 9, 0), False),
        ("这周一", datetime(2026, 11, 16, 9, 0), False),
        ("月底前", datetime(2026, 11, 30, 9, 0), False),
        ("下个月月底", datetime(2026, 12, 31, 9, 0), False),
        ("12月3号", datetime(2026, 12, 3, 9, 0), False),
        ("十二月三号上午", datetime(2026, 12, 3, 9, 0), False),
        ("三天后", datetime(2026, 11, 21, 9, 0), False),
        ("周五 15:00", datetime(2026, 11, 20, 15, 0), True),
        ("2026-12-03 14:00", datetime(2026, 12, 3, 14, 0), True),
        ("后天上午十点半", datetime(2026, 11, 20, 10, 30), True),
        ("下个月16号", datetime(2026, 12, 16, 9, 0), False),
        ("約在下週三吧", datetime(2026, 11, 25, 9, 0), False),
    ],
)
def test_parse_when(text: str, expected: datetime, has_time: bool) -> None:
    result = parse_when(text, ref_time=REF)
    assert result is not None
    when, got_has_time = result
    assert when == expected.replace(tzinfo=SH)
    assert when.utcoffset() is not None and when.tzinfo is not None
    assert got_has_time is has_time


def test_parse_when_rolls_month_day_into_next_year_and_rejects_junk() -> None:
    late_december = datetime(2026, 12, 20, 10, 0, tzinfo=SH)
    assert parse_when("1月5号", ref_time=late_december) == (datetime(2027, 1, 5, 9, 0, tzinfo=SH), False)
    assert parse_when("hello", ref_time=REF) is None
    assert parse_when("", ref_time=REF) is None


def test_parse_when_converts_foreign_ref_timezone() -> None:
    utc_ref = datetime(2026, 11, 18, 17, 0, tzinfo=ZoneInfo("UTC"))  # already 01:00 on the 19th in Shanghai
    assert parse_when("明天", ref_time=utc_ref) == (datetime(2026, 11, 20, 9, 0, tzinfo=SH), False)


def test_split_chat_wecom_and_dingtalk_headers() -> None:
    wecom = "财务-李娜 11/19 14:03\n发票收到了\n第二行\n王强 2026/11/19 14:05:12\n好的"
    turns = split_chat(wecom)
    assert [(t.speaker, t.text) for t in turns] == [("李娜", "发票收到了\n第二行"), ("王强", "好的")]
    assert turns[0].raw_speaker == "财务-李娜" and turns[0].timestamp == "11/19 14:03"
    ding = "张三@微信 2026-11-19 14:03\n你好\nEmily Chen 11-19 14:04:30\nHi"
    assert [t.speaker for t in split_chat(ding)] == ["张三", "Emily Chen"]


def test_split_chat_forwarded_and_plain_note() -> None:
    forwarded = split_chat("【转发】陆会计：发票金额有误\n麻烦重开")
    assert len(forwarded) == 1
    assert forwarded[0].speaker == "陆会计" and forwarded[0].text == "发票金额有误\n麻烦重开"
    note = split_chat("今天拜访了客户。\n电话：13812345678")
    assert len(note) == 1 and note[0].speaker is None
    assert split_chat("") == [] and split_chat("  \n ") == []


def test_load_tag_rules_default_and_file(tmp_path: Path) -> None:
    assert load_tag_rules(None) == DEFAULT_TAGS
    assert {r.name for r in DEFAULT_TAGS} == {
        "竞品对比", "价格异议", "决策链变更", "要报价", "要演示",
        "预约拜访", "合同法务", "付款回款", "技术问题", "流失风险",
    }
    path = tmp_path / "tags.toml"
    path.write_text(
        '[[tag]]\nname = "要样品"\nkeywords = ["寄样品", "样品"]\nnegations = ["不需要样品"]\n'
        '[[tag]]\nname = "续费"\nkeywords = ["續費"]\n',
        encoding="utf-8",
    )
    assert load_tag_rules(path) == (
        TagRule("要样品", ("寄样品", "样品"), ("不需要样品",)),
        TagRule("续费", ("续费",)),  # traditional keywords are converted like the texts they match
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[[tag]\nname=", "not valid TOML"),
        ('title = "x"\n', r"no \[\[tag\]\]"),
        ('[[tag]]\nkeywords = ["a"]\n', "'name'"),
        ('[[tag]]\nname = "a"\n', "'keywords'"),
        ('[[tag]]\nname = "a"\nkeywords = []\n', "must not be empty"),
        ('[[tag]]\nname = "a"\nkeywords = [1]\n', "'keywords'"),
        ('[[tag]]\nname = "a"\nkeywords = ["x"]\nnegations = "y"\n', "'negations'"),
        ('[[tag]]\nname = "a"\nkeywords = ["x"]\ncolour = "red"\n', "unknown key"),
        ('[[tag]]\nname = "a"\nkeywords = ["x"]\n[[tag]]\nname = "a"\nkeywords = ["y"]\n', "duplicate"),
    ],
)
def test_load_tag_rules_rejects_bad_files(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        load_tag_rules(path)


def test_load_tag_rules_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        load_tag_rules(tmp_path / "nope.toml")
