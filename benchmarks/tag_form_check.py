"""Are the tag layer's misses on forwarded single messages a calibration miss of a decision rule fitted on the mix of
formats, and does reading the message's form in the second stage help on authors it was not chosen on? (issue #13,
round 16)

Usage: python benchmarks/tag_form_check.py --cache FILE [--oof FILE] [--read A1 A2 ...] [--no-cnn | --cnn-oof FILE]
       [--stack-groups 4] [--probs-dir DIR] [--count]

The scheme of tag_entity_check.py (tag_dialogue_check's report; tag_mlp_check.load_pool): every record's linear first
stage (and convolution) comes from a fit without its author group (4 groups of the sorted authors); the second stage
is fitted per held-out author, or per author group with `--stack-groups`, on the other authors' out-of-fold rows.
Models compared, each decided as learned_layer.learned_tags decides (预约拜访 only with a future date, the 流失风险 of a
deal lost to a rival added):

- "shipped": the second stage as shipped, every tag at 0.5;
- "form": the second stage also reading learned_layer.form_dense (chat / one speaker / note, short), 0.5;
- "form thresholds": the shipped second stage, with a threshold per tag and per form (learned_layer.message_form)
  chosen on the other author groups' out-of-fold second-stage output (fewest errors on the grid, ties nearest 0.5).

`--count` (part 1, mechanical, no text printed), on the READ authors' forwarded singles and chat copies: per tag the
shipped model's false negatives and false positives, each split by how far its out-of-fold probability was from the
threshold (near: within 0.25 of it, a calibration miss; far: no evidence the model sees), and per tag the mean
probability against the rate of the tag (do a format's scores run low or high?); then, over all authors, how the pool's
formats fall into learned_layer.message_form's forms.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import train_learned_layer as tl  # noqa: E402
from benchmarks.tag_dialogue_check import (  # noqa: E402
    CHAT_FORMATS,
    FORWARDED,
    FORWARDED_SCOPES,
    add_comparison_arguments,
    author_sets,
    kept_second_stage,
    report,
    second_stage,
)
from benchmarks.tag_mlp_check import load_pool  # noqa: E402
from benchmarks.tag_vectors_check import decide  # noqa: E402
from bot.understanding import learned_layer as ll  # noqa: E402

Matrix = np.ndarray
NEAR = 0.25  # a miss whose probability is within this of the threshold: a calibration miss
# `--compare`: how Chinese compares or names an alternative (grammar, not corpus strings): the comparative 比 (not
# the words 比例 / 比如 / 比赛 / 比方 / 比分), 跟 / 和 / 与 / 同 … 比 / 一样 / 差不多, 比起 / 相比 / 对比 / 不如 /
# 比不上, a switch of supplier (换成 / 换用 / 改用 / 转用 / 换一家), a third party's side or another supplier by a
# determiner (人家 / 别家 / 其他家 / 另一家 / 友商 / 同行), and the alternative question 是 … 还是.
COMPARISON = re.compile(r"比(?!例|如|赛|方|分)|(?:跟|和|与|同).{1,10}?(?:比|一样|差不多|不一样)|比起|相比|对比|不如|"
                        r"比不上|换成|换用|改用|转用|换(?:一|别|另)家|人家|别家|其他家|其它家|另一家|另外一家|友商|"
                        r"同行|是.{1,10}?还是")


def comparison_column(items: Sequence[tl.Item]) -> Matrix:
    """1 when a plain (not negated) customer-side clause has a comparison construction (COMPARISON), else 0."""
    return np.array([[float(any(COMPARISON.search(c) for c in ll.plain_customer_clauses(i.tag_input.customer_text)))]
                     for i in items])


def form_thresholds(probs: Matrix, items: Sequence[tl.Item], groups: int) -> Matrix:
    """Each record's per-tag thresholds: for its form, train_learned_layer.per_tag_thresholds on the other author
    groups' records of that form (0.5 where either side has none)."""
    group = tl.author_groups(items, groups)
    g = np.array([group[i.author] for i in items])
    forms = np.array([ll.message_form(i.tag_input) for i in items])
    out = np.full(probs.shape, 0.5)
    for held in range(groups):
        for form in ll.FORMS:
            fit = np.flatnonzero((g != held) & (forms == form))
            rows = (g == held) & (forms == form)
            if not fit.size or not rows.any():
                continue
            out[rows] = tl.per_tag_thresholds(probs[fit], [items[k] for k in fit])
    return out


