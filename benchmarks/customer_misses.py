"""Count the customer ranker's held-out misses by kind, by format and by the form of the labelled name (round 15).

Usage: python benchmarks/customer_misses.py DUMP.jsonl [--read-every 8 --read-offset 5] [--show N]

DUMP is a `--dump` of benchmarks/train_customer_ranker.py (each pool record's held-out choice and candidates). A miss
is either **candidate recall** (the labelled name is no candidate: `absent` when no candidate shares a character run
of two with it, `cut` when one holds it or is held by it or overlaps it: too long, too short, a title or a verb glued
on) or a **ranking error** (the labelled name is a candidate and another wins: `other` a person, `none` over a label,
`name_for_null` a name for a record labelled without a customer). The form of the labelled name: `han` (a surname
and one or two characters), `xiao_lao_a` (小 / 老 / 阿 + one character), `titled` (a surname and a title), `translit`
(a middle dot, or three or more characters, three in four of the transliteration class, and four or more or no
known surname; a title after it may follow), `rare_surname` (one to three characters, or those and a title, with no
surname of people.py's list: 芮建军, 郁工), `latin`,
`mixed` (Latin and Chinese), `null` (no customer). The author sets are fixed from the pool order before any miss is
read (round 15: READ = every eighth author from the sixth, `--read-every 8 --read-offset 5`); `--show N` prints up to
N misses of the READ authors only, never of the others.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.company_misses import pool_meta, shares_pair  # noqa: E402
from benchmarks.people_compare import author_sets  # noqa: E402
from bot.extract.people import TITLES, surname_of  # noqa: E402
from bot.extract.translit_names import TRANSLIT_CHARS  # noqa: E402

READ_EVERY, READ_OFFSET = 8, 5
KINDS = ("absent", "cut", "other", "none", "name_for_null")
FORMS = ("han", "xiao_lao_a", "titled", "translit", "rare_surname", "latin", "mixed", "other", "null")
_MIDDLE_DOT = re.compile("[·•‧・]")


def name_form(name: str | None) -> str:
    """The written form of a labelled customer name."""
    if not name:
        return "null"
    has_latin, has_cjk = bool(re.search("[A-Za-z]", name)), bool(re.search("[\u4e00-\u9fff]", name))
    if has_latin:
        return "mixed" if has_cjk else "latin"
    if not has_cjk:
        return "other"
    core = name
    for title in TITLES:  # longest first
        if name.endswith(title) and len(name) > len(title):
            core = name[: -len(title)]
            break
    han = [ch for ch in core if "\u4e00" <= ch <= "\u9fff"]
    if _MIDDLE_DOT.search(name) or len(han) >= 3 and sum(ch in TRANSLIT_CHARS for ch in han) / len(han) >= 0.75 \
            and (len(han) >= 4 or not surname_of(core)):
        return "translit"
    if len(name) == 2 and name[0] in "小老阿":
        return "xiao_lao_a"
    if not surname_of(core):
        return "rare_surname" if 1 <= len(core) <= 3 else "other"
    if core != name:
        return "titled"
    return "han" if 2 <= len(name) <= 3 else "other"


def _overlaps(a: str, b: str) -> bool:
    """One holds the other, or they share a character pair (company_misses' test)."""
    return a in b or b in a or shares_pair(a, b)


def miss_kind(row: dict[str, Any]) -> str | None:
    """The kind of miss, or None for a right choice."""
    expect, pred = row["expect"], row["pred"]
    if expect == pred:
        return None
    if expect is None:
        return "name_for_null"
    names = [n for n in row["names"] if n]
    if expect not in names:
        return "cut" if any(_overlaps(expect, n) for n in names) else "absent"
    return "none" if pred is None else "other"


def tables(rows: list[dict[str, Any]], formats: dict[str, str], sets: dict[str, set[str]]) -> list[str]:
    out = ["| set | format | records | misses | " + " | ".join(KINDS) + " | candidate recall |",
           "|---|---|---|---|" + "---|" * (len(KINDS) + 1)]
    fmts = sorted({formats[r["id"]] for r in rows})
    for set_name, authors in sets.items():
        for fmt in [None, *fmts]:
            sel = [r for r in rows if r["author"] in authors and (fmt is None or formats[r["id"]] == fmt)]
            if not sel:
                continue
            kinds = Counter(miss_kind(r) for r in sel)
            labelled = [r for r in sel if r["expect"]]
            recall = sum(r["expect"] in r["names"] for r in labelled) / max(len(labelled), 1)
            out.append(f"| {set_name} | {fmt or 'all'} | {len(sel)} | {len(sel) - kinds[None]} | "
                       + " | ".join(str(kinds[k]) for k in KINDS) + f" | {recall:.1%} |")
    out += ["", "| set | name form | records | misses | " + " | ".join(KINDS) + " | candidate recall |",
            "|---|---|---|---|" + "---|" * (len(KINDS) + 1)]
    for set_name, authors in sets.items():
        for form in FORMS:
            sel = [r for r in rows if r["author"] in authors and name_form(r["expect"]) == form]
            if not sel:
                continue
            kinds = Counter(miss_kind(r) for r in sel)
            recall = sum(r["expect"] in r["names"] for r in sel if r["expect"]) / max(len(sel), 1)
            out.append(f"| {set_name} | {form} | {len(sel)} | {len(sel) - kinds[None]} | "
                       + " | ".join(str(kinds[k]) for k in KINDS) + f" | {recall:.1%} |")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dump", type=Path)
    parser.add_argument("--read-every", type=int, default=READ_EVERY)
    parser.add_argument("--read-offset", type=int, default=READ_OFFSET)
    parser.add_argument("--show", type=int, default=0, help="print up to N misses of the READ authors")
    parser.add_argument("--format", help="with --show: only this format")
    args = parser.parse_args(argv)
    meta, order = pool_meta()
    formats = {rid: m["format"] for rid, m in meta.items()}
    rows = [json.loads(line) for line in args.dump.read_text().splitlines() if line]
    sets = author_sets(order, args.read_every, args.read_offset)
    print("READ authors:", " ".join(a for a in order if a in sets["READ"]))
    print("\n".join(tables(rows, formats, sets)))
    shown = 0
    for r in rows:
        if shown >= args.show:
            break
        kind = miss_kind(r)
        if kind is None or r["author"] not in sets["READ"] or args.format and formats[r["id"]] != args.format:
            continue
        shown += 1
        print(f"\n[{r['id']} {formats[r['id']]} {kind} form={name_form(r['expect'])}] expect={r['expect']!r} "
              f"pred={r['pred']!r} names={[n for n in r['names'] if n]}")
        print("  " + meta[r["id"]]["text"][:400].replace("\n", " / "))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
