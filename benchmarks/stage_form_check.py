"""The stage head by message form, as it serves (issue #13, round 17): counts and the context block, by author group.

Usage: python benchmarks/stage_form_check.py --cache FILE --stage-inputs FILE --oof FILE [--groups 4]
       [--read-every 9 --read-offset 4] [--variants base form evidence form+evidence] [--count] [--fits FILE]
       [--score-tags learned|rules]

Every record is scored out of fold as serving decides it: the stage head fitted (as the trainer fits it, on the rules'
tags) without the record's author group, on the record's StageInput built with the learned tag head's cross-fitted
tags (train_learned_layer.cross_fitted_stage_inputs, the shipped linear tag head with its second stage; as
stage_loao.py --score-tags learned). Variants are the round-17 context block's parts (learned_layer.STAGE_CONTEXTS):
"base" is the shipped head. The READ authors (sorted, every `--read-every`th from `--read-offset`) are fixed before
anything is read: `--count` prints, for them only, how the stage errors fall by form (counts, never a record), and the
figures are printed for the READ and the UNREAD authors apart, with authors up / down against "base".
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import benchmarks.train_learned_layer as trainer  # noqa: E402
from benchmarks.pickle_cache import cached  # noqa: E402
from benchmarks.stage_loao import SHIPPED_TAG_CONFIG, SHORT, stage_only_weights  # noqa: E402
from bot.extract.model import StageInput  # noqa: E402
from bot.understanding import learned_layer as ll  # noqa: E402

# The corpus formats by the form they are read as (a chat copy of either platform is one class).
FORMAT_CLASS = {"forwarded_single": "forwarded", "plain_note": "note", "wecom_copy": "chat", "dingtalk_copy": "chat",
                "voice_memo_text": "voice"}
NEAR_TIE = 0.15  # the chosen stage's probability within this of the expected stage's: a near tie (calibration)


def parts_of(variant: str) -> tuple[str, ...]:
    return () if variant == "base" else tuple(p for p in ll.STAGE_CONTEXTS if p in variant.split("+"))


def with_turns(items: Sequence[trainer.Item], inputs: Sequence[StageInput]) -> list[StageInput]:
    """The StageInputs with the chat's turns (caches written before round 17 lack them; the tag input has them)."""
    return [dataclasses.replace(si, turns=i.tag_input.turns) for i, si in zip(items, inputs, strict=True)]


FITS: Path | None = None  # --fits: the fitted heads per variant and author group, reused (unchanged pool/features)


def out_of_fold(items: Sequence[trainer.Item], fit_inputs: Sequence[StageInput], score_inputs: Sequence[StageInput],
                groups: int, l2: float, context: tuple[str, ...]) -> list[tuple[ll.Stage | None, np.ndarray]]:
    """Each record's stage and probabilities from a head fitted without its author group."""
    group = trainer.author_groups(items, groups)
    cfg = trainer.Config(l2_hash=l2)
    opts = dataclasses.replace(trainer.SHIPPED_STAGE, l2_hash=l2, context=context)
    out: list[tuple[ll.Stage | None, np.ndarray]] = [(None, np.zeros(0))] * len(items)
    fits: dict[str, Any] = {}
    if FITS is not None and FITS.exists():
        fits = pickle.loads(FITS.read_bytes())  # noqa: S301 (a file this script wrote)
    for g in range(groups):
        key = f"{'+'.join(context) or 'base'}|g{g}/{groups}|l2{l2}|n{len(items)}"
        if key not in fits:
            train = [k for k, i in enumerate(items) if group[i.author] != g]
            fits[key] = trainer.fit_stage([items[k] for k in train], cfg, opts, [fit_inputs[k] for k in train])
            if FITS is not None:
                FITS.write_bytes(pickle.dumps(fits))
        w = stage_only_weights(fits[key], context)
        for k, item in enumerate(items):
            if group[item.author] == g:
                out[k] = (ll.learned_stage(w, score_inputs[k]), ll.stage_probabilities(w, score_inputs[k]))
        print(f"  group {g} fitted ({', '.join(context) or 'base'})", flush=True)
    return out