def count(items: Sequence[tl.Item], probs: Matrix, read: Sequence[str]) -> None:
    """Part 1 on the READ authors: per tag and format, misses near / far from the threshold, and calibration."""
    y = np.array([[t in i.expected_tags for t in ll.TAGS] for i in items], dtype=bool)
    decided = decide(probs, items)
    got = np.array([[t in d for t in ll.TAGS] for d in decided], dtype=bool)
    for scope, formats in (("forwarded singles", FORWARDED), ("chat copies", CHAT_FORMATS)):
        rows = np.array([i.author in set(read) and i.sample["format"] in formats for i in items])
        n = int(rows.sum())
        exact = np.mean([decided[k] == items[k].expected_tags for k in np.flatnonzero(rows)])
        print(f"\nREAD authors, {scope}: {n} records, exact set {exact:.1%}")
        print("  tag: FN near/far, FP near/far | mean p vs rate (records with the tag: mean p)")
        for j, tag in enumerate(ll.TAGS):
            p, yy, gg = probs[rows, j], y[rows, j], got[rows, j]
            fn, fp = yy & ~gg, ~yy & gg
            fn_near = int((fn & (p >= 0.5 - NEAR)).sum())
            fp_near = int((fp & (p < 0.5 + NEAR)).sum())
            pos = f"{p[yy].mean():.2f}" if yy.any() else "-"
            print(f"  {tag}: FN {fn_near}/{int(fn.sum()) - fn_near}, FP {fp_near}/{int(fp.sum()) - fp_near} | "
                  f"{p.mean():.3f} vs {yy.mean():.3f} ({int(yy.sum())}: {pos})")
        print(f"  all tags: FN {int((y[rows] & ~got[rows]).sum())}, FP {int((~y[rows] & got[rows]).sum())}; "
              f"sum of p {probs[rows].sum():.0f} vs tags {int(y[rows].sum())}")
    mix: Counter[tuple[str, str]] = Counter((i.sample["format"], ll.message_form(i.tag_input)) for i in items)
    print("\nformats by form (all authors): " + ", ".join(f"{f}/{m} {n}" for (f, m), n in sorted(mix.items())))
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, help="the pool's records (train_learned_layer --cache)")
    add_comparison_arguments(parser)
    parser.add_argument("--cnn-oof", type=Path, help="keep (and reuse) the convolution's out-of-fold log-odds")
    parser.add_argument("--count", action="store_true", help="print part 1's count on the READ authors first")
    parser.add_argument("--compare", action="store_true", help="also the second stage with comparison_column")
    args = parser.parse_args(argv[1:])
    start = time.perf_counter()
    items, first, base = load_pool(args.cache, args.oof)
    extra = None
    if not args.no_cnn:
        tl.CNN_OOF_CACHE = args.cnn_oof
        t = time.perf_counter()
        extra = tl.cnn_oof(items, tl.SHIPPED_CNN, base.folds, log=True)
        print(f"convolution out-of-fold in {time.perf_counter() - t:.0f} s", flush=True)
    ids = tuple(i.sample["id"] for i in items)
    sets = author_sets(items, args.read)
    probs = {name: kept_second_stage(args.probs_dir, name, args, ids,
                                     lambda form=form: second_stage(items, first, extra, base.l2_stack,
                                                                    args.stack_groups, form))
             for name, form in (("shipped", False), ("form", True))}
    if args.compare:
        print(f"comparison construction in {comparison_column(items).mean():.1%} of the records", flush=True)
        probs["compare"] = kept_second_stage(args.probs_dir, "compare", args, ids,
                                             lambda: second_stage(items, first, extra, base.l2_stack,
                                                                  args.stack_groups, more=comparison_column(items)))
    if args.count and sets.get("read"):
        count(items, probs["shipped"], sets["read"])
    groups = args.stack_groups or base.folds
    decisions = {"shipped": decide(probs["shipped"], items), "form": decide(probs["form"], items),
                 "form thresholds": decide(probs["shipped"], items, form_thresholds(probs["shipped"], items, groups))}
    if "compare" in probs:
        decisions["compare"] = decide(probs["compare"], items)
    report(items, decisions, sets, FORWARDED_SCOPES)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
