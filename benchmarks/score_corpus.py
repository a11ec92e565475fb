"""Score the understanding pipeline on labeled JSONL corpora: per-field accuracy, per-tag precision/recall, time.

Usage: python benchmarks/score_corpus.py [FILE.jsonl ...] [--by-format] [--misses]
Defaults to both splits of tests/data/corpus_v2. For each file it prints, as Markdown tables:
per-field accuracy (customer, company, phone, email, amount, next contact, stage, tags as an exact set)
and their mean, the share of records with every field right, per-tag precision and recall, and the
p50/p99 wall time of one extract() call (after one warm-up call; the cold first call is shown apart).

Records are compared exactly as benchmarks/extraction_accuracy.py does (its FIELDS and actual_fields are
imported, not copied), with the record's `ref_time` (the send time) as the extractor's reference time.
`--misses` lists every wrong field, but never for a held-out file (its misses must not steer tuning;
see tests/data/corpus_v2/README.md) — except corpus v3's, training data since round fields3.
Always exits 0: it is a report, not a gate.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # allow running from a checkout without installing the package

from benchmarks.corpora import is_blind  # noqa: E402
from benchmarks.extraction_accuracy import FIELDS, actual_fields, load_samples  # noqa: E402
from bot.understanding.text import LEARNED_LAYER, understand_text  # noqa: E402

CORPUS_DIR = ROOT / "tests" / "data" / "corpus_v2"
DEFAULT_FILES = (CORPUS_DIR / "dev.jsonl", CORPUS_DIR / "held_out.jsonl")
FIELD_LABELS = {
    "customer_name": "customer",
    "company": "company",
    "phone": "phone",
    "email": "email",
    "amount_cny": "amount",
    "next_contact": "next contact",
    "stage_hint": "stage",
    "tags": "tags (exact set)",
}
# Report order: the order of the tables, not the JSON field order.
FIELD_ORDER = ("customer_name", "company", "phone", "email", "amount_cny", "next_contact", "stage_hint", "tags")
WARM_UP_TEXT = "张伟 10/12 10:15\n你好，想了解一下你们的系统，下周一下午方便来公司聊聊吗？"


@dataclass
class TagCounts:
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0

    @property
    def precision(self) -> float | None:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else None

    @property
    def recall(self) -> float | None:
        expected = self.true_pos + self.false_neg
        return self.true_pos / expected if expected else None


@dataclass
class Score:
    """Everything measured on one corpus file."""

    total: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    fully_right: int = 0
    tags: dict[str, TagCounts] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    mismatches: list[tuple[str, str, Any, Any]] = field(default_factory=list)
    by_format: dict[str, Score] = field(default_factory=dict)

    def accuracy(self, name: str) -> float:
        return self.hits[name] / self.total if self.total else 0.0

    @property
    def mean(self) -> float:
        return sum(self.accuracy(f) for f in FIELDS) / len(FIELDS)


def _add(score: Score, sample: dict[str, Any], got: dict[str, Any]) -> None:
    score.total += 1
    wrong = False
    for name in FIELDS:
        expected = sample["expect"][name]
        if name == "tags":
            expected = sorted(expected)
        if got[name] == expected:
            score.hits[name] += 1
        else:
            wrong = True
            score.mismatches.append((sample["id"], name, expected, got[name]))
    score.fully_right += not wrong
    expected_tags, got_tags = set(sample["expect"]["tags"]), set(got["tags"])
    for tag in expected_tags | got_tags:
        counts = score.tags.setdefault(tag, TagCounts())
        if tag in expected_tags and tag in got_tags:
            counts.true_pos += 1
        elif tag in got_tags:
            counts.false_pos += 1
        else:
            counts.false_neg += 1


def score_samples(samples: list[dict[str, Any]], *, embed_clauses: bool = False,
                  team_exemplars: dict[str, list[str]] | None = None, learned: bool = LEARNED_LAYER) -> Score:
    """Run understand_text() on every sample (timed) and compare it with the labels."""
    score = Score()
    for sample in samples:
        ref_time = datetime.fromisoformat(sample["ref_time"])
        start = time.perf_counter()
        result = understand_text(sample["text"], sent_at=ref_time, embed_clauses=embed_clauses,
                                 team_exemplars=team_exemplars, learned=learned)
        score.seconds.append(time.perf_counter() - start)
        got = actual_fields(result)
        _add(score, sample, got)
        _add(score.by_format.setdefault(sample["format"], Score()), sample, got)
    return score


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation), in milliseconds."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1] * 1000


def render(path: Path, score: Score, *, by_format: bool) -> str:
    lines = [f"### {path.name} ({score.total} records)", "", "| field | accuracy |", "|---|---|"]
    lines += [f"| {FIELD_LABELS[f]} | {_pct(score.accuracy(f))} |" for f in FIELD_ORDER]
    lines.append(f"| **mean** | **{score.mean:.3f}** |")
    lines.append(f"| records with every field right | {score.fully_right}/{score.total} |")
    lines += ["", "| tag | expected | found | precision | recall |", "|---|---|---|---|---|"]
    for tag in sorted(score.tags):
        c = score.tags[tag]
        expected, found = c.true_pos + c.false_neg, c.true_pos + c.false_pos
        lines.append(f"| {tag} | {expected} | {found} | {_pct(c.precision)} | {_pct(c.recall)} |")
    if by_format:
        formats = sorted(score.by_format)
        lines += ["", "| field | " + " | ".join(f"{f} ({score.by_format[f].total})" for f in formats) + " |"]
        lines.append("|---|" + "---|" * len(formats))
        for name in FIELD_ORDER:
            cells = " | ".join(_pct(score.by_format[f].accuracy(name)) for f in formats)
            lines.append(f"| {FIELD_LABELS[name]} | {cells} |")
        lines.append("| **mean** | " + " | ".join(f"{score.by_format[f].mean:.3f}" for f in formats) + " |")
    times = score.seconds
    if times:  # a labelling compared with another (benchmarks/label_agreement.py) has no time
        lines += [
            "",
            f"time per message: p50 {_percentile(times, 0.50):.1f} ms, p99 {_percentile(times, 0.99):.1f} ms, "
            f"max {max(times) * 1000:.1f} ms, mean {statistics.fmean(times) * 1000:.1f} ms",
        ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=list(DEFAULT_FILES))
    parser.add_argument("--by-format", action="store_true", help="per-field accuracy for each input format")
    parser.add_argument("--misses", action="store_true", help="list wrong fields (refused for held-out files)")
    parser.add_argument("--rules-only", action="store_true", help="without the learned tag/stage layer")
    args = parser.parse_args(argv[1:])

    start = time.perf_counter()
    understand_text(WARM_UP_TEXT, sent_at=datetime.fromisoformat("2026-10-12T11:00:00+08:00"))
    cold_ms = (time.perf_counter() - start) * 1000
    print(f"first (cold) understand_text() call: {cold_ms:.1f} ms; every figure below is after it\n")
    for path in args.files:
        score = score_samples(load_samples(path), learned=not args.rules_only)
        print(render(path, score, by_format=args.by_format))
        if args.misses:
            if is_blind(path):
                print("\n(misses of a held-out file are not shown: it must not steer tuning)")
            else:
                print("\nmisses:")
                for sample_id, name, expected, got in score.mismatches:
                    print(f"  {sample_id} {name}: expected {expected!r}, got {got!r}")
        print()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(f"peak RSS of this process: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
