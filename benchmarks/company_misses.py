"""Where the company ranker's held-out misses are: by input format and by kind of miss (round 10).

Usage: python benchmarks/company_misses.py DUMP.jsonl [AFTER.jsonl] [--set read|unread|all] [--show N]

DUMP is the `--dump` of benchmarks/train_company_ranker.py (each pool record's held-out choice). The pool's
authors are split once, before any miss is read, into READ (even places in pool order) and UNREAD (odd places):
`--show` prints misses of READ authors only, never of UNREAD ones. Kinds of miss:

- `none_over_label`: "no company" chosen though the label was a candidate;
- `unreachable`: the label is among no candidates (`overlap` when a candidate shares a character run of 2+ with
  it, else `none_near`);
- `longer` / `shorter`: a candidate that holds the label, or one the label holds (right firm, wrong span);
- `other_firm`: a candidate that shares nothing with the label (the wrong firm);
- `company_for_null`: a company filed where the label has none.

With AFTER (a second dump on the same folds), per-author accuracy before → after, authors up / down and the
records fixed and broken, by author set and by format.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.corpora import TRAINING_POOL  # noqa: E402
from benchmarks.extraction_accuracy import load_samples  # noqa: E402
from benchmarks.train_learned_layer import author_of  # noqa: E402


def pool_meta() -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each pool record's format and text by id, and the authors in pool order."""
    meta: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for path in TRAINING_POOL:
        for sample in load_samples(path):
            author = author_of(path, sample["id"])
            if author not in order:
                order.append(author)
            meta[sample["id"]] = {"format": sample["format"], "text": sample["text"], "author": author}
    return meta, order


def author_sets(order: list[str], every: int = 2, offset: int = 0, by_name: bool = False) -> dict[str, set[str]]:
    """READ: every `every`-th author in pool order from `offset` (rounds 10-12: the even places; round 14: every
    seventh from the fourth), or with `by_name` in the authors' order sorted by name (round 18: a set that new
    pool files do not shift), UNREAD: the others."""
    read = set((sorted(order) if by_name else order)[offset::every])
    return {"read": read, "unread": set(order) - read}


def shares_pair(a: str, b: str) -> bool:
    """Whether a character pair of `a` stands in `b` (two spans overlap in a name)."""
    return any(a[i : i + 2] in b for i in range(len(a) - 1))


def kind(row: dict[str, Any]) -> str | None:
    """The kind of miss, or None for a right choice."""
    expect, pred = row["expect"], row["pred"]
    if expect == pred:
        return None
    if expect is None:
        return "company_for_null"
    if not row["reachable"]:
        near = any(n and shares_pair(n, expect) for n in row["names"])
        return "unreachable:" + ("overlap" if near else "none_near")
    if pred is None:
        return "none_over_label"
    if expect in pred:
        return "longer"
    if pred in expect:
        return "shorter"
    return "other_firm" if not shares_pair(pred, expect) else "overlapping"


_ROLE_END = ("总", "经理", "老板", "主任", "老师", "店长", "厂长", "院长", "主管", "总监")


def shape(pred: str) -> str:
    """What a wrongly chosen span is, read from its form alone (round 11): a person or a role ("王总"), a place
    (the segmenter's place name, nothing more), a firm-like span (ends in a legal form or an industry word), or
    another phrase. Read by the segmenter, not by eye, so no miss has to be opened to count them."""
    from bot.extract.company_ranker import _INDUSTRY_END, _LEGAL_END
    from bot.extract.segment import tokens

    toks = tokens(pred)
    if pred.endswith(_ROLE_END) or (toks and all(t.flag.startswith("nr") for t in toks)):
        return "person"
    if len(toks) == 1 and toks[0].flag == "ns":
        return "place"
    if _LEGAL_END.search(pred) or _INDUSTRY_END.search(pred):
        return "firmlike"
    return "phrase"


