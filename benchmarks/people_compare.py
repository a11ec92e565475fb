"""Compare two held-out dumps of a candidate ranker (customer or company) by author set and by format (round 13).

Usage: python benchmarks/people_compare.py BEFORE.jsonl AFTER.jsonl [--formats forwarded_single voice_memo_text]

BEFORE and AFTER are `--dump`s of benchmarks/train_customer_ranker.py or benchmarks/train_company_ranker.py on the
same folds (each pool record's held-out choice). Round 13's author sets were fixed from the pool order before any
miss was read: READ is every sixth author (16 of 94), UNREAD the rest. For each set, overall and on each format
asked for: the mean of authors' accuracy before → after (an author counts in a format when they wrote one such
record), the authors up / down, and the records fixed / broken.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import company_misses  # noqa: E402
from benchmarks.company_misses import pool_meta  # noqa: E402

READ_EVERY = 6


def author_sets(order: list[str], every: int = READ_EVERY, offset: int = 0,
                by_name: bool = False) -> dict[str, set[str]]:
    """READ: every sixth author in pool order (16 of 94; round 14's company set: every seventh from the fourth,
    `--read-every 7 --read-offset 3`, 15 of 107), UNREAD: the others; ALL: every author."""
    sets = company_misses.author_sets(order, every, offset, by_name)  # the one rule of the miss tools
    return {"READ": sets["read"], "UNREAD": sets["unread"], "ALL": set(order)}


def load(path: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in map(json.loads, path.read_text().splitlines()) if row}


def compare_rows(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], formats: dict[str, str],
                 authors: set[str], fmt: str | None) -> dict[str, float]:
    """Mean of authors before and after, authors up / down, records fixed / broken, over `authors` (one format, or
    every format with `fmt` None)."""
    hits: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for rid, b in before.items():
        a = after.get(rid)
        if a is None or b["author"] not in authors or (fmt is not None and formats.get(rid) != fmt):
            continue
        hits[b["author"]].append((b["pred"] == b["expect"], a["pred"] == a["expect"]))
    if not hits:
        return {"authors": 0, "n": 0, "before": 0.0, "after": 0.0, "up": 0, "down": 0, "fixed": 0, "broken": 0}
    acc_b = {au: sum(x for x, _ in v) / len(v) for au, v in hits.items()}
    acc_a = {au: sum(y for _, y in v) / len(v) for au, v in hits.items()}
    pairs = [p for v in hits.values() for p in v]
    return {"authors": len(hits), "n": len(pairs),
            "before": statistics.mean(acc_b.values()), "after": statistics.mean(acc_a.values()),
            "up": sum(acc_a[au] > acc_b[au] + 1e-12 for au in hits),
            "down": sum(acc_a[au] < acc_b[au] - 1e-12 for au in hits),
            "fixed": sum(1 for x, y in pairs if y and not x), "broken": sum(1 for x, y in pairs if x and not y)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--formats", nargs="*", default=["forwarded_single", "voice_memo_text"])
    parser.add_argument("--read-every", type=int, default=READ_EVERY, help="READ: every Nth author in pool order")
    parser.add_argument("--read-offset", type=int, default=0, help="READ starts at this place in pool order")
    parser.add_argument("--read-sorted", action="store_true", help="count READ places in the authors' order "
                        "sorted by name instead of pool order (round 18)")
    args = parser.parse_args(argv)
    meta, order = pool_meta()
    formats = {rid: m["format"] for rid, m in meta.items()}
    before, after = load(args.before), load(args.after)
    print("| author set | format | authors | records | before | after | up / down | fixed / broken |")
    print("|---|---|---|---|---|---|---|---|")
    for set_name, authors in author_sets(order, args.read_every, args.read_offset, args.read_sorted).items():
        for fmt in [None, *args.formats]:
            r = compare_rows(before, after, formats, authors, fmt)
            print(f"| {set_name} | {fmt or 'all'} | {r['authors']} | {r['n']} | {r['before']:.2%} | {r['after']:.2%} "
                  f"| {r['up']} / {r['down']} | {r['fixed']} / {r['broken']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
