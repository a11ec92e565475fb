"""How the company ranker's held-out misses stand to the customer (round 15).

Usage: python benchmarks/company_ties.py COMPANY_DUMP.jsonl [--customers CUSTOMER_DUMP.jsonl]
       [--read-every 8 --read-offset 2] [--formats F ...]

COMPANY_DUMP is a `--dump` of benchmarks/train_company_ranker.py, CUSTOMER_DUMP one of
benchmarks/train_customer_ranker.py (its held-out choice of customer; without it only the labelled customer is
used). For each company miss, how the labelled firm and the chosen span are each
tied to the labelled customer and to the chosen one (company_ranker's `PERSON_TIE` reading: adjacent, 的, a place
word, a department or a role between, the next line, the same clause / sentence / line, further; "none" when the
person is not named), counted by format and by author set: how often the label is tied closely and the choice is
not. Counts only: no miss is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.company_misses import author_sets, pool_meta  # noqa: E402
from bot.extract import company_ranker as cr  # noqa: E402

CLOSE = frozenset({"adj", "de", "place", "dept", "role", "line1"})


def tie_class(text: str, span: str | None, person: str | None) -> str:
    """The closest tie between any mention of `span` and one of `person`'s: "close" (one of `CLOSE`), "clause",
    "sent", "far" (same line or beyond), or "noperson" / "nospan" when either is not named."""
    spans = cr._person_spans(text, person) if person else []
    if not spans:
        return "noperson"
    if not span or span not in text:
        return "nospan"
    best: cr._Tie | None = None
    at = text.find(span)
    while at >= 0:
        tie = cr._tie(text, at, at + len(span), spans, span)
        if tie is not None and (best is None or tie.gap < best.gap):
            best = tie
        at = text.find(span, at + 1)
    if best is None:
        return "holds"
    if best.cls in CLOSE:
        return "close"
    return best.cls if best.cls in ("clause", "sent") else "far"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dump", type=Path)
    parser.add_argument("--customers", type=Path, help="a customer ranker dump (its held-out choice)")
    parser.add_argument("--read-every", type=int, default=8)
    parser.add_argument("--read-offset", type=int, default=2)
    parser.add_argument("--formats", nargs="*", default=())
    args = parser.parse_args(argv)
    meta, order = pool_meta()
    sets = author_sets(order, args.read_every, args.read_offset)
    chosen: dict[str, str | None] = {}
    gold: dict[str, str | None] = {}
    if args.customers:
        for line in args.customers.read_text().splitlines():
            row = json.loads(line)
            chosen[row["id"]], gold[row["id"]] = row["pred"], row["expect"]
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    totals: Counter[tuple[str, str]] = Counter()
    for line in args.dump.read_text().splitlines():
        row = json.loads(line)
        m = meta[row["id"]]
        if args.formats and m["format"] not in args.formats:
            continue
        where = "read" if row["author"] in sets["read"] else "unread"
        for key in ((where, m["format"]), (where, "all"), ("all", m["format"]), ("all", "all")):
            totals[key] += 1
        if row["pred"] == row["expect"]:
            continue
        text = m["text"]
        people = {"gold customer": gold.get(row["id"]), "chosen customer": chosen.get(row["id"])}
        if not args.customers:
            people = {}
        for who, person in people.items():
            label_tie, pred_tie = tie_class(text, row["expect"], person), tie_class(text, row["pred"], person)
            if not row["expect"]:
                kind = f"firm for a null label, choice {pred_tie}"
            elif not row["pred"]:
                kind = f"none over a label, label {label_tie}"
            elif label_tie in ("noperson", "nospan"):
                kind = label_tie
            elif label_tie == "close" and pred_tie != "close":
                kind = "label close, choice not"
            elif pred_tie == "close" and label_tie != "close":
                kind = "choice close, label not"
            elif label_tie == pred_tie == "close":
                kind = "both close"
            else:
                kind = "neither close"
            for key in ((where, m["format"]), (where, "all"), ("all", m["format"]), ("all", "all")):
                counts[key][f"{who}: {kind}"] += 1
                counts[key][f"{who}: label {label_tie} / choice {pred_tie}"] += 1
    for key in sorted(counts):
        print(f"\n## {key[0]} / {key[1]}: {totals[key]} records, misses "
              f"{sum(v for k, v in counts[key].items() if k.startswith('gold customer: ') and ' / ' not in k)}")
        for name, n in sorted(counts[key].items(), key=lambda kv: (kv[0].split(':')[0], -kv[1])):
            if " / " not in name:
                print(f"- {name}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
