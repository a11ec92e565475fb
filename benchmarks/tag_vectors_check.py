"""Does the word-vector block help the tag model on authors it was not trained on? (issue #13, round 9)

Usage: python benchmarks/tag_vectors_check.py --cache FILE [--table PATH ...] [--pooling mean ...] [--l2-vec 10 ...]
       [--subset A1 A2 ...] [--check B1 B2 ...]

The cross-fitted scheme of round 8 (tests/data/FINAL_TAGS.md, "How it was measured"), the same for every
candidate: each record's first-stage tag probabilities come from a fit without its author group (the pool's
authors, sorted, dealt into 4 groups: train_learned_layer.first_stage_oof); for each held-out author of a subset, the
second stage is fitted on the other authors' out-of-fold output and applied to that author. Tags = the decided set
at 0.5, 预约拜访 only with a future date, plus the 流失风险 of a deal lost to a rival (the extractor's own addition).
The out-of-fold fits cover every author, so one run per candidate scores both subsets: `--subset` (where a
hyperparameter is chosen) and `--check` (ten other authors, where the choice is confirmed).

On branch tags9 a `--v10` option also scored corpus v10 (then outside TRAINING_POOL) as a blind set; it was removed
when corpus v10 joined the pool at round 9's merge (scored that way it would be in-sample).

Candidates: the shipped model (no vectors), then every --table x --pooling x --l2-vec combination.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import train_learned_layer as tl  # noqa: E402
from benchmarks.pickle_cache import cached  # noqa: E402
from bot.understanding import learned_layer as ll  # noqa: E402
from bot.understanding import word_vectors as wv  # noqa: E402

Matrix = np.ndarray
VISIT = ll.TAGS.index("预约拜访")


def decide(probs: Matrix, items: Sequence[tl.Item], thresholds: Matrix | None = None) -> list[set[str]]:
    """learned_layer.learned_tags' rule on out-of-fold probabilities; `thresholds` (records, tags): each record's own
    (default 0.5)."""
    th = np.full(probs.shape, 0.5) if thresholds is None else thresholds
    out = []
    for p, t, item in zip(probs, th, items, strict=True):
        chosen = {tag for j, tag in enumerate(ll.TAGS)
                  if p[j] >= t[j] and (j != VISIT or item.tag_input.has_future_date)}
        if item.stage_input.lost:
            chosen.add("流失风险")
        out.append(chosen)
    return out


def score(items: Sequence[tl.Item], decided: Sequence[set[str]]) -> tuple[float, Matrix]:
    """Exact-set accuracy and per tag (tp, fp, fn)."""
    counts = np.zeros((len(ll.TAGS), 3), dtype=int)
    for item, got in zip(items, decided, strict=True):
        for j, t in enumerate(ll.TAGS):
            counts[j] += (t in got and t in item.expected_tags, t in got and t not in item.expected_tags,
                          t in item.expected_tags and t not in got)
    return float(np.mean([got == i.expected_tags for i, got in zip(items, decided, strict=True)])), counts


def by_author(items: Sequence[tl.Item], first: Matrix, authors: Sequence[str], cfg: tl.Config
              ) -> dict[str, tuple[float, float, Matrix]]:
    """Per held-out author: exact-set accuracy of the first stage, of the second stage fitted on the other authors'
    out-of-fold rows (with cfg.author_l2_stack's per-author offsets, none by default), and the second stage's
    per-tag (tp, fp, fn). Shared with benchmarks/tag_authors_check.py."""
    rows: dict[str, tuple[float, float, Matrix]] = {}
    for author in authors:
        train = [k for k, i in enumerate(items) if i.author != author]
        held = [k for k, i in enumerate(items) if i.author == author]
        held_items = [items[k] for k in held]
        stack = tl.fit_stack([items[k] for k in train], first[train], cfg.l2_stack, author_l2=cfg.author_l2_stack)
        second = tl.stack_apply(stack, held_items, first[held])
        acc_first, _ = score(held_items, decide(first[held], held_items))
        acc_second, counts = score(held_items, decide(second, held_items))
        rows[author] = (acc_first, acc_second, counts)
    return rows


def print_table(title: str, results: dict[str, dict[str, tuple[float, float, Matrix]]]) -> None:
    names = list(results)
    authors = list(next(iter(results.values())))
    print(f"\n### {title}\n\n| author | " + " | ".join(f"{n}: first / second" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for a in authors:
        print(f"| {a} | " + " | ".join(f"{r[a][0]:.1%} / {r[a][1]:.1%}" for r in results.values()) + " |")
    print("| **mean** | " + " | ".join(
        f"{np.mean([v[0] for v in r.values()]):.1%} / **{np.mean([v[1] for v in r.values()]):.1%}**"
        for r in results.values()) + " |")
    base = results[names[0]]
    for name in names[1:]:
        diff = [results[name][a][1] - base[a][1] for a in authors]
        up, down = sum(d > 1e-9 for d in diff), sum(d < -1e-9 for d in diff)
        print(f"{name} vs {names[0]} (second stage): {np.mean(diff) * 100:+.2f} points, better on {up}, worse on "
              f"{down}, level on {len(authors) - up - down}")
    for name, r in results.items():
        counts = sum(v[2] for v in r.values())
        cells = []
        for j, t in enumerate(ll.TAGS):
            tp, fp, fn = counts[j]
            cells.append(f"{t} {tp / max(1, tp + fp):.1%}/{tp / max(1, tp + fn):.1%}")
        print(f"{name} per tag P/R: " + ", ".join(cells))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, help="the pool's records (train_learned_layer --cache)")
    parser.add_argument("--table", type=Path, nargs="*", default=[wv.TABLE_FILE])
    parser.add_argument("--pooling", nargs="*", default=["mean"], choices=ll.VEC_POOLINGS)
    parser.add_argument("--l2-vec", type=float, nargs="*", default=[10.0])
    parser.add_argument("--subset", nargs="*", default=[])
    parser.add_argument("--check", nargs="*", default=[])
    parser.add_argument("--no-base", action="store_true", help="skip the shipped model (already measured)")
    args = parser.parse_args(argv[1:])
    start = time.perf_counter()
    items = cached(args.cache, tl.load_items)
    tl.check_features(items)
    print(f"pool: {len(items)} records; loaded in {time.perf_counter() - start:.0f} s", flush=True)
    base = tl.Config(l2_hash=30.0, folds=4, l2_tag_hash=4.0)  # the trainer's defaults, as shipped
    configs = {} if args.no_base else {"shipped": base}
    for path in args.table:
        table = wv.load_table(path)
        for pooling in args.pooling:
            for l2 in args.l2_vec:
                configs[f"{path.stem} {pooling} L2 {l2:g}"] = replace(base, vectors=pooling, l2_vec=l2, table=table)
    sets = {"subset": args.subset, "check": args.check}
    results: dict[str, dict[str, dict[str, tuple[float, float, Matrix]]]] = {k: {} for k in sets}
    for name, cfg in configs.items():
        t = time.perf_counter()
        first = tl._first_stage_oof(items, cfg, cfg.folds)
        print(f"{name}: out-of-fold first stage in {time.perf_counter() - t:.0f} s", flush=True)
        for key, authors in sets.items():
            if authors:
                results[key][name] = by_author(items, first, authors, cfg)
        for key, res in results.items():  # the full tables after every candidate: a stopped run keeps them
            if res:
                print_table(f"{key}, after {name}", res)
        sys.stdout.flush()
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
