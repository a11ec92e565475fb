"""Why a labelled firm is among none of the company ranker's candidates (round 16, `companycand16`).

Usage: python benchmarks/company_unreachable.py --cache POOL.pkl [--read-every 8 --read-offset 3]
           [--formats plain_note forwarded_single] [--show N] [--switch NAME=1 ...]

Each pool record whose labelled company is no candidate (the cache's ranker inputs, candidates recomputed with
this checkout's code and `--switch`es) is classed mechanically, from the label, the text and the segmenter only:
the first class that holds, in this order —

- `absent`: the label is not written in the ranker's texts (a paraphrase or a normalisation: no span can reach it);
- `cap`: the record already has MAX_CANDIDATES candidates;
- `not_span`: the label is no span the generator may propose (length, 的, a character outside names);
- `latin` / `mixed`: all in Latin script / Latin and Han together;
- `signature`: the label stands on a line with a phone number, an e-mail, an address or a contact word;
- `deictic`: the label is followed by 那边 / 这边 / 家 / 的人 / 那里 / 这里 / 这块 / 那块;
- `cut_start` / `cut_end`: the label begins / ends inside a word of the segmenter;
- `legal` / `industry` / `unit` / `branch`: a Han name with that firm-name slot at its end;
- `bare`: a Han name of segmenter words with no slot (a trade name alone).

Counts are by author set (READ / UNREAD, the same rule as company_misses.py); `--show` prints READ misses only,
never UNREAD ones. With `--switch`, the candidate recall (records whose label is a candidate) and the mean number
of candidates per record, by format, before and after.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.company_misses import author_sets, pool_meta  # noqa: E402
from benchmarks.pickle_cache import cached  # noqa: E402
from benchmarks.train_company_ranker import Record, apply_switches  # noqa: E402
from bot.extract import company_ranker as cr  # noqa: E402
from bot.extract.segment import tokens  # noqa: E402
from bot.extract.textnorm import as_written, normalize_text, normalize_width  # noqa: E402

_LATIN = re.compile(r"[A-Za-z]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_DEICTIC_AFTER = re.compile(r"^(?:那边|这边|那里|这里|那儿|这儿|家|的人|这块|那块|方面)")
_CONTACT_LINE = re.compile(r"\d{7,}|@|电话|手机|地址|邮箱|[Tt]el|TEL|微信|传真|[Ee]-?mail|www\.|\.com")
_BRANCH = re.compile(r"(?:分公司|分店|分厂|分院|分部|分行|支行|门店|办事处|营业部)$")


def names_of(record: Record) -> list[str]:
    """The record's candidates in their written form, with this checkout's generator."""
    if record.args is None:
        return list(record.names)
    names, _ = cr.featurize(*record.args)
    normalized, written = normalize_text(record.text), normalize_width(record.text)
    return [as_written(n, normalized, written) or "" for n in names]


def why(record: Record, names: list[str]) -> str:
    """The first class (module docstring) that holds for a label that is no candidate."""
    assert record.args is not None and record.expect
    label = record.expect
    customer, rep, header = record.args[0], record.args[1], record.args[2] or ""
    target = normalize_text(label)
    texts = [t for t in (customer, rep, header) if target in t]
    if not texts:
        return "absent"
    if len(names) - 1 >= cr.MAX_CANDIDATES:
        return "cap"
    if not (2 <= len(target) <= 24) or not cr._SPAN_OK.match(target) or "的" in target:
        return "not_span"
    if _LATIN.search(target):
        return "mixed" if _HAN.search(target) else "latin"
    text = texts[0]
    at = text.find(target)
    line_start = text.rfind("\n", 0, at) + 1
    line_end = text.find("\n", at)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    if _CONTACT_LINE.search(line):
        return "signature"
    if _DEICTIC_AFTER.match(text[at + len(target) :].lstrip()):
        return "deictic"
    toks = tokens(text) if len(text) <= 4000 else ()
    starts = {t.start for t in toks}
    ends = {t.end for t in toks}
    if at not in starts:
        return "cut_start"
    if at + len(target) not in ends:
        return "cut_end"
    if _BRANCH.search(target):
        return "branch"
    if cr._LEGAL_END.search(target):
        return "legal"
    if cr._INDUSTRY_END.search(target):
        return "industry"
    if target[-1] in cr._UNIT_CHARS:
        return "unit"
    return "bare"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="a train_company_ranker.py --cache pickle (read)")
    parser.add_argument("--read-every", type=int, default=8)
    parser.add_argument("--read-offset", type=int, default=3)
    parser.add_argument("--formats", nargs="*", default=("plain_note", "forwarded_single"))
    parser.add_argument("--show", type=int, default=0, help="print this many READ misses per class")
    parser.add_argument("--switch", nargs="*", default=(), metavar="NAME=0|1")
    args = parser.parse_args(argv)
    records: list[Record] = cached(args.cache, lambda: [])
    meta, order = pool_meta()
    sets = author_sets(order, args.read_every, args.read_offset)
    print("READ:", " ".join(a for a in order if a in sets["read"]))
    kept = [r for r in records if r.id in meta and meta[r.id]["format"] in args.formats]
    before = {r.id: names_of(r) for r in kept}
    after = before
    if args.switch:
        apply_switches(args.switch)
        after = {r.id: names_of(r) for r in kept}
    classes: dict[str, Counter[str]] = defaultdict(Counter)
    shown: Counter[str] = Counter()
    recall: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    sizes: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for r in kept:
        group = "read" if r.author in sets["read"] else "unread"
        fmt = meta[r.id]["format"]
        sizes[(group, fmt)].append((len(before[r.id]), len(after[r.id])))
        if not r.expect or r.args is None:
            continue
        cell = recall[(group, fmt)]
        cell[0] += 1
        cell[1] += r.expect in before[r.id]
        cell[2] += r.expect in after[r.id]
        if r.expect in after[r.id]:
            continue
        c = why(r, after[r.id])
        classes[c][group] += 1
        if group == "read" and shown[c] < args.show:
            shown[c] += 1
            print(f"--- {c} {r.id} label={r.expect!r}\n{r.text[:400]}\n")
    print("| class | READ | UNREAD | all |\n|---|---|---|---|")
    for c, n in sorted(classes.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"| {c} | {n['read']} | {n['unread']} | {n['read'] + n['unread']} |")
    total = Counter[str]()
    for n in classes.values():
        total.update(n)
    print(f"| total | {total['read']} | {total['unread']} | {total['read'] + total['unread']} |")
    print("\n| set / format | labelled | recall before | recall after | candidates before | after |")
    print("|---|---|---|---|---|---|")
    for key in sorted(recall):
        n, b, a = recall[key]
        sz = sizes[key]
        print(f"| {key[0]} / {key[1]} | {n} | {b / n:.2%} | {a / n:.2%} | "
              f"{statistics.mean(x for x, _ in sz):.1f} | {statistics.mean(y for _, y in sz):.1f} |")
    return 0




if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