def form_class(row: dict[str, Any]) -> str | None:
    """The class of a miss for the round-16 count, read from the two strings alone (no text): the null decision
    either way, the right firm in the wrong form split by which slot of a firm's name the chosen span adds or cuts
    (`company_ranker.firm_slots`: P place, I industry word, L legal form or group, B branch, U unit; "branch" when
    the branch slot differs, i.e. a parent for its branch or the reverse; "other" when no slot differs, e.g. a
    glued word), an overlapping span, another firm, no candidate."""
    from bot.extract.company_ranker import firm_slots

    k = kind(row)
    if k is None:
        return None
    if k in ("company_for_null", "none_over_label"):
        return "null:" + k
    if k.startswith("unreachable"):
        return "no_candidate"
    if k in ("other_firm", "overlapping"):
        return k
    expect, pred = row["expect"], row["pred"]
    big, small = (pred, expect) if k == "longer" else (expect, pred)
    diff = "".join(slot for slot in "PILBU" if slot in firm_slots(big)[0] and slot not in firm_slots(small)[0])
    if "B" in diff:
        return f"{k}:branch"
    return f"{k}:{diff or 'other'}"


def form_table(rows: dict[str, dict[str, Any]], meta: dict[str, dict[str, Any]], sets: dict[str, set[str]]) -> None:
    """Misses by `form_class`, per author set, and the largest class on UNREAD (counts only, no text)."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in sets}
    for r in rows.values():
        c = form_class(r) if r["id"] in meta else None
        if c is None:
            continue
        for name, keep in sets.items():
            if r["author"] in keep:
                counts[name][c] += 1
    names = list(sets)
    print("\n| miss class | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for c, _ in counts["all"].most_common():
        print(f"| {c} | " + " | ".join(str(counts[n][c]) for n in names) + " |")
    families: dict[str, Counter[str]] = {n: Counter() for n in names}
    for n in names:
        for c, v in counts[n].items():
            families[n][c.split(":")[0] if c.startswith(("null", "longer", "shorter")) else c] += v
    print("\n| family | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for c, _ in families["all"].most_common():
        print(f"| {c} | " + " | ".join(str(families[n][c]) for n in names) + " |")
    print(f"\nlargest family on UNREAD: {families['unread'].most_common(1)}")


def load(path: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if row}


def summary(rows: dict[str, dict[str, Any]], meta: dict[str, dict[str, Any]], keep: set[str], title: str) -> None:
    chosen = [r for r in rows.values() if r["author"] in keep and r["id"] in meta]
    by_format: dict[str, list[bool]] = defaultdict(list)
    kinds: Counter[str] = Counter()
    kinds_format: Counter[tuple[str, str]] = Counter()
    for r in chosen:
        fmt = meta[r["id"]]["format"]
        k = kind(r)
        by_format[fmt].append(k is None)
        if k:
            kinds[k] += 1
            kinds_format[(fmt, k)] += 1
    per_author: dict[str, list[bool]] = defaultdict(list)
    for r in chosen:
        per_author[r["author"]].append(r["expect"] == r["pred"])
    mean = statistics.mean(sum(v) / len(v) for v in per_author.values()) if per_author else 0.0
    print(f"\n## {title}: {len(per_author)} authors, {len(chosen)} records, mean of authors {mean:.1%}")
    print("| format | n | accuracy |\n|---|---|---|")
    for fmt, hits in sorted(by_format.items()):
        print(f"| {fmt} | {len(hits)} | {sum(hits) / len(hits):.1%} |")
    formats = sorted(by_format)
    print("\n| miss | all | " + " | ".join(formats) + " |\n|---|---|" + "---|" * len(formats))
    for k, n in kinds.most_common():
        print(f"| {k} | {n} | " + " | ".join(str(kinds_format[(f, k)]) for f in formats) + " |")
    shapes: Counter[tuple[str, str]] = Counter()
    for r in chosen:
        k = kind(r)
        if k and r["pred"] and meta[r["id"]]["format"] in ("plain_note", "voice_memo_text"):
            shapes[(k, shape(r["pred"]))] += 1
    if shapes:
        print("\nWrong spans chosen in plain notes and voice memos, by the chosen span's form (`shape`):")
        print("| miss | form | n |\n|---|---|---|")
        for (k, form), n in sorted(shapes.items(), key=lambda kv: -kv[1]):
            print(f"| {k} | {form} | {n} |")


def compare(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], meta: dict[str, dict[str, Any]],
            keep: set[str], title: str) -> None:
    per: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    fmt_ba: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for rid, b in before.items():
        if b["author"] not in keep or rid not in after or rid not in meta:
            continue
        pair = (b["expect"] == b["pred"], after[rid]["expect"] == after[rid]["pred"])
        per[b["author"]].append(pair)
        fmt_ba[meta[rid]["format"]].append(pair)
    if not per:
        return
    acc_b = {a: sum(p[0] for p in v) / len(v) for a, v in per.items()}
    acc_a = {a: sum(p[1] for p in v) / len(v) for a, v in per.items()}
    up = sum(acc_a[a] > acc_b[a] + 1e-9 for a in per)
    down = sum(acc_a[a] < acc_b[a] - 1e-9 for a in per)
    fixed = sum(1 for v in per.values() for p in v if p == (False, True))
    broken = sum(1 for v in per.values() for p in v if p == (True, False))
    print(f"\n## {title}: mean of {len(per)} authors {statistics.mean(acc_b.values()):.2%} → "
          f"{statistics.mean(acc_a.values()):.2%}; {up} up, {down} down, {len(per) - up - down} same; "
          f"records fixed {fixed}, broken {broken}")
    print("| format | n | before | after |\n|---|---|---|---|")
    for fmt, pairs in sorted(fmt_ba.items()):
        print(f"| {fmt} | {len(pairs)} | {sum(p[0] for p in pairs) / len(pairs):.1%} | "
              f"{sum(p[1] for p in pairs) / len(pairs):.1%} |")
    print("| author | n | before | after |\n|---|---|---|---|")
    for a in sorted(per):
        print(f"| {a} | {len(per[a])} | {acc_b[a]:.1%} | {acc_a[a]:.1%} |")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dump", type=Path)
    parser.add_argument("after", type=Path, nargs="?")
    parser.add_argument("--set", choices=("read", "unread", "all"), default="all")
    parser.add_argument("--show", type=int, default=0, help="print this many misses of READ authors per kind")
    parser.add_argument("--read-every", type=int, default=2, help="READ: every Nth author in pool order")
    parser.add_argument("--read-offset", type=int, default=0, help="READ starts at this place in pool order")
    parser.add_argument("--read-sorted", action="store_true", help="count READ places in the authors' order "
                        "sorted by name instead of pool order (round 18)")
    parser.add_argument("--formats", nargs="*", default=(), help="count and show only these formats")
    parser.add_argument("--form-split", action="store_true", help="count the misses by `form_class` (round 16)")
    args = parser.parse_args(argv)
    meta, order = pool_meta()
    sets = author_sets(order, args.read_every, args.read_offset, args.read_sorted)
    if args.formats:
        meta = {rid: m for rid, m in meta.items() if m["format"] in args.formats}
    sets["all"] = sets["read"] | sets["unread"]
    rows = load(args.dump)
    names = ("read", "unread", "all") if args.set == "all" else (args.set,)
    if args.form_split:
        form_table(rows, meta, {n: sets[n] for n in ("read", "unread", "all")})
        return 0
    for name in names:
        summary(rows, meta, sets[name], f"{name.upper()} authors")
    if args.after:
        after = load(args.after)
        for name in names:
            compare(rows, after, meta, sets[name], f"{name.upper()} authors, before → after")
    if args.show:
        shown: Counter[str] = Counter()
        for r in rows.values():
            k = kind(r)
            if not k or r["author"] not in sets["read"] or shown[k] >= args.show or r["id"] not in meta:
                continue
            shown[k] += 1
            m = meta[r["id"]]
            print(f"\n[{k}] {r['id']} ({m['format']}) expect={r['expect']!r} pred={r['pred']!r}")
            print("  " + m["text"].replace("\n", " / ")[:300])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
