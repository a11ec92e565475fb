"""Do per-author training offsets (annotator modelling) help the tag model on unseen authors? (issue #13, round 10)

Usage: python benchmarks/tag_authors_check.py --cache FILE [--author-l2 none 10 ...] [--author-dense]
       [--stack-author-l2 none 10 ...] [--subset A1 A2 ...] [--check B1 B2 ...] [--all]

The cross-fitted scheme of rounds 8 and 9 (tests/data/FINAL_TAGS.md, "Learned layer, round 9", "How it was
measured"), the same for every candidate: each record's first-stage tag probabilities come from a fit without its
author group (the pool's authors, sorted, dealt into 4 groups); for each held-out author, the second stage is fitted
on the other authors' out-of-fold output and applied to that author. Tags = the decided set at 0.5, 预约拜访 only with
a future date, plus the 流失风险 of a deal lost to a rival. The author offsets (train_learned_layer.AuthorTerms) exist
only while fitting: a held-out author is scored with none, as a new author is in production.

Candidates: every first-stage `--author-l2` (`none`: no offsets, the shipped model; `--author-dense`: the offsets
also cover the rules' evidence weights) x every second-stage `--stack-author-l2`. One out-of-fold run per
first-stage value scores `--subset` (where a value is chosen), `--check` (other authors, where it is confirmed) and,
with `--all`, all the pool's authors.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import train_learned_layer as tl  # noqa: E402
from benchmarks.pickle_cache import cached  # noqa: E402
from benchmarks.tag_vectors_check import by_author, print_table  # noqa: E402

Matrix = np.ndarray


def l2_value(text: str) -> float | None:
    return None if text == "none" else float(text)


def name_of(cfg: tl.Config) -> str:
    first = "none" if cfg.author_l2 is None else f"{cfg.author_l2:g}{' dense' if cfg.author_dense else ''}"
    second = "none" if cfg.author_l2_stack is None else f"{cfg.author_l2_stack:g}"
    return "shipped" if cfg.author_l2 is None and cfg.author_l2_stack is None else f"author {first} / stack {second}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, help="the pool's records (train_learned_layer --cache)")
    parser.add_argument("--author-l2", nargs="*", default=["none", "10"], help="first stage ('none': no offsets)")
    parser.add_argument("--author-dense", action="store_true", help="offsets of the rules' evidence weights too")
    parser.add_argument("--stack-author-l2", nargs="*", default=["none"], help="second stage ('none': no offsets)")
    parser.add_argument("--subset", nargs="*", default=[])
    parser.add_argument("--check", nargs="*", default=[])
    parser.add_argument("--all", action="store_true", help="also score every pool author")
    args = parser.parse_args(argv[1:])
    start = time.perf_counter()
    items = cached(args.cache, tl.load_items)
    tl.check_features(items)
    print(f"pool: {len(items)} records; loaded in {time.perf_counter() - start:.0f} s", flush=True)
    base = tl.Config(l2_hash=30.0, folds=4, l2_tag_hash=4.0)  # the trainer's defaults before round 10
    sets = {"subset": list(args.subset), "check": list(args.check)}
    if args.all:
        sets["all"] = sorted({i.author for i in items})
    results: dict[str, dict[str, dict[str, tuple[float, float, Matrix]]]] = {k: {} for k in sets}
    for first_l2 in map(l2_value, args.author_l2):
        cfg = replace(base, author_l2=first_l2, author_dense=args.author_dense and first_l2 is not None)
        t = time.perf_counter()
        first = tl._first_stage_oof(items, cfg, cfg.folds)
        print(f"{name_of(cfg)}: out-of-fold first stage in {time.perf_counter() - t:.0f} s", flush=True)
        for stack_l2 in map(l2_value, args.stack_author_l2):
            run = replace(cfg, author_l2_stack=stack_l2)
            for key, authors in sets.items():
                if authors:
                    results[key][name_of(run)] = by_author(items, first, authors, run)
        for key, res in results.items():  # the full tables after every candidate: a stopped run keeps them
            if res:
                print_table(f"{key}, after {name_of(cfg)}", res)
        sys.stdout.flush()
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
