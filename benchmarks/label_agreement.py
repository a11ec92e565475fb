"""How often two careful labellers agree: the ceiling an extractor can reach on someone else's labels.

Usage: python benchmarks/label_agreement.py CORPUS.jsonl SECOND.jsonl [--extractor]
CORPUS.jsonl holds records with their first labels (`expect`); SECOND.jsonl holds `{"id", "expect"}` lines written
by a second labeller who saw only the texts, the labelling README and its 20 examples (round 10 did this for corpus
v11 dev: tests/data/corpus_v11/SECOND_LABELS.md). Prints, as Markdown, the second labeller scored exactly as the
extractor is scored against the first (benchmarks/score_corpus.py's comparison: per field, exact tag set, per-tag
precision and recall, records with every field right) and Cohen's kappa per tag. With --extractor it also scores
understand_text() against each labelling, and on the fields where the two labellers agree: aggregate figures only,
so it may be run on a blind file without showing a miss.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.extraction_accuracy import FIELDS, actual_fields, load_samples  # noqa: E402
from benchmarks.score_corpus import FIELD_LABELS, FIELD_ORDER, Score, _add, _pct, render  # noqa: E402


def load_second(path: Path) -> dict[str, dict[str, Any]]:
    """The second labelling by record id; tags sorted as the corpus keeps them."""
    second: dict[str, dict[str, Any]] = {}
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            second[row["id"]] = {**row["expect"], "tags": sorted(row["expect"]["tags"])}
    return second


def agreement(records: list[dict[str, Any]], second: dict[str, dict[str, Any]]) -> Score:
    """The second labelling scored against the first, exactly like an extraction."""
    missing = [r["id"] for r in records if r["id"] not in second]
    if missing:
        raise ValueError(f"{len(missing)} records have no second label (first: {missing[0]})")
    score = Score()
    for record in records:
        _add(score, record, second[record["id"]])
        _add(score.by_format.setdefault(record["format"], Score()), record, second[record["id"]])
    return score


def tag_kappa(records: list[dict[str, Any]], second: dict[str, dict[str, Any]], tag: str) -> float | None:
    """Cohen's kappa of the two labellers on one tag (present or not per record); None when undefined."""
    n = len(records)
    first_yes = [tag in r["expect"]["tags"] for r in records]
    second_yes = [tag in second[r["id"]]["tags"] for r in records]
    observed = sum(a == b for a, b in zip(first_yes, second_yes, strict=True)) / n
    p1, p2 = sum(first_yes) / n, sum(second_yes) / n
    chance = p1 * p2 + (1 - p1) * (1 - p2)
    return None if chance >= 1.0 else (observed - chance) / (1.0 - chance)


def extractor_report(records: list[dict[str, Any]], second: dict[str, dict[str, Any]]) -> str:
    """understand_text() against each labelling, and on the fields where both agree (aggregate only)."""
    from bot.understanding.text import understand_text

    rows = {"first": Score(), "second": Score()}
    agreed_hits = dict.fromkeys(FIELDS, 0)
    agreed_total = dict.fromkeys(FIELDS, 0)
    for record in records:
        result = understand_text(record["text"], sent_at=datetime.fromisoformat(record["ref_time"]))
        got = actual_fields(result)
        _add(rows["first"], record, got)
        _add(rows["second"], {**record, "expect": second[record["id"]]}, got)
        for name in FIELDS:
            first_label = sorted(record["expect"][name]) if name == "tags" else record["expect"][name]
            if first_label == second[record["id"]][name]:
                agreed_total[name] += 1
                agreed_hits[name] += got[name] == first_label
    lines = ["| field | vs first labels | vs second labels | where both agree (records) |", "|---|---|---|---|"]
    for name in FIELD_ORDER:
        both = agreed_hits[name] / agreed_total[name] if agreed_total[name] else None
        lines.append(f"| {FIELD_LABELS[name]} | {_pct(rows['first'].accuracy(name))} | "
                     f"{_pct(rows['second'].accuracy(name))} | {_pct(both)} ({agreed_total[name]}) |")
    lines.append(f"| **mean** | **{rows['first'].mean:.3f}** | **{rows['second'].mean:.3f}** | |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--extractor", action="store_true", help="also score the extractor against both labellings")
    args = parser.parse_args(argv[1:])
    records = load_samples(args.corpus)
    second = load_second(args.second)
    score = agreement(records, second)
    print("## The second labeller against the first\n")
    print(render(args.corpus, score, by_format=True))
    print("\n| tag | Cohen's kappa |\n|---|---|")
    for tag in sorted(score.tags):
        kappa = tag_kappa(records, second, tag)
        print(f"| {tag} | {'—' if kappa is None else f'{kappa:.2f}'} |")
    if args.extractor:
        print("\n## The extractor against each labelling\n")
        print(extractor_report(records, second))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