def why(item: trainer.Item, si: StageInput, chosen: ll.Stage | None, p: np.ndarray) -> str:
    """How a miss came about: the new-contact bound or the named-customer rule overrode the head's argmax, the head
    kept the rules' wrong stage, or the head chose another stage itself."""
    best = ll.STAGES[int(np.argmax(p))]
    if best is not chosen:
        if best is None and si.has_customer:
            return "none kept out (named customer)"
        if not ll.stage_allowed(best, si):
            return "new-contact bound"
        return "other rule"
    return "head kept rules' stage" if chosen is si.rule_stage else "head overrode rules"


def count(items: Sequence[trainer.Item], inputs: Sequence[StageInput], base: Sequence[tuple[Any, np.ndarray]],
          read: set[str]) -> None:
    rows = [k for k, i in enumerate(items) if i.author in read]
    by_class: dict[str, list[int]] = defaultdict(list)
    for k in rows:
        by_class[FORMAT_CLASS.get(items[k].sample["format"], "other")].append(k)
    for cls in ("forwarded", "note", "chat", "voice"):
        ks = by_class.get(cls, [])
        if not ks:
            continue
        miss = [k for k in ks if base[k][0] != items[k].expected_stage]
        print(f"\n### READ authors, {cls}: {len(ks)} records, {len(miss)} stage misses "
              f"({1 - len(miss) / len(ks):.1%} right)")
        cells = Counter((SHORT[items[k].expected_stage], SHORT[base[k][0]]) for k in miss)
        print("expected × chosen: " + ", ".join(f"{e}→{c} {n}" for (e, c), n in cells.most_common()))
        kinds = Counter("none expected" if items[k].expected_stage is None else "none chosen"
                        if base[k][0] is None else "wrong stage" for k in miss)
        print("kind: " + ", ".join(f"{a} {n}" for a, n in kinds.most_common()))
        print("how: " + ", ".join(f"{a} {n}" for a, n in Counter(
            why(items[k], inputs[k], base[k][0], base[k][1]) for k in miss).most_common()))
        evidence = Counter(
            "expected in the rules' evidence" if items[k].expected_stage in (inputs[k].evidence or frozenset())
            else "rule stage right" if inputs[k].rule_stage is items[k].expected_stage
            else "no evidence for the expected stage" for k in miss)
        print("rules: " + ", ".join(f"{a} {n}" for a, n in evidence.most_common()))
        margins = []
        for k in miss:
            p = base[k][1]
            e = ll.STAGES.index(items[k].expected_stage)
            margins.append(float(p.max() - p[e]))
        near = sum(m <= NEAR_TIE for m in margins)
        print(f"calibration: near tie (p(chosen) − p(expected) ≤ {NEAR_TIE}) {near}, confidently wrong "
              f"{len(margins) - near}; median gap {np.median(margins):.2f}; p(expected) < 0.1 "
              f"{sum(base[k][1][ll.STAGES.index(items[k].expected_stage)] < 0.1 for k in miss)}")
        new = sum(bool(inputs[k].new_contact) for k in miss)
        print(f"text calls the contact new: {new} of the misses, {sum(bool(inputs[k].new_contact) for k in ks)} of "
              f"the records")


