"""Does the word-vector block help the tag model on authors it was not trained on? (issue #13, round 9)

Usage: python benchmarks/tag_vectors_check.py --cache FILE [--table PATH ...] [--pooling mean ...] [--l2-vec 10 ...]
       [--subset A1 A2 ...] [--check B1 B2 ...] [--v10]

The cross-fitted scheme of round 8 (tests/data/FINAL_TAGS.md, "How it was measured"), the same for every
candidate: each record's first-stage tag probabilities come from a fit without its author group (the pool's
authors, sorted, dealt into 4 groups: train_learned_layer.first_stage_oof); for each held-out author of a subset, the
second stage is fitted on the other authors' out-of-fold output and applied to that author. Tags = the decided set
at 0.5, 预约拜访 only with a future date, plus the 流失风险 of a deal lost to a rival (the extractor's own addition).
The out-of-fold fits cover every author, so one run per candidate scores both subsets: `--subset` (where a
hyperparameter is chosen) and `--check` (ten other authors, where the choice is confirmed).

`--v10`: corpus v10 (round 8's blind set, retired this round; NOT in TRAINING_POOL on this branch) scored as a blind
set would be: first stage and second stage fitted on the whole pool, applied to its 300 records (two authors).

Candidates: the shipped model (no vectors), then every --table x --pooling x --l2-vec combination.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import train_learned_layer as tl  # noqa: E402
from benchmarks.corpora import CORPUS_V10  # noqa: E402
from benchmarks.extraction_accuracy import load_samples  # noqa: E402
from benchmarks.pickle_cache import cached  # noqa: E402
from bot.extract import extract  # noqa: E402
from bot.extract.model import StageInput, TagInput  # noqa: E402
from bot.understanding import learned_layer as ll  # noqa: E402
from bot.understanding import word_vectors as wv  # noqa: E402
from bot.understanding.text import make_tagger  # noqa: E402

Matrix = np.ndarray
VISIT = ll.TAGS.index("预约拜访")


def load_v10() -> list[tl.Item]:
    """Corpus v10's records with the same features as the pool's (train_learned_layer.load_items)."""
    pool = {p.resolve() for p in tl.TRAINING_POOL}
    if any(p.resolve() in pool for p in CORPUS_V10):
        # Since round 9's retrain corpus v10 is training data: scoring it "as blind" would be in-sample.
        raise SystemExit("--v10: corpus v10 is in TRAINING_POOL now; score it by leave-author-out instead")
    rules_tagger = make_tagger(learned=False)
    items = []
    for path in CORPUS_V10:
        for sample in load_samples(path):
            seen: dict[str, Any] = {}

            def tagger(data: TagInput, seen: dict[str, Any] = seen) -> tuple[str, ...]:
                seen["tag"], seen["rule_tags"] = data, rules_tagger(data)
                return tuple(seen["rule_tags"])

            def stager(data: StageInput, seen: dict[str, Any] = seen) -> Any:
                seen["stage"] = data
                return data.rule_stage

            result = extract(sample["text"], ref_time=datetime.fromisoformat(sample["ref_time"]),
                             tagger=tagger, stager=stager)
            data = seen["tag"]
            items.append(tl.Item(sample, sample["id"].split("-", 1)[0], data, seen["rule_tags"], seen["stage"],
                                 set(result.tags), result.stage_hint,
                                 ll.text_indices(data.customer_text, data.rep_text)))
    return items


def decide(probs: Matrix, items: Sequence[tl.Item]) -> list[set[str]]:
    out = []
    for p, item in zip(probs, items, strict=True):
        chosen = {t for j, t in enumerate(ll.TAGS) if p[j] >= 0.5 and (j != VISIT or item.tag_input.has_future_date)}
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
    rows: dict[str, tuple[float, float, Matrix]] = {}
    for author in authors:
        train = [k for k, i in enumerate(items) if i.author != author]
        held = [k for k, i in enumerate(items) if i.author == author]
        held_items = [items[k] for k in held]
        stack = tl.fit_stack([items[k] for k in train], first[train], cfg.l2_stack)
        second = tl.stack_apply(stack, held_items, first[held])
        acc_first, _ = score(held_items, decide(first[held], held_items))
        acc_second, counts = score(held_items, decide(second, held_items))
        rows[author] = (acc_first, acc_second, counts)
    return rows


def blind(items: Sequence[tl.Item], first: Matrix, v10: Sequence[tl.Item], cfg: tl.Config
          ) -> dict[str, tuple[float, float, Matrix]]:
    no_stage = (np.zeros((ll.N_STAGE_DENSE + ll.N_HASHED, len(ll.STAGES))), np.zeros(len(ll.STAGES)))
    w = tl.weights(tl.fit_tags(items, cfg), no_stage, np.full(len(ll.TAGS), 0.5), 0.0)
    probs = np.array([ll.first_stage_probabilities(w, i.tag_input, i.rule_tags) for i in v10])
    stack = tl.fit_stack(items, first, cfg.l2_stack)
    second = tl.stack_apply(stack, v10, probs)
    rows = {}
    for author in sorted({i.author for i in v10}):
        k = [n for n, i in enumerate(v10) if i.author == author]
        held = [v10[n] for n in k]
        acc_first, _ = score(held, decide(probs[k], held))
        acc_second, counts = score(held, decide(second[k], held))
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
    parser.add_argument("--v10", action="store_true", help="also score corpus v10 as a blind set")
    parser.add_argument("--v10-cache", type=Path)
    parser.add_argument("--no-base", action="store_true", help="skip the shipped model (already measured)")
    args = parser.parse_args(argv[1:])
    start = time.perf_counter()
    items = cached(args.cache, tl.load_items)
    tl.check_features(items)
    v10 = cached(args.v10_cache, load_v10) if args.v10 else []
    print(f"pool: {len(items)} records; v10: {len(v10)}; loaded in {time.perf_counter() - start:.0f} s", flush=True)
    base = tl.Config(l2_hash=30.0, folds=4, l2_tag_hash=4.0)  # the trainer's defaults, as shipped
    configs = {} if args.no_base else {"shipped": base}
    for path in args.table:
        table = wv.load_table(path)
        for pooling in args.pooling:
            for l2 in args.l2_vec:
                configs[f"{path.stem} {pooling} L2 {l2:g}"] = replace(base, vectors=pooling, l2_vec=l2, table=table)
    sets = {"subset": args.subset, "check": args.check}
    results: dict[str, dict[str, dict[str, tuple[float, float, Matrix]]]] = {k: {} for k in (*sets, "v10")}
    for name, cfg in configs.items():
        t = time.perf_counter()
        first = tl._first_stage_oof(items, cfg, cfg.folds)
        print(f"{name}: out-of-fold first stage in {time.perf_counter() - t:.0f} s", flush=True)
        for key, authors in sets.items():
            if authors:
                results[key][name] = by_author(items, first, authors, cfg)
        if v10:
            results["v10"][name] = blind(items, first, v10, cfg)
        for key, res in results.items():  # the full tables after every candidate: a stopped run keeps them
            if res:
                print_table(f"{key}, after {name}", res)
        sys.stdout.flush()
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
