"""Which clause carries the evidence of a tag the layer misses far below the threshold, and is it read at all? (issue
#13, round 17)

Usage: python benchmarks/tag_clause_check.py --cache FILE [--oof FILE] --read A1 A2 ... [--fits FILE]
       [--strong 1.0] [--examples N]

The linear first stage is fitted once per author group (train_learned_layer.author_groups, the trainer's 4 groups)
and its weights are kept (`--fits`), so every record is read by a model that never saw its author. The second stage is
fitted per author group on the other groups' out-of-fold rows (tag_dialogue_check.second_stage, without the
convolution). A missed tag (expected, not decided) is "far" when its second-stage probability is below 0.25. For each
far miss, every clause of the record is scored by the first stage's weights for the tag: the sum of the weights of the
clause's hashed keys in the scope the layer gave it ("as read"), and in the customer's plain scope ("if plain"), so the
count can tell where the evidence is:

- "negated scope": a clause the layer read as the customer's negated clause would raise the tag by at least
  `--strong` log-odds if it were plain (and no plain customer clause does);
- "rep's side": the same for a clause on the rep's side (a chat turn of another speaker);
- "long clause": the clause that would carry the most evidence is longer than the convolution reads
  (learned_layer.CNN_MAX_CHARS) or the customer side is one clause (text without pauses or punctuation);
- "read, outweighed": a plain customer clause raises the tag by at least `--strong` but the message's other
  features pull it down;
- "read, near zero": no clause, in any scope, carries `--strong` log-odds of evidence (the words are not known).

Counted mechanically over every author, by format, tag and cause (no text printed); `--examples N` prints up to N far
misses of the READ authors only (their clauses and scores), for reading by hand.

`--spoken` (part 3): clauses of speech (learned_layer.spoken_clauses) read by the same group fits ("read as speech":
no refit), and with `--spoken-fits FILE` also by group fits trained with them (train_learned_layer.Config.spoken:
4 more fits); each reading's second stage (per author group, on its own out-of-fold rows, without the convolution) is
scored by tag_dialogue_check.report over READ / UNREAD / all authors, for all records, voice memos, chat copies and
forwarded singles. Then a robustness check: every voice memo with the pauses removed (the spaces between Han
characters, as an ASR that emits neither punctuation nor pauses would give), read by each group's fits (the rules'
evidence kept as for the original text, so only the layer's reading changes), each reading with its second stage.
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
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
from benchmarks.pickle_cache import cached  # noqa: E402
from benchmarks.tag_dialogue_check import (  # noqa: E402
    CHAT_FORMATS,
    FORWARDED,
    author_sets,
    report,
    second_stage,
)
from benchmarks.tag_vectors_check import decide  # noqa: E402
from bot.extract.textnorm import clauses  # noqa: E402
from bot.understanding import learned_layer as ll  # noqa: E402

Matrix = np.ndarray
FAR = 0.25  # a missed tag whose probability is below this: no evidence the model sees
CAUSES = ("negated scope", "rep's side", "long clause", "read, outweighed", "read, near zero")
FORMATS = ("voice_memo_text", "wecom_copy", "dingtalk_copy", "forwarded_single", "plain_note")


def group_fits(items: Sequence[tl.Item], cfg: tl.Config, path: Path | None) -> tuple[list[tl.TagFit], Matrix]:
    """The linear first stage per author group (fitted without it) and every record's out-of-fold probabilities."""
    def build() -> tuple[list[tl.TagFit], Matrix]:
        group = tl.author_groups(items, cfg.folds)
        fits = []
        for g in range(cfg.folds):
            t = time.perf_counter()
            fits.append(tl.fit_tags([i for i in items if group[i.author] != g], cfg))
            print(f"  group {g} fitted in {time.perf_counter() - t:.0f} s", flush=True)
        return fits, first_probs(fits, items, group, cfg.spoken)
    return cached(path, build)


def clause_scores(fit: tl.TagFit, item: tl.Item, tag: int) -> list[tuple[int, str, float, float]]:
    """Each clause of the record as the layer reads it: (scope, clause, evidence as read, evidence if plain)."""
    bits = fit.cfg.tag_bits if fit.cfg is not None else ll.TAG_HASH_BITS
    size = 1 << ll.FEATURE_BITS
    out = []
    for scope, clause in ll._scoped_clauses(item.tag_input.customer_text, item.tag_input.rep_text):
        hashes = np.array(sorted({ll._hash(k) for k in ll._clause_keys(clause)}), dtype=np.int64)
        if not len(hashes):
            continue
        as_read = ll.fold(scope * size + hashes, bits) + ll.N_TAG_DENSE
        plain = ll.fold(hashes, bits) + ll.N_TAG_DENSE
        out.append((scope, clause, float(fit.w[as_read, tag].sum()), float(fit.w[plain, tag].sum())))
    return out


