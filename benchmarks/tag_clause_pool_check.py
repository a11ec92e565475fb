"""Does the one clause that says a tag, scored alone, rescue the tags the message-level sum outweighs? (issue #13,
round 18)

Usage: python benchmarks/tag_clause_pool_check.py --cache FILE --fits FILE [--read-offset 2] [--read-every 9]
       [--poolings max softmax] [--l2-stack 1.0]

Round 17's count (tag_clause_check.py) found that most far misses are "read, outweighed": a plain customer clause
alone carries >= 1 log-odds for the tag in the first stage, but the message's other features pull the sum down. The
lever (train_learned_layer.Config.clause_max, learned_layer.clause_logodds): per tag, the plain customer clauses'
first-stage scores pooled (max, or soft max, with a zero) as one more second-stage input, read only by its own tag
with a weight >= 0.

Measured without a retrain: the linear first stage of each author group (tag_clause_check.group_fits, `--fits`: the
same fits, kept) gives every record its out-of-fold probabilities and its pooled clause scores (the fit that never saw
its author group). The second stage is fitted per author group on the other groups' rows (without the convolution,
as tag_clause_check's count) and decides with learned_layer.learned_tags' rule. The baseline is the same second stage
without the new inputs. READ authors: the pool's authors sorted by name, every `--read-every`-th from
`--read-offset`; UNREAD: the others (the figure that counts). Printed per author set and format: exact-set accuracy
(mean over authors, and pooled), authors up / down, and per-tag F1.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import train_learned_layer as tl  # noqa: E402
from benchmarks.pickle_cache import cached  # noqa: E402
from benchmarks.tag_clause_check import FORMATS, group_fits  # noqa: E402
from benchmarks.tag_dialogue_check import author_sets, per_author  # noqa: E402
from benchmarks.tag_vectors_check import decide, score  # noqa: E402
from bot.understanding import learned_layer as ll  # noqa: E402

Matrix = np.ndarray


def read_authors(items: Sequence[tl.Item], offset: int, every: int) -> list[str]:
    """The authors whose misses may be read: sorted by name, every `every`-th from `offset`."""
    return sorted({i.author for i in items})[offset::every]


def clause_rows(items: Sequence[tl.Item], cfg: tl.Config, path: Path | None) -> list[list[Matrix]]:
    """Per record, the rows of tag_w each plain customer clause reads (learned_layer.clause_scores' keys, folded to
    the tag model's size, past the dense block): the text's part of the work, done once (kept in `path`) so the group
    fits only sum rows."""
    def build() -> list[list[Matrix]]:
        out = []
        for i in items:
            moved = ll.dialogue_texts(i.tag_input.turns) if cfg.dialogue and i.tag_input.turns else ("", "")
            rows = []
            for scope, clause in ll._scoped_clauses(i.tag_input.customer_text, i.tag_input.rep_text, *moved,
                                                    cfg.spoken):
                keys = ll._clause_keys(clause) if scope == 0 else set()
                if keys:
                    hashed = np.array(sorted({ll._hash(k) for k in keys}), dtype=np.int64)
                    rows.append(ll.N_TAG_DENSE + ll.fold(hashed, cfg.tag_bits))
            out.append(rows)
        return out
    return cached(path, build)


def pooled_oof(fits: Sequence[tl.TagFit], items: Sequence[tl.Item], group: dict[str, int], rows: list[list[Matrix]],
               poolings: Sequence[str]) -> dict[str, Matrix]:
    """Each record's pooled clause scores (per pooling) under its author group's first stage (fitted without that
    group): tl.clause_row's numbers (without entity keys, as shipped), from the rows of clause_rows."""
    tag_ws = [tl.first_stage_weights(f).tag_w for f in fits]
    out = {p: np.zeros((len(items), len(ll.TAGS))) for p in poolings}
    for k, i in enumerate(items):
        w = tag_ws[group[i.author]]
        scores = np.array([w[r].astype(np.float64).sum(axis=0) for r in rows[k]]).reshape(len(rows[k]), w.shape[1])
        for p in poolings:
            out[p][k] = ll.pool_clause_scores(scores, p)
    return out


def stacked(items: Sequence[tl.Item], first: Matrix, extra: Matrix | None, l2: float, folds: int) -> Matrix:
    """The second stage per author group, fitted on the other groups' out-of-fold rows (`extra`: the pooled clause
    scores, bounded as the trainer bounds them)."""
    group = tl.author_groups(items, folds)
    out = np.zeros((len(items), len(ll.TAGS)))
    for g in range(folds):
        fit = [k for k, i in enumerate(items) if group[i.author] != g]
        rows = [k for k, i in enumerate(items) if group[i.author] == g]
        stack = tl.fit_stack([items[k] for k in fit], first[fit], l2, mlp=None if extra is None else extra[fit],
                             clause=extra is not None)
        out[rows] = tl.stack_apply(stack, [items[k] for k in rows], first[rows],
                                   None if extra is None else extra[rows])
    return out


def f1(counts: Matrix) -> list[float]:
    return [2 * tp / max(1, 2 * tp + fp + fn) for tp, fp, fn in counts]


def report(items: Sequence[tl.Item], decisions: dict[str, list[set[str]]], sets: dict[str, list[str]]) -> None:
    base_name = next(iter(decisions))
    scopes: dict[str, frozenset[str] | None] = {"all formats": None, **{f: frozenset({f}) for f in FORMATS}}
    for key, authors in sets.items():
        for scope, formats in scopes.items():
            rows = [k for k, i in enumerate(items) if i.author in set(authors)
                    and (formats is None or i.sample["format"] in formats)]
            if not rows:
                continue
            acc = {n: per_author(items, d, authors, formats) for n, d in decisions.items()}
            print(f"\n{key} ({len(authors)} authors), {scope}, {len(rows)} records:")
            for name, d in decisions.items():
                pooled, counts = score([items[k] for k in rows], [d[k] for k in rows])
                line = f"  {name}: mean over authors {np.mean(list(acc[name].values())):.1%}, pooled {pooled:.1%}"
                if name != base_name:
                    diff = [acc[name][a] - acc[base_name][a] for a in acc[base_name]]
                    up, down = sum(x > 1e-9 for x in diff), sum(x < -1e-9 for x in diff)
                    line += f"; vs {base_name} {np.mean(diff) * 100:+.2f} points, up {up}, down {down}"
                print(line)
                if scope == "all formats":
                    print("    F1: " + ", ".join(f"{t} {v:.1%}" for t, v in zip(ll.TAGS, f1(counts), strict=True)))
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, help="the pool's records (train_learned_layer --cache)")
    parser.add_argument("--fits", type=Path, help="the per-group first-stage fits (tag_clause_check --fits)")
    parser.add_argument("--read-offset", type=int, default=2)
    parser.add_argument("--read-every", type=int, default=9)
    parser.add_argument("--poolings", nargs="*", choices=ll.CLAUSE_POOLINGS, default=list(ll.CLAUSE_POOLINGS))
    parser.add_argument("--l2-stack", type=float, default=1.0)
    parser.add_argument("--clauses", type=Path, help="keep (and reuse) each record's plain clauses' rows")
    parser.add_argument("--clauses-only", action="store_true", help="only compute --clauses (while the fits run)")
    args = parser.parse_args(argv[1:])
    items = cached(args.cache, tl.load_items)
    tl.check_features(items)
    cfg = tl.Config(l2_hash=30.0, folds=4, l2_tag_hash=4.0)  # the trainer's defaults (linear part), as shipped
    rows = clause_rows(items, cfg, args.clauses)
    if args.clauses_only:
        return 0
    fits, first = group_fits(items, cfg, args.fits)
    group = tl.author_groups(items, cfg.folds)
    read = read_authors(items, args.read_offset, args.read_every)
    print(f"READ ({len(read)}): {' '.join(read)}", flush=True)
    t = time.perf_counter()
    extras = pooled_oof(fits, items, group, rows, args.poolings)
    print(f"pooled clause scores in {time.perf_counter() - t:.0f} s", flush=True)
    probs = {"shipped": stacked(items, first, None, args.l2_stack, cfg.folds)}
    for pooling, extra in extras.items():
        print(f"{pooling}: share of records with a clause >= 1 log-odds per tag: "
              + ", ".join(f"{tag} {np.mean(extra[:, j] >= 1):.1%}" for j, tag in enumerate(ll.TAGS)), flush=True)
        probs[f"clause {pooling}"] = stacked(items, first, extra, args.l2_stack, cfg.folds)
    report(items, {name: decide(p, items) for name, p in probs.items()}, author_sets(items, read))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
