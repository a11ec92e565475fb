"""Per-field accuracy of bot.extract.extract over a JSONL corpus.

Usage: python benchmarks/extraction_accuracy.py [path/to/chats.jsonl]
Prints one accuracy line per field, then every mismatch. Always exits 0 (it is a report, not a gate).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # allow running from a checkout without installing the package

from bot.extract import Extraction, extract  # noqa: E402

FIELDS = ("customer_name", "company", "phone", "email", "tags", "next_contact", "amount_cny", "stage_hint")
DEFAULT_CORPUS = ROOT / "tests" / "data" / "chats.jsonl"


def actual_fields(result: Extraction) -> dict[str, Any]:
    """The extraction in the corpus' JSON shape (tags as a list, next_contact as an ISO date)."""
    return {
        "customer_name": result.customer_name,
        "company": result.company,
        "phone": result.phone,
        "email": result.email,
        "tags": sorted(result.tags),
        "next_contact": result.next_contact.date().isoformat() if result.next_contact else None,
        "amount_cny": result.amount_cny,
        "stage_hint": result.stage_hint,
    }


def load_samples(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate(samples: Iterable[dict[str, Any]]) -> tuple[dict[str, float], list[tuple[str, str, Any, Any]]]:
    """Accuracy per field and the list of (id, field, expected, actual) mismatches."""
    hits = dict.fromkeys(FIELDS, 0)
    mismatches: list[tuple[str, str, Any, Any]] = []
    total = 0
    for sample in samples:
        total += 1
        result = extract(sample["text"], ref_time=datetime.fromisoformat(sample["ref_time"]))
        got = actual_fields(result)
        for field in FIELDS:
            expected = sample["expect"][field]
            if field == "tags":
                expected = sorted(expected)
            if got[field] == expected:
                hits[field] += 1
            else:
                mismatches.append((sample.get("id", f"#{total}"), field, expected, got[field]))
    accuracy = {f: (hits[f] / total if total else 0.0) for f in FIELDS}
    return accuracy, mismatches


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_CORPUS
    samples = load_samples(path)
    accuracy, mismatches = evaluate(samples)
    print(f"corpus: {path} ({len(samples)} samples)")
    for field in FIELDS:
        print(f"{field:<14} {accuracy[field]:6.1%}")
    if mismatches:
        print("\nmismatches:")
        for sample_id, field, expected, got in mismatches:
            print(f"  {sample_id} {field}: expected {expected!r}, got {got!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