def cause(scores: Sequence[tuple[int, str, float, float]], strong: float) -> str:
    plain = [s for s in scores if s[0] == 0]
    if plain and max(s[2] for s in plain) >= strong:
        return "read, outweighed"
    elsewhere = [s for s in scores if s[0] != 0 and s[3] >= strong]
    best = max(scores, key=lambda s: s[3], default=None)
    if best is not None and best[3] >= strong and (len(best[1].strip()) > ll.CNN_MAX_CHARS or len(plain) == 1
                                                   and best[0] == 0):
        return "long clause"
    if any(s[0] == 1 for s in elsewhere):
        return "negated scope"
    if any(s[0] >= 2 for s in elsewhere):
        return "rep's side"
    return "read, near zero"


VOICE = frozenset({"voice_memo_text"})
SCOPES: dict[str, frozenset[str] | None] = {"all formats": None, "voice memos": VOICE, "chat copies": CHAT_FORMATS,
                                            "forwarded singles": FORWARDED}
_PAUSE = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


def first_probs(fits: Sequence[tl.TagFit], items: Sequence[tl.Item], group: dict[str, int], spoken: bool
                ) -> Matrix:
    """Each record's first-stage probabilities from its group's fit, the text read with or without `spoken`."""
    ws = [dataclasses.replace(tl.first_stage_weights(f), spoken=spoken) for f in fits]
    return np.array([ll.first_stage_probabilities(ws[group[i.author]], i.tag_input, i.rule_tags) for i in items])


def without_pauses(items: Sequence[tl.Item]) -> list[tl.Item]:
    """The voice memos with the spaces between Han characters removed from the text the layer reads."""
    return [dataclasses.replace(i, tag_input=dataclasses.replace(
        i.tag_input, customer_text=_PAUSE.sub("", i.tag_input.customer_text))) for i in items
        if i.sample["format"] in VOICE]


def stacked_on(items: Sequence[tl.Item], first: Matrix, held: Sequence[tl.Item], held_first: Matrix, l2: float,
               folds: int) -> Matrix:
    """The second stage fitted per author group on `items`' out-of-fold rows, applied to `held` (records of the
    held-out group)."""
    group = tl.author_groups(items, folds)
    out = np.zeros((len(held), len(ll.TAGS)))
    for g in range(folds):
        fit = [k for k, i in enumerate(items) if group[i.author] != g]
        rows = [k for k, i in enumerate(held) if group[i.author] == g]
        if rows:
            stack = tl.fit_stack([items[k] for k in fit], first[fit], l2)
            out[rows] = tl.stack_apply(stack, [held[k] for k in rows], held_first[rows])
    return out


