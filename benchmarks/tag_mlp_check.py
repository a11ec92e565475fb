"""Does a hidden layer (learned_layer.Mlp) help the tag model on authors it was not trained on? (issue #13, round 11)

Usage: python benchmarks/tag_mlp_check.py --cache FILE [--oof FILE] [--hidden 64 ...] [--epochs 8] [--l2 1]
       [--dropout 0.3] [--bits 14] [--subset A1 A2 ...] [--check B1 B2 ...] [--all]

The cross-fitted scheme of rounds 8-10 (tests/data/FINAL_TAGS.md), the same for every candidate: each record's
first-stage tag probabilities (the linear model as shipped) and its hidden-layer log-odds come from fits without its
author group (the pool's authors, sorted, dealt into 4 groups); for each held-out author, the second stage is fitted
on the other authors' out-of-fold rows (without and with the hidden layer's log-odds as ten more inputs) and applied
to that author. Tags = the decided set at 0.5, 预约拜访 only with a future date, plus the 流失风险 of a deal lost to a
rival. `--subset` is where a setting is chosen, `--check` other authors where it is confirmed, `--all` every author.

Columns per candidate: "first" = the hidden layer alone (sigmoid of its out-of-fold log-odds, decided at 0.5), "second"
= the second stage reading the linear first stage and the hidden layer (what would ship). The "shipped" row's first
column is the linear first stage.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import train_learned_layer as tl  # noqa: E402
from benchmarks.pickle_cache import cached  # noqa: E402
from benchmarks.tag_vectors_check import decide, print_table, score  # noqa: E402

Matrix = np.ndarray


def by_author(items: Sequence[tl.Item], first: Matrix, x: Matrix, alone: Matrix, authors: Sequence[str],
              l2_stack: float, probs: Matrix | None = None) -> dict[str, tuple[float, float, Matrix]]:
    """Per held-out author: exact-set accuracy of `alone` (probabilities), of the second stage over the inputs `x`
    (tl.stack_rows of every record) fitted on the other authors, and the second stage's per-tag (tp, fp, fn).
    `probs` (records, tags), when given, receives each held-out author's second-stage probabilities (round 13: scored
    by format afterwards)."""
    rows: dict[str, tuple[float, float, Matrix]] = {}
    names = np.array([i.author for i in items])
    for author in authors:
        train, held = np.flatnonzero(names != author), np.flatnonzero(names == author)
        held_items = [items[k] for k in held]
        w, b = tl.fit_stack([items[k] for k in train], first[train], l2_stack, rows=x[train])
        second = 1.0 / (1.0 + np.exp(-np.clip(x[held] @ w + b, -30, 30)))
        if probs is not None:
            probs[held] = second
        acc_first, _ = score(held_items, decide(alone[held], held_items))
        acc_second, counts = score(held_items, decide(second, held_items))
        rows[author] = (acc_first, acc_second, counts)
    return rows


Candidate = tuple[str, Callable[[], Matrix]]  # a name and what computes its out-of-fold log-odds (records, 10)


def load_pool(cache: Path | None, oof: Path | None) -> tuple[list[tl.Item], Matrix, tl.Config]:
    """The pool's records, the linear first stage out-of-fold by 4 author groups (the trainer's defaults), and the
    config it was fitted with."""
    start = time.perf_counter()
    items = cached(cache, tl.load_items)
    tl.check_features(items)
    print(f"pool: {len(items)} records; loaded in {time.perf_counter() - start:.0f} s", flush=True)
    base = tl.Config(l2_hash=30.0, folds=4, l2_tag_hash=4.0)  # the trainer's defaults (linear part)
    tl.OOF_CACHE = oof
    t = time.perf_counter()
    first = tl.first_stage_oof(items, base, base.folds)
    print(f"linear out-of-fold first stage in {time.perf_counter() - t:.0f} s", flush=True)
    return items, first, base


def run_candidates(items: Sequence[tl.Item], first: Matrix, base: tl.Config, sets: dict[str, list[str]],
                   candidates: Iterable[Candidate]) -> dict[str, dict[str, dict[str, tuple[float, float, Matrix]]]]:
    """The shipped second stage and, per candidate, the second stage reading its out-of-fold log-odds as more
    inputs, scored by held-out author on every author set; the full tables are printed after every candidate."""
    results: dict[str, dict[str, dict[str, tuple[float, float, Matrix]]]] = {k: {} for k in sets}
    x0 = tl.stack_rows(items, first)
    for key, authors in sets.items():
        if authors:
            results[key]["shipped"] = by_author(items, first, x0, first, authors, base.l2_stack)
    for name, compute in candidates:
        t = time.perf_counter()
        extra = compute()
        print(f"{name}: out-of-fold log-odds in {time.perf_counter() - t:.0f} s", flush=True)
        x = tl.stack_rows(items, first, extra)
        alone = 1.0 / (1.0 + np.exp(-np.clip(extra[:, -len(tl.ll.TAGS) :], -30, 30)))  # the last block alone
        for key, authors in sets.items():
            if authors:
                results[key][name] = by_author(items, first, x, alone, authors, base.l2_stack)
        for key, res in results.items():
            if res:
                print_table(f"{key}, after {name}", res)
        sys.stdout.flush()
    return results


def author_sets(items: Sequence[tl.Item], subset: list[str], check: list[str], every: bool) -> dict[str, list[str]]:
    sets = {"subset": list(subset), "check": list(check)}
    if every:
        sets["all"] = sorted({i.author for i in items})
    return sets


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, help="the pool's records (train_learned_layer --cache)")
    parser.add_argument("--oof", type=Path, help="reuse the linear first stage's out-of-fold output")
    parser.add_argument("--mlp-oof-dir", type=Path, help="keep each candidate's out-of-fold log-odds here")
    parser.add_argument("--hidden", type=int, nargs="*", default=[64])
    parser.add_argument("--epochs", type=int, nargs="*", default=[tl.MlpOptions.epochs])
    parser.add_argument("--l2", type=float, nargs="*", default=[tl.MlpOptions.l2])
    parser.add_argument("--dropout", type=float, nargs="*", default=[tl.MlpOptions.dropout])
    parser.add_argument("--bits", type=int, default=tl.MlpOptions.bits)
    parser.add_argument("--lr", type=float, default=tl.MlpOptions.lr)
    parser.add_argument("--ensemble", type=int, default=tl.MlpOptions.ensemble, help="nets averaged (seeds)")
    parser.add_argument("--subset", nargs="*", default=[])
    parser.add_argument("--check", nargs="*", default=[])
    parser.add_argument("--all", action="store_true", help="also score every pool author")
    args = parser.parse_args(argv[1:])
    start = time.perf_counter()
    items, first, base = load_pool(args.cache, args.oof)

    def candidate(opts: tl.MlpOptions) -> Candidate:
        name = f"mlp h{opts.hidden} e{opts.epochs} L2 {opts.l2:g} drop {opts.dropout:g} x{opts.ensemble}"

        def compute() -> Matrix:
            if args.mlp_oof_dir is not None:
                args.mlp_oof_dir.mkdir(parents=True, exist_ok=True)
                stem = f"h{opts.hidden}-e{opts.epochs}-l{opts.l2:g}-d{opts.dropout:g}-b{opts.bits}-lr{opts.lr:g}"
                stem += f"-x{opts.ensemble}" if opts.ensemble > 1 else ""
                tl.MLP_OOF_CACHE = args.mlp_oof_dir / f"{stem}.pkl"
            mlp = tl.mlp_oof(items, opts, base.folds)
            assert mlp is not None
            return mlp

        return name, compute

    candidates = [candidate(tl.MlpOptions(hidden=hidden, bits=args.bits, epochs=epochs, lr=args.lr,
                                          dropout=dropout, l2=l2, ensemble=args.ensemble))
                  for hidden in args.hidden for epochs in args.epochs for l2 in args.l2 for dropout in args.dropout]
    run_candidates(items, first, base, author_sets(items, args.subset, args.check, args.all), candidates)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
