"""benchmarks/label_agreement.py: a second labelling scored against the first, exactly like an extraction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import label_agreement as la


def _record(record_id: str, tags: list[str], customer: str | None, fmt: str = "plain_note") -> dict[str, Any]:
    expect = {"customer_name": customer, "company": None, "phone": None, "email": None, "tags": tags,
              "next_contact": None, "amount_cny": None, "stage_hint": None}
    return {"id": record_id, "ref_time": "2026-10-12T11:00:00+08:00", "format": fmt, "text": "x", "expect": expect}


def _second(tmp_path: Path, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    path = tmp_path / "second.jsonl"
    path.write_text("\n".join(json.dumps({"id": r["id"], "expect": r["expect"]}, ensure_ascii=False) for r in rows),
                    "utf-8")
    return la.load_second(path)


def test_agreement_counts_exact_fields_and_tag_sets(tmp_path: Path) -> None:
    first = [_record("a", ["要报价"], "王总"), _record("b", ["竞品对比", "要报价"], "李工"),
             _record("c", [], None), _record("d", ["要演示"], "陈姐")]
    # The second labeller agrees on a and c, drops a tag on b (listed unsorted), names d's customer differently.
    second = _second(tmp_path, [_record("a", ["要报价"], "王总"), _record("b", ["要报价"], "李工"),
                                _record("c", [], None), _record("d", ["要演示"], "陈")])
    score = la.agreement(first, second)
    assert score.total == 4
    assert score.accuracy("tags") == 0.75
    assert score.accuracy("customer_name") == 0.75
    assert score.fully_right == 2
    assert score.tags["竞品对比"].false_neg == 1 and score.tags["要报价"].true_pos == 2


def test_second_labels_are_sorted_before_comparing(tmp_path: Path) -> None:
    first = [_record("a", ["竞品对比", "要报价"], None)]
    second = _second(tmp_path, [_record("a", ["要报价", "竞品对比"], None)])
    assert la.agreement(first, second).accuracy("tags") == 1.0


def test_kappa_is_one_for_identical_and_below_zero_for_opposite_labels(tmp_path: Path) -> None:
    first = [_record("a", ["要报价"], None), _record("b", [], None)]
    same = _second(tmp_path, first)
    assert la.tag_kappa(first, same, "要报价") == pytest.approx(1.0)
    opposite = _second(tmp_path, [_record("a", [], None), _record("b", ["要报价"], None)])
    kappa = la.tag_kappa(first, opposite, "要报价")
    assert kappa is not None and kappa < 0


def test_a_record_without_a_second_label_is_refused(tmp_path: Path) -> None:
    first = [_record("a", [], None), _record("b", [], None)]
    with pytest.raises(ValueError, match="no second label"):
        la.agreement(first, _second(tmp_path, first[:1]))


def test_corpus_v11_second_labels_cover_dev_and_agree_as_recorded() -> None:
    root = Path(__file__).resolve().parents[1] / "tests" / "data" / "corpus_v11"
    records = [json.loads(line) for line in (root / "dev.jsonl").read_text("utf-8").splitlines() if line.strip()]
    second = la.load_second(root / "second_labels.jsonl")
    assert set(second) == {r["id"] for r in records}
    score = la.agreement(records, second)
    # SECOND_LABELS.md: 196 of 199 tag sets, 185 records with every field the same.
    assert round(score.accuracy("tags") * score.total) == 196
    assert score.fully_right == 185