def compare_spoken(items: Sequence[tl.Item], reads: dict[str, tuple[Sequence[tl.TagFit], Matrix, bool]],
                   cfg: tl.Config, read: Sequence[str]) -> None:
    """Part 3: each reading (name: its group fits, its out-of-fold first stage, whether it reads clauses of speech)
    scored with its own second stage; then on the voice memos without pauses."""
    t = time.perf_counter()
    probs = {name: second_stage(items, oof, None, cfg.l2_stack, cfg.folds) for name, (_, oof, _) in reads.items()}
    sets = author_sets(items, read)
    print(f"\npart 3: second stages in {time.perf_counter() - t:.0f} s", flush=True)
    report(items, {name: decide(p, items) for name, p in probs.items()}, sets, SCOPES)
    group = tl.author_groups(items, cfg.folds)
    memos = without_pauses(items)
    print(f"\nvoice memos without pauses: {len(memos)} records, mean clauses "
          f"{np.mean([len(clauses(i.tag_input.customer_text)) for i in memos]):.1f} (read as written) / "
          f"{np.mean([len(ll.spoken_clauses(i.tag_input.customer_text)) for i in memos]):.1f} (clauses of speech)")
    decided = {name: decide(stacked_on(items, oof, memos, first_probs(f, memos, group, spoken), cfg.l2_stack,
                                       cfg.folds), memos) for name, (f, oof, spoken) in reads.items()}
    report(memos, decided, author_sets(memos, read), {"voice memos without pauses": None})


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, help="the pool's records (train_learned_layer --cache)")
    parser.add_argument("--fits", type=Path, help="keep (and reuse) the per-group first-stage fits")
    parser.add_argument("--oof", type=Path, help="also write the first stage's out-of-fold output for --oof users")
    parser.add_argument("--read", nargs="*", default=[])
    parser.add_argument("--strong", type=float, default=1.0, help="log-odds a clause must add to count as evidence")
    parser.add_argument("--examples", type=int, default=0, help="print this many READ far misses")
    parser.add_argument("--spoken", action="store_true", help="part 3: clauses of speech, read by the same fits")
    parser.add_argument("--spoken-fits", type=Path, help="... and by group fits trained with them (kept here)")
    parser.add_argument("--no-count", action="store_true", help="skip the count (parts 1-2)")
    args = parser.parse_args(argv[1:])
    items = cached(args.cache, tl.load_items)
    tl.check_features(items)
    cfg = tl.Config(l2_hash=30.0, folds=4, l2_tag_hash=4.0)  # the trainer's defaults (linear part)
    fits, first = group_fits(items, cfg, args.fits)
    if args.oof is not None and not args.oof.exists():
        args.oof.write_bytes(pickle.dumps((tl.oof_key(items, cfg, cfg.folds), first)))
    read = set(args.read)
    if args.spoken:
        group = tl.author_groups(items, cfg.folds)
        reads = {"shipped": (fits, first, False), "read as speech": (fits, first_probs(fits, items, group, True), True)}
        if args.spoken_fits is not None:
            spoken_fits, spoken_first = group_fits(items, dataclasses.replace(cfg, spoken=True), args.spoken_fits)
            reads["trained on speech"] = (spoken_fits, spoken_first, True)
        compare_spoken(items, reads, cfg, sorted(read))
    if args.no_count:
        return 0
    probs = second_stage(items, first, None, cfg.l2_stack, cfg.folds)
    decided = decide(probs, items)
    group = tl.author_groups(items, cfg.folds)
    print(f"READ ({len(read)}): {' '.join(sorted(read))}")
    counts: dict[str, Counter[tuple[str, str, str]]] = {"read": Counter(), "unread": Counter()}
    near: dict[str, Counter[tuple[str, str]]] = {"read": Counter(), "unread": Counter()}
    shown = 0
    for k, item in enumerate(items):
        side = "read" if item.author in read else "unread"
        for j, tag in enumerate(ll.TAGS):
            if tag not in item.expected_tags or tag in decided[k]:
                continue
            fmt = item.sample["format"]
            if probs[k, j] >= FAR:
                near[side][(fmt, tag)] += 1
                continue
            scores = clause_scores(fits[group[item.author]], item, j)
            why = cause(scores, args.strong)
            counts[side][(fmt, tag, why)] += 1
            if side == "read" and shown < args.examples:
                shown += 1
                print(f"\n[{item.sample['id']} {fmt}] missed {tag} p={probs[k, j]:.2f}: {why}")
                for scope, clause, as_read, if_plain in scores:
                    print(f"  {ll.SCOPES[scope]:>2} {as_read:+.2f} ({if_plain:+.2f}) {clause.strip()[:60]}")
    for side in ("read", "unread"):
        c = counts[side]
        total = sum(c.values())
        print(f"\n{side.upper()}: far misses {total}, near misses {sum(near[side].values())}")
        print("  by cause: " + ", ".join(f"{w} {sum(v for (_, _, x), v in c.items() if x == w)}" for w in CAUSES))
        for fmt in FORMATS:
            row = {w: sum(v for (f, _, x), v in c.items() if f == fmt and x == w) for w in CAUSES}
            nr = sum(v for (f, _), v in near[side].items() if f == fmt)
            print(f"  {fmt}: far {sum(row.values())} (near {nr}): " + ", ".join(f"{w} {n}" for w, n in row.items()))
        for tag in ll.TAGS:
            row = {w: sum(v for (_, t, x), v in c.items() if t == tag and x == w) for w in CAUSES}
            nr = sum(v for (_, t), v in near[side].items() if t == tag)
            print(f"  {tag}: far {sum(row.values())} (near {nr}): " + ", ".join(f"{w} {n}" for w, n in row.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
