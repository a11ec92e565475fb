"""Leave-one-author-out of the learned STAGE head alone (issue #13, round 8): a quick, honest look at a stage lever.

Usage: python benchmarks/stage_loao.py --cache FILE [--authors A B ...] [--class-power 0.5] [--smooth 0.1]
       [--aspect] [--dump FILE] [--train-tags rules|learned] [--score-tags rules|learned] [--stage-inputs FILE]

For each held-out author: fit only the stage head on the other authors (benchmarks/train_learned_layer.fit_stage),
then decide each held-out record with learned_layer.learned_stage on the record's StageInput as the extractor built
it with the rules' tags (the tag head is not refitted, so tags cannot move here; the full trainer measures both).
Prints accuracy per author and the mean over authors, by input format, and the confusion matrix.

Round 9: `--score-tags learned` scores each record on the StageInput serving builds, with the learned tag head's
tags (cross-fitted by author group: a tag head that never saw the record's author, and the rules' stage recomputed
from those tags; train_learned_layer.cross_fitted_stage_inputs), the honest end-to-end condition;
`--train-tags learned` fits the stage head on those inputs too (measured no better, not shipped). The tag head's folds
are shared: a held-out author's records did train the tag fits that tagged the other authors' records.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import benchmarks.train_learned_layer as trainer  # noqa: E402
from benchmarks.pickle_cache import cached  # noqa: E402
from bot.understanding import learned_layer as ll  # noqa: E402

# The tag head as it ships (train_learned_layer's defaults): it tags the records whose StageInputs are cross-fitted.
SHIPPED_TAG_CONFIG = trainer.Config(l2_hash=30.0, folds=4, l2_tag_hash=4.0)
SHORT = {None: "none", **{s: s.value[:2] for s in ll.STAGES if s is not None}}


def stage_only_weights(stage: tuple[np.ndarray, np.ndarray], context: tuple[str, ...] = ()) -> ll.Weights:
    """A fitted stage head as weights without a tag model; `context`: the parts of its context block (round 17)."""
    k = len(ll.TAGS)
    zeros = np.zeros((1, k), dtype=np.float32)
    return ll.Weights(zeros, zeros[0], np.full(k, 0.5, np.float32), stage[0].astype(np.float32),
                      stage[1].astype(np.float32), 0.0, {}, stage_context=context)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--authors", nargs="*", default=[])
    parser.add_argument("--l2", type=float, default=30.0, help="L2 on the stage head's hashed features")
    parser.add_argument("--l2-dense", type=float, default=0.3, help="L2 on the dense block (the rules' stage, tags)")
    parser.add_argument("--groups", type=int, default=0,
                        help="hold the chosen authors out in this many groups (0: one author at a time); each group's "
                             "authors are unseen by its fit, fewer fits on a loaded machine")
    parser.add_argument("--class-power", type=float, default=0.0,
                        help="weight each record by (count of its stage)^-power, normalised (0: unweighted)")
    parser.add_argument("--smooth", type=float, default=0.0,
                        help="ordinal label smoothing: this share of a funnel stage's target goes to its neighbours")
    parser.add_argument("--aspect", action="store_true", help="with the round-8 stage-only features")
    parser.add_argument("--train-tags", choices=("rules", "learned", "both"), default="rules",
                        help="the stage head's input tags when fitting: the rules', the cross-fitted learned ones, "
                             "or both (each record twice, once with each)")
    parser.add_argument("--score-tags", choices=("rules", "learned"), default="rules",
                        help="the input tags when scoring a held-out record (learned: as in production)")
    parser.add_argument("--stage-inputs", type=Path, help="cache of the cross-fitted StageInputs")
    parser.add_argument("--oof", type=Path, help="cache of the tag head's out-of-fold first-stage probabilities")
    parser.add_argument("--dump", type=Path,
                        help="write one row per held-out record (ids, expected, chosen, probabilities, rule stage)")
    args = parser.parse_args(argv[1:])
    import __main__
    __main__.Item = trainer.Item  # type: ignore[attr-defined]  # caches written by the trainer run as a script
    items = cached(args.cache, trainer.load_items)
    authors = sorted({i.author for i in items} & set(args.authors or {i.author for i in items}))
    cfg = trainer.Config(l2_hash=args.l2, l2_dense=args.l2_dense)
    rules_inputs = [i.stage_input for i in items]
    learned_inputs = rules_inputs
    if "learned" in (args.train_tags, args.score_tags) or args.train_tags == "both":
        trainer.OOF_CACHE, trainer.STAGE_INPUTS_CACHE = args.oof, args.stage_inputs
        learned_inputs = trainer.cross_fitted_stage_inputs(items, SHIPPED_TAG_CONFIG)
    train_inputs = learned_inputs if args.train_tags == "learned" else rules_inputs
    score_inputs = dict(zip((id(i) for i in items), learned_inputs if args.score_tags == "learned" else rules_inputs,
                            strict=True))
    opts = trainer.StageOptions(class_power=args.class_power, smooth=args.smooth, aspect=args.aspect,
                                l2_hash=args.l2)
    out: list[tuple[Any, ...]] = []
    per_author: dict[str, tuple[int, int]] = {}
    folds = [[a] for a in authors] if args.groups <= 0 else [authors[g::args.groups] for g in range(args.groups)]
    for held_out in folds:
        rows = [k for k, i in enumerate(items) if i.author not in held_out]
        fit_items, fit_inputs = [items[k] for k in rows], [train_inputs[k] for k in rows]
        if args.train_tags == "both":
            fit_items, fit_inputs = fit_items * 2, fit_inputs + [learned_inputs[k] for k in rows]
        w = stage_only_weights(trainer.fit_stage(fit_items, cfg, opts, inputs=fit_inputs))
        for author in held_out:
            ok = n = 0
            for item in (i for i in items if i.author == author):
                data = score_inputs[id(item)]
                chosen = ll.learned_stage(w, data)
                out.append((author, item.sample["id"], item.sample["format"], item.expected_stage, chosen,
                            ll.stage_probabilities(w, data).tolist(), data.rule_stage, data.has_customer))
                ok, n = ok + (chosen == item.expected_stage), n + 1
            per_author[author] = (ok, n)
            print(f"  {author}: {ok / n:.1%} (n={n})", flush=True)
    per_author = dict(sorted(per_author.items()))
    print(f"\ngroups={args.groups} class_power={args.class_power} smooth={args.smooth} aspect={opts.aspect} "
          f"l2={args.l2} l2_dense={args.l2_dense} train_tags={args.train_tags} score_tags={args.score_tags}")
    print("| author | n | stage |\n|---|---|---|")
    for a, (ok, n) in per_author.items():
        print(f"| {a} | {n} | {ok / n:.1%} |")
    print(f"| **mean over authors** | | **{np.mean([ok / n for ok, n in per_author.values()]):.1%}** |")
    fmt: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _, _, f, e, c, *_ in out:
        fmt[f][0] += e == c
        fmt[f][1] += 1
    print("\n| format | n | stage |\n|---|---|---|")
    for f, (ok, n) in sorted(fmt.items()):
        print(f"| {f} | {n} | {ok / n:.1%} |")
    print("\n| expected \\ chosen | " + " | ".join(SHORT[s] for s in ll.STAGES) + " |")
    print("|---" * (len(ll.STAGES) + 1) + "|")
    for e in ll.STAGES:
        counts = [sum(1 for r in out if r[3] == e and r[4] == c) for c in ll.STAGES]
        print(f"| {SHORT[e]} | " + " | ".join(str(c) for c in counts) + " |")
    if args.dump:
        args.dump.write_bytes(pickle.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