def report(items: Sequence[trainer.Item], results: dict[str, list[tuple[Any, np.ndarray]]], read: set[str]) -> None:
    authors = sorted({i.author for i in items})
    classes = ("all", "forwarded", "note", "chat", "voice")

    rows: dict[tuple[str, str], list[int]] = defaultdict(list)
    for k, i in enumerate(items):
        rows[(i.author, "all")].append(k)
        rows[(i.author, FORMAT_CLASS.get(i.sample["format"], "other"))].append(k)

    def acc(variant: str, author: str, cls: str) -> float | None:
        ks = rows.get((author, cls), [])
        if not ks:
            return None
        return float(np.mean([results[variant][k][0] == items[k].expected_stage for k in ks]))

    table = {(v, a, c): acc(v, a, c) for v in results for a in authors for c in classes}
    sets = (("READ", [a for a in authors if a in read]), ("UNREAD", [a for a in authors if a not in read]),
            ("all", authors))
    for label, subset in sets:
        print(f"\n### {label} authors ({len(subset)}), stage accuracy, mean over authors (records pooled); "
              "authors up / down against base")
        print("| variant | " + " | ".join(classes) + " |\n|---" * 1 + "|---" * len(classes) + "|")
        for v in results:
            cells = []
            for c in classes:
                vals = [(table[(v, a, c)], table[("base", a, c)]) for a in subset if table[(v, a, c)] is not None]
                if not vals:
                    cells.append("—")
                    continue
                mean = float(np.mean([x for x, _ in vals]))
                ks = [k for a in subset for k in rows.get((a, c), [])]
                pooled = float(np.mean([results[v][k][0] == items[k].expected_stage for k in ks]))
                up = sum(x > b + 1e-9 for x, b in vals)
                down = sum(x < b - 1e-9 for x, b in vals)
                cells.append(f"{mean:.2%} ({pooled:.2%}, n={len(ks)})" + ("" if v == "base" else f" {up}↑ {down}↓"))
            print(f"| {v} | " + " | ".join(cells) + " |")
        for v in results:
            if v == "base":
                continue
            ks = [k for k, i in enumerate(items) if i.author in subset]
            fixed = sum(results[v][k][0] == items[k].expected_stage != results["base"][k][0] for k in ks)
            broken = sum(results["base"][k][0] == items[k].expected_stage != results[v][k][0] for k in ks)
            print(f"{v}: {fixed} records fixed, {broken} broken")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--stage-inputs", type=Path, help="cache of the cross-fitted StageInputs")
    parser.add_argument("--oof", type=Path, help="cache of the tag head's out-of-fold first-stage probabilities")
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--l2", type=float, default=trainer.SHIPPED_STAGE.l2_hash or 10.0)
    parser.add_argument("--read-every", type=int, default=9)
    parser.add_argument("--read-offset", type=int, default=4)
    parser.add_argument("--variants", nargs="+", default=["base"])
    parser.add_argument("--count", action="store_true", help="the READ authors' stage errors by form (counts)")
    parser.add_argument("--fits", type=Path, help="cache of the fitted heads per variant and author group (reused)")
    parser.add_argument("--score-tags", choices=("learned", "rules"), default="learned",
                        help="score on the StageInputs built with the cross-fitted learned tags (as served) or with "
                             "the rules' tags (quicker: no tag head is fitted)")
    args = parser.parse_args(argv[1:])
    global FITS
    FITS = args.fits
    import __main__
    __main__.Item = trainer.Item  # type: ignore[attr-defined]  # caches written by the trainer run as a script
    items = cached(args.cache, trainer.load_items)
    authors = sorted({i.author for i in items})
    read = set(authors[args.read_offset :: args.read_every])
    print(f"READ authors ({len(read)}): {' '.join(sorted(read))}", flush=True)
    trainer.OOF_CACHE, trainer.STAGE_INPUTS_CACHE = args.oof, args.stage_inputs
    rules = with_turns(items, [i.stage_input for i in items])
    served = rules if args.score_tags == "rules" else \
        with_turns(items, trainer.cross_fitted_stage_inputs(items, SHIPPED_TAG_CONFIG))
    print(f"scored on the StageInputs with the {args.score_tags} tags", flush=True)
    variants = ["base", *[v for v in args.variants if v != "base"]]
    results = {v: out_of_fold(items, rules, served, args.groups, args.l2, parts_of(v)) for v in variants}
    if args.count:
        count(items, served, results["base"], read)
    report(items, results, read)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
