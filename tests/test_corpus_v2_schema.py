"""The labeled corpus in tests/data/corpus_v2 keeps to its schema, so the data cannot rot.

This checks the data only (fields, vocabularies, dates, the split rule, the per-format conventions of
tests/data/corpus_v2/README.md). It deliberately asserts nothing about the extractor's accuracy: that is
benchmarks/score_corpus.py's job.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

CORPUS_DIR = Path(__file__).parent / "data" / "corpus_v2"
# corpus_v3 is a second set in the same schema (training data since the third tuning round), corpus_v4 a
# third, written blind to the extractor and to v2/v3: each one file, no dev split.
V3_HELD_OUT = Path(__file__).parent / "data" / "corpus_v3" / "held_out.jsonl"
V4_HELD_OUT = Path(__file__).parent / "data" / "corpus_v4" / "held_out.jsonl"
V5_DIR = Path(__file__).parent / "data" / "corpus_v5"
# The blind corpora written by two new authors each (round 6 onwards), oldest first; v6, v8 and v13 hold the
# training authors (and v17, v21). Each must be new against every corpus before it.
TWO_AUTHOR_BLIND = (
    "v7", "v9", "v10", "v11", "v12", "v14", "v15", "v16", "v18", "v19", "v20", "v22", "v23", "v24", "v25",
)
SPLITS = ("dev", "held_out")
TAGS = frozenset({
    "竞品对比", "价格异议", "决策链变更", "要报价", "要演示",
    "预约拜访", "合同法务", "付款回款", "技术问题", "流失风险",
})
STAGES = ("初步接触", "需求确认", "方案演示", "合同洽谈", "已成交", "已流失")
FORMATS = frozenset({"wecom_copy", "dingtalk_copy", "plain_note", "forwarded_single", "voice_memo_text"})
RECORD_KEYS = frozenset({"id", "ref_time", "format", "industry", "text", "expect"})
EXPECT_KEYS = frozenset(
    {"customer_name", "company", "phone", "email", "tags", "next_contact", "amount_cny", "stage_hint"}
)
SHANGHAI_OFFSET = timedelta(hours=8)
# v2-001, h001 (v4), v5A-001, v6C-, v12A-, v13A-, v14A-, v15A-, v16A-, v18A-, v19A-, v20A-, v21A-, v22A-, v23A-,
# v24A-, v25A-
_ID = re.compile(r"^(?:v[23]-|h|v(?:[579]|1[01245689]|2[02345])[AB]-|v[68][A-Z]-|v(?:1[37]|21)[A-Z]-)\d{3}$")
_PHONE = re.compile(r"^\+[1-9]\d{7,14}$")
_CN_MOBILE = re.compile(r"^\+861[3-9]\d{9}$")  # a Chinese mobile; +8610… is a Beijing landline
_INDUSTRY = re.compile(r"^[a-z_]+$")
# Chat header lines: "名字 11/19 14:03" or "名字 2026/11/19 14:03:12" (WeCom), "名字 2026-11-19 14:03[:12]" or
# "名字 11-19 14:03" (DingTalk), as tests/data/corpus_v2/README.md describes them.
_HEADERS = {
    "wecom_copy": re.compile(r"^\S.*?\s+(?:(\d{4})/)?(\d{1,2})/(\d{1,2})\s+(\d{1,2}):(\d{2})(?::\d{2})?$"),
    "dingtalk_copy": re.compile(r"^\S.*?\s+(?:(\d{4})-)?(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})(?::\d{2})?$"),
}
# An ASR-style transcript has no digits and no punctuation: numbers are words, pauses are spaces.
_NOT_IN_VOICE = re.compile(r"[0-9，。！？、；：,.!?;:“”\"()（）]")


def split_of(record_id: str) -> str:
    """The split rule: a third of the ids (by SHA-256) are held out."""
    return "held_out" if int(hashlib.sha256(record_id.encode()).hexdigest(), 16) % 3 == 0 else "dev"


def load(split: str) -> list[dict[str, Any]]:
    lines = (CORPUS_DIR / f"{split}.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _header_problems(record: dict[str, Any], ref: datetime) -> list[str]:
    pattern = _HEADERS[record["format"]]
    stamps = [m for m in map(pattern.match, record["text"].splitlines()) if m]
    if not stamps:
        return ["a chat copy without a single header line"]
    problems = []
    for m in stamps:
        year, month, day, hour, minute = (int(g) if g else None for g in m.groups())
        if (year or ref.year, month, day) != (ref.year, ref.month, ref.day):
            problems.append(f"header {m.group(0)!r} is not on the send day")
        elif (hour, minute) > (ref.hour, ref.minute):
            problems.append(f"header {m.group(0)!r} is after the send time")
    return problems


def _string_problems(expect: dict[str, Any], text: str) -> list[str]:
    problems = []
    for key in ("customer_name", "company", "email"):
        value = expect[key]
        if value is not None and (not isinstance(value, str) or not value.strip() or value not in text):
            problems.append(f"{key} {value!r} is not written in the text")
    phone = expect["phone"]
    if phone is not None and not (
        isinstance(phone, str) and _PHONE.match(phone)
        and (not re.match(r"\+861[3-9]", phone) or _CN_MOBILE.match(phone))
    ):
        problems.append(f"phone {phone!r} is not E.164")
    amount = expect["amount_cny"]
    if amount is not None and (type(amount) is not int or amount <= 0):
        problems.append(f"amount_cny {amount!r} is not a positive integer")
    return problems


def record_problems(record: dict[str, Any]) -> list[str]:
    """Every way one record breaks the corpus schema (an empty list when it is valid)."""
    if set(record) != RECORD_KEYS:
        return [f"record keys {sorted(record)}"]
    expect = record["expect"]
    if not isinstance(expect, dict) or set(expect) != EXPECT_KEYS:
        return [f"expect keys {sorted(expect) if isinstance(expect, dict) else expect!r}"]
    problems = []
    if not _ID.match(str(record["id"])):
        problems.append(f"id {record['id']!r}")
    if record["format"] not in FORMATS:
        problems.append(f"format {record['format']!r}")
    if not _INDUSTRY.match(str(record["industry"])):
        problems.append(f"industry {record['industry']!r}")
    text = record["text"]
    if not isinstance(text, str) or not text.strip():
        return [*problems, "empty text"]
    try:
        ref = datetime.fromisoformat(record["ref_time"])
    except (TypeError, ValueError):
        return [*problems, f"ref_time {record['ref_time']!r} does not parse"]
    if ref.utcoffset() != SHANGHAI_OFFSET:
        problems.append(f"ref_time {record['ref_time']!r} is not Asia/Shanghai (+08:00)")
    tags = expect["tags"]
    if not isinstance(tags, list) or not set(tags) <= TAGS or tags != sorted(set(tags)):
        problems.append(f"tags {tags!r} are not a sorted, duplicate-free list from the taxonomy")
    if expect["stage_hint"] is not None and expect["stage_hint"] not in STAGES:
        problems.append(f"stage_hint {expect['stage_hint']!r}")
    if expect["next_contact"] is not None:
        try:
            when = date.fromisoformat(expect["next_contact"])
        except (TypeError, ValueError):
            problems.append(f"next_contact {expect['next_contact']!r} does not parse")
        else:
            if when < ref.date():
                problems.append(f"next_contact {when} is before the send day {ref.date()}")
    problems += _string_problems(expect, text)
    if record["format"] in _HEADERS:
        problems += _header_problems(record, ref)
    if record["format"] == "voice_memo_text" and _NOT_IN_VOICE.search(text):
        problems.append(f"voice transcript has digits or punctuation: {_NOT_IN_VOICE.findall(text)}")
    return problems


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[dict[str, Any]]]:
    return {split: load(split) for split in SPLITS}


@pytest.mark.parametrize("split", SPLITS)
def test_every_record_follows_the_schema(corpus: dict[str, list[dict[str, Any]]], split: str) -> None:
    problems = {r.get("id", f"#{i}"): p for i, r in enumerate(corpus[split]) if (p := record_problems(r))}
    assert not problems, problems


def test_ids_are_unique_and_each_record_sits_in_the_split_its_hash_names(
    corpus: dict[str, list[dict[str, Any]]],
) -> None:
    ids = [r["id"] for split in SPLITS for r in corpus[split]]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    misplaced = [(r["id"], split) for split in SPLITS for r in corpus[split] if split_of(r["id"]) != split]
    assert misplaced == []
    texts = Counter(r["text"] for split in SPLITS for r in corpus[split])
    assert max(texts.values()) == 1, "a text appears twice"


def test_coverage_the_corpus_promises(corpus: dict[str, list[dict[str, Any]]]) -> None:
    records = corpus["dev"] + corpus["held_out"]
    assert len(records) >= 240
    assert len({r["industry"] for r in records}) >= 8
    for split in SPLITS:
        assert {r["format"] for r in corpus[split]} == FORMATS, split
        assert {t for r in corpus[split] for t in r["expect"]["tags"]} == TAGS, split
    # Traditional characters, Latin-script names and numbers dictated as Chinese words all occur.
    assert any(re.search(r"[們這報價與會說週請謝]", r["text"]) for r in records)
    assert any(re.fullmatch(r"[A-Za-z][A-Za-z ]+", r["expect"]["customer_name"] or "") for r in records)
    assert any(re.search(r"[一二三四五六七八九幺零]{3} ?[一二三四五六七八九幺零]{4}", r["text"]) for r in records)


@pytest.fixture(scope="module")
def corpus_v3() -> list[dict[str, Any]]:
    lines = V3_HELD_OUT.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_every_v3_record_follows_the_schema(corpus_v3: list[dict[str, Any]]) -> None:
    problems = {r.get("id", f"#{i}"): p for i, r in enumerate(corpus_v3) if (p := record_problems(r))}
    assert not problems, problems
    assert all(r["id"].startswith("v3-") for r in corpus_v3)


def test_v3_is_new_and_covers_what_it_promises(
    corpus_v3: list[dict[str, Any]], corpus: dict[str, list[dict[str, Any]]]
) -> None:
    ids = [r["id"] for r in corpus_v3]
    assert len(ids) == len(set(ids)) >= 90
    v2_texts = {r["text"] for split in SPLITS for r in corpus[split]}
    assert not v2_texts & {r["text"] for r in corpus_v3}, "a v3 text repeats a v2 text"
    assert len({r["industry"] for r in corpus_v3}) >= 8
    assert {r["format"] for r in corpus_v3} == FORMATS
    assert {t for r in corpus_v3 for t in r["expect"]["tags"]} == TAGS
    assert {r["expect"]["stage_hint"] for r in corpus_v3} == set(STAGES)
    assert any(re.search(r"[們這報價與會說週請謝]", r["text"]) for r in corpus_v3)
    assert any(re.fullmatch(r"[A-Za-z][A-Za-z ]+", r["expect"]["customer_name"] or "") for r in corpus_v3)
    assert any(re.search(r"[一二三四五六七八九幺零]{3} ?[一二三四五六七八九幺零]{4}", r["text"]) for r in corpus_v3)


@pytest.fixture(scope="module")
def corpus_v4() -> list[dict[str, Any]]:
    lines = V4_HELD_OUT.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_every_v4_record_follows_the_schema(corpus_v4: list[dict[str, Any]]) -> None:
    problems = {r.get("id", f"#{i}"): p for i, r in enumerate(corpus_v4) if (p := record_problems(r))}
    assert not problems, problems
    assert all(re.fullmatch(r"h\d{3}", r["id"]) for r in corpus_v4)


def test_v4_is_new_and_covers_what_it_promises(
    corpus_v4: list[dict[str, Any]], corpus_v3: list[dict[str, Any]], corpus: dict[str, list[dict[str, Any]]]
) -> None:
    ids = [r["id"] for r in corpus_v4]
    assert len(ids) == len(set(ids)) >= 200
    earlier = {r["text"] for split in SPLITS for r in corpus[split]} | {r["text"] for r in corpus_v3}
    assert not earlier & {r["text"] for r in corpus_v4}, "a v4 text repeats an earlier corpus's text"
    assert len({r["text"] for r in corpus_v4}) == len(corpus_v4)
    assert len({r["industry"] for r in corpus_v4}) >= 10
    assert {r["format"] for r in corpus_v4} == FORMATS
    assert {t for r in corpus_v4 for t in r["expect"]["tags"]} == TAGS
    assert set(STAGES) <= {r["expect"]["stage_hint"] for r in corpus_v4}
    assert any(re.search(r"[們這報價與會說週請謝]", r["text"]) for r in corpus_v4)
    assert any(re.fullmatch(r"[A-Za-z][A-Za-z ]+", r["expect"]["customer_name"] or "") for r in corpus_v4)
    assert any(re.search(r"[一二三四五六七八九幺零]{3} ?[一二三四五六七八九幺零]{4}", r["text"]) for r in corpus_v4)


@pytest.fixture(scope="module")
def corpus_v5() -> dict[str, list[dict[str, Any]]]:
    return {split: [json.loads(line) for line in (V5_DIR / f"{split}.jsonl").read_text("utf-8").splitlines()
                    if line.strip()] for split in SPLITS}


def test_every_v5_record_follows_the_schema_and_sits_in_its_split(corpus_v5: dict[str, list[dict[str, Any]]]) -> None:
    for split, records in corpus_v5.items():
        problems = {r.get("id", f"#{i}"): p for i, r in enumerate(records) if (p := record_problems(r))}
        assert not problems, problems
        assert {split_of(r["id"]) for r in records} == {split}


def test_v5_is_new_and_covers_what_it_promises(
    corpus_v5: dict[str, list[dict[str, Any]]], corpus_v4: list[dict[str, Any]], corpus_v3: list[dict[str, Any]],
    corpus: dict[str, list[dict[str, Any]]],
) -> None:
    records = corpus_v5["dev"] + corpus_v5["held_out"]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == 300
    assert {i[:4] for i in ids} == {"v5A-", "v5B-"}
    earlier = ({r["text"] for split in SPLITS for r in corpus[split]} | {r["text"] for r in corpus_v3}
               | {r["text"] for r in corpus_v4})
    assert not earlier & {r["text"] for r in records}, "a v5 text repeats an earlier corpus's text"
    assert len({r["text"] for r in records}) == len(records)
    assert {r["format"] for r in records} == FORMATS
    assert {t for r in records for t in r["expect"]["tags"]} == TAGS
    assert set(STAGES) | {None} == {r["expect"]["stage_hint"] for r in records}
    assert any(re.search(r"[們這報價與會說週請謝]", r["text"]) for r in records)
    assert any(re.fullmatch(r"[A-Za-z][A-Za-z ]+", r["expect"]["customer_name"] or "") for r in records)
    assert any(re.search(r"[一二三四五六七八九幺零]{3} ?[一二三四五六七八九幺零]{4}", r["text"]) for r in records)


def _valid_record() -> dict[str, Any]:
    return {
        "id": "v2-999",
        "ref_time": "2026-11-02T10:00:00+08:00",
        "format": "wecom_copy",
        "industry": "retail",
        "text": "李娜 11/2 09:30\n报价我看了，下周三来公司聊\n赵强 11/2 09:35\n好的",
        "expect": {
            "customer_name": "李娜", "company": None, "phone": None, "email": None, "tags": ["预约拜访"],
            "next_contact": "2026-11-11", "amount_cny": None, "stage_hint": "需求确认",
        },
    }


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        (("expect", "tags"), ["要报价", "报价"], "tags"),
        (("expect", "tags"), ["预约拜访", "价格异议"], "tags"),  # not in sorted() order
        (("expect", "stage_hint"), "成交", "stage_hint"),
        (("expect", "next_contact"), "2026-11-31", "next_contact"),
        (("expect", "next_contact"), "2026-11-01", "before the send day"),
        (("ref_time",), "2026-11-02 10:00", "Asia/Shanghai"),
        (("expect", "phone"), "13912345678", "E.164"),
        (("expect", "phone"), "+86139123456789", "E.164"),
        (("expect", "amount_cny"), "3.98万", "amount_cny"),
        (("expect", "customer_name"), "王芳", "not written in the text"),
        (("format",), "email", "format"),
        (("text",), "李娜 11/3 09:30\n报价我看了", "not on the send day"),
        (("text",), "李娜 11/2 10:30\n报价我看了", "after the send time"),
        (("text",), "报价我看了，下周三来公司聊", "without a single header"),
    ],
)
def test_the_validator_catches_a_broken_record(path: tuple[str, ...], value: Any, complaint: str) -> None:
    record = _valid_record()
    assert record_problems(record) == []
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert any(complaint in p for p in record_problems(record)), record_problems(record)


def test_the_validator_catches_a_voice_transcript_with_digits() -> None:
    record = _valid_record()
    record["format"] = "voice_memo_text"
    record["text"] = "今天见了李娜 她说下周三来公司聊"
    assert record_problems(record) == []
    record["text"] = "今天见了李娜，她说下周三来公司聊 电话13912345678"
    assert any("voice transcript" in p for p in record_problems(record))


def test_the_split_rule_is_about_a_third() -> None:
    held = sum(split_of(f"v2-{n:03d}") == "held_out" for n in range(1, 1000))
    assert 280 < held < 380


V6_FILES = sorted((Path(__file__).parent / "data" / "corpus_v6").glob("v6*.jsonl"))
# Corpus v8 (round 6's further training authors) is checked the same way.
V6_FILES += sorted((Path(__file__).parent / "data" / "corpus_v8").glob("v8*.jsonl"))
# And corpus v13 (the training authors from round 10 on).
V6_FILES += sorted((Path(__file__).parent / "data" / "corpus_v13").glob("v13*.jsonl"))
# And corpus v17 (the training authors from round 13 on).
V6_FILES += sorted((Path(__file__).parent / "data" / "corpus_v17").glob("v17*.jsonl"))
# And corpus v21 (the training authors from round 16 on).
V6_FILES += sorted((Path(__file__).parent / "data" / "corpus_v21").glob("v21*.jsonl"))


@pytest.mark.parametrize("path", V6_FILES, ids=[p.stem for p in V6_FILES])
def test_every_v6_record_follows_the_schema_and_is_new(path: Path, corpus_v4: list[dict[str, Any]]) -> None:
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    problems = {r.get("id", f"#{i}"): p for i, r in enumerate(records) if (p := record_problems(r))}
    assert not problems, problems
    # One author per file: every id carries the file's letter.
    assert all(r["id"].startswith(f"{path.stem}-") for r in records)
    assert len({r["text"] for r in records}) == len(records)
    assert not {r["text"] for r in corpus_v4} & {r["text"] for r in records}


def _two_author_corpus(directory: Path) -> dict[str, list[dict[str, Any]]]:
    return {split: [json.loads(line) for line in (directory / f"{split}.jsonl").read_text("utf-8").splitlines()
                    if line.strip()] for split in SPLITS}


@pytest.fixture(scope="module")
def two_author_blind() -> dict[str, dict[str, list[dict[str, Any]]]]:
    return {version: _two_author_corpus(Path(__file__).parent / "data" / f"corpus_{version}")
            for version in TWO_AUTHOR_BLIND}


@pytest.mark.parametrize("version", TWO_AUTHOR_BLIND)
def test_every_two_author_blind_record_follows_the_schema_and_sits_in_its_split(
    version: str, two_author_blind: dict[str, dict[str, list[dict[str, Any]]]],
) -> None:
    for split, records in two_author_blind[version].items():
        problems = {r.get("id", f"#{i}"): p for i, r in enumerate(records) if (p := record_problems(r))}
        assert not problems, problems
        assert {split_of(r["id"]) for r in records} == {split}


def _assert_new_and_covering(records: list[dict[str, Any]], prefixes: set[str], earlier: set[str]) -> None:
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == 300
    assert {i.split("-", 1)[0] + "-" for i in ids} == prefixes
    assert not earlier & {r["text"] for r in records}, "a text repeats an earlier corpus's text"
    assert len({r["text"] for r in records}) == len(records)
    assert {r["format"] for r in records} == FORMATS
    assert {t for r in records for t in r["expect"]["tags"]} == TAGS
    assert set(STAGES) | {None} == {r["expect"]["stage_hint"] for r in records}


def _earlier_texts(corpus_v5: dict[str, list[dict[str, Any]]], corpus_v4: list[dict[str, Any]],
                   corpus_v3: list[dict[str, Any]], corpus: dict[str, list[dict[str, Any]]]) -> set[str]:
    return ({r["text"] for split in SPLITS for r in corpus[split]} | {r["text"] for r in corpus_v3}
            | {r["text"] for r in corpus_v4} | {r["text"] for split in SPLITS for r in corpus_v5[split]}
            | {json.loads(line)["text"] for path in V6_FILES for line in path.read_text("utf-8").splitlines()
               if line.strip()})


@pytest.mark.parametrize("position", range(len(TWO_AUTHOR_BLIND)), ids=TWO_AUTHOR_BLIND)
def test_each_two_author_blind_corpus_is_new_and_covers_what_it_promises(
    position: int, two_author_blind: dict[str, dict[str, list[dict[str, Any]]]],
    corpus_v5: dict[str, list[dict[str, Any]]], corpus_v4: list[dict[str, Any]], corpus_v3: list[dict[str, Any]],
    corpus: dict[str, list[dict[str, Any]]],
) -> None:
    version = TWO_AUTHOR_BLIND[position]
    earlier = (_earlier_texts(corpus_v5, corpus_v4, corpus_v3, corpus)
               | {r["text"] for before in TWO_AUTHOR_BLIND[:position] for split in SPLITS
                  for r in two_author_blind[before][split]})
    records = two_author_blind[version]["dev"] + two_author_blind[version]["held_out"]
    _assert_new_and_covering(records, {f"{version}A-", f"{version}B-"}, earlier)
