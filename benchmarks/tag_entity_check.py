"""Do the clauses' entity keys (learned_layer.tag_text_indices, entity_keys.py) help the tag model on authors it was not
trained on, on chat copies and forwarded single messages in particular? (issue #13, round 14)

Usage: python benchmarks/tag_entity_check.py --cache FILE [--oof FILE] [--entities-oof FILE] [--read A1 A2 ...]
       [--cnn-oof FILE | --no-cnn] [--stack-groups 4] [--probs-dir DIR] [--misses] [--speed N]

The scheme of tag_dialogue_check.py (its second_stage, report and speed; tag_mlp_check.load_pool): every record's linear
first stage comes from a fit without its author group (4 groups of the sorted authors), as shipped ("shipped") and with
the entity keys ("entities"); the second stage is fitted per held-out author (or per author group with
`--stack-groups`) on the other authors' out-of-fold rows. The convolution does not read the entity keys, so both
models' second stages read the same out-of-fold convolution log-odds (`--no-cnn`: none, quicker).

`--misses`: before any comparison, the count of part 1 (READ authors only, mechanical, no text printed): each
tag the shipped model misses on a chat copy or a forwarded single message, by tag, by whether the rules' keyword
for it is in the text, and by what the customer-side clauses name (another firm or brand, a person or a role with
authority, neither).
"""

from __future__ import annotations

import argparse
import dataclasses
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
    speed,
)
from benchmarks.tag_mlp_check import load_pool  # noqa: E402
from benchmarks.tag_vectors_check import decide  # noqa: E402
from bot.extract.textnorm import clauses  # noqa: E402
from bot.understanding import learned_layer as ll  # noqa: E402
from bot.understanding.entity_keys import clause_entity_keys  # noqa: E402

Matrix = np.ndarray
FIRM_KEYS = frozenset({"e:firm", "e:proper", "e:brand", "e:acronym", "e:other_firm", "e:their_side"})
PERSON_KEYS = frozenset({"e:person", "e:titled", "e:role"})


def names_of(item: tl.Item) -> str:
    """What the record's plain customer-side clauses name: "firm", "person", "firm+person" or "neither"."""
    keys: set[str] = set()
    for clause in clauses(item.tag_input.customer_text)[: ll.MAX_CLAUSES]:
        keys |= clause_entity_keys(clause)
    firm, person = bool(keys & FIRM_KEYS), bool(keys & PERSON_KEYS)
    return {(True, True): "firm+person", (True, False): "firm", (False, True): "person"}.get((firm, person), "neither")


def count_misses(items: Sequence[tl.Item], decided: Sequence[set[str]], read: Sequence[str]) -> None:
    """Part 1: the shipped model's missed and wrong tags on the READ authors' chat copies and forwarded singles."""
    for scope, formats in (("chat copies", CHAT_FORMATS), ("forwarded singles", FORWARDED)):
        rows = [k for k, i in enumerate(items) if i.author in set(read) and i.sample["format"] in formats]
        missed: Counter[str] = Counter()
        wrong: Counter[str] = Counter()
        where: Counter[tuple[str, str]] = Counter()
        by_tag_names: Counter[tuple[str, str]] = Counter()
        exact = 0
        for k in rows:
            item = items[k]
            expected, got = item.expected_tags, decided[k]
            exact += expected == got
            named = names_of(item) if expected - got else ""
            for tag in expected - got:
                missed[tag] += 1
                keyword = "keyword" if tag in item.tag_input.keyword_tags or tag in item.tag_input.pattern_tags \
                    else "no keyword"
                where[(keyword, named)] += 1
                by_tag_names[(tag, named)] += 1
            for tag in got - expected:
                wrong[tag] += 1
        print(f"\nREAD authors, {scope}: {len(rows)} records, exact set {exact / max(1, len(rows)):.1%}; "
              f"missed {sum(missed.values())}, wrong {sum(wrong.values())}")
        print("  missed by tag: " + ", ".join(f"{t} {n}" for t, n in missed.most_common()))
        print("  wrong by tag: " + ", ".join(f"{t} {n}" for t, n in wrong.most_common()))
        print("  missed by (rules' keyword or construction, what the customer side names): "
              + ", ".join(f"{a}/{b} {n}" for (a, b), n in sorted(where.items())))
        for tag in ll.TAGS:
            cells = {b: n for (t, b), n in by_tag_names.items() if t == tag}
            if cells:
                print(f"    {tag}: " + ", ".join(f"{b} {n}" for b, n in sorted(cells.items())))
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, help="the pool's records (train_learned_layer --cache)")
    add_comparison_arguments(parser)
    parser.add_argument("--entities-oof", type=Path, help="... of the first stage with the entity keys")
    parser.add_argument("--cnn-oof", type=Path, help="keep (and reuse) the convolution's out-of-fold log-odds")
    parser.add_argument("--models", nargs="+", choices=("shipped", "entities"), default=["shipped", "entities"])
    parser.add_argument("--misses", action="store_true", help="print part 1's count on the READ authors first")
    args = parser.parse_args(argv[1:])
    start = time.perf_counter()
    items, first, base = load_pool(args.cache, args.oof)
    if args.speed:
        speed(items, args.speed, "entities")
    extra = None
    if not args.no_cnn:
        tl.CNN_OOF_CACHE = args.cnn_oof
        t = time.perf_counter()
        extra = tl.cnn_oof(items, tl.SHIPPED_CNN, base.folds, log=True)
        print(f"convolution out-of-fold in {time.perf_counter() - t:.0f} s", flush=True)
    ids = tuple(i.sample["id"] for i in items)
    sets = author_sets(items, args.read)
    read = sets.get("read", [])

    def fit(name: str) -> Matrix:
        first_stage = first
        if name == "entities":
            tl.OOF_CACHE = args.entities_oof
            t = time.perf_counter()
            first_stage = tl.first_stage_oof(items, dataclasses.replace(base, entities=True), base.folds)
            print(f"entities: linear out-of-fold first stage in {time.perf_counter() - t:.0f} s", flush=True)
        t = time.perf_counter()
        probs = second_stage(items, first_stage, extra, base.l2_stack, args.stack_groups)
        print(f"{name}: second stage by held-out author in {time.perf_counter() - t:.0f} s", flush=True)
        return probs

    probs: dict[str, Matrix] = {}
    for name in ["shipped", *[m for m in args.models if m != "shipped"]]:
        probs[name] = kept_second_stage(args.probs_dir, name, args, ids, lambda name=name: fit(name))
        if name == "shipped" and args.misses and read:
            count_misses(items, decide(probs[name], items), read)
    report(items, {name: decide(p, items) for name, p in probs.items()}, sets, FORWARDED_SCOPES)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
