"""Does reading who answered whom (learned_layer.tag_text_indices, dialogue) help the tag model on authors it was not
trained on, on chat copies in particular? (issue #13, round 13)

Usage: python benchmarks/tag_dialogue_check.py --cache FILE [--oof FILE] [--dialogue-oof FILE] [--cnn-oof-dir DIR]
       [--read A1 A2 ...] [--no-cnn] [--models shipped dialogue] [--probs-dir DIR] [--speed N]

The scheme of tag_mlp_check.py / tag_cnn_check.py (their load_pool and by_author): every record's linear first stage
and convolution log-odds come from fits without its author group (4 groups of the sorted authors); for each of the 94
held-out authors the second stage is fitted on the other authors' out-of-fold rows and applied to that author
(`--stack-groups 4`: once per author group, fitted on the other groups' rows: 4 fits instead of 94). Two
models are compared, as shipped ("shipped") and with the answered rep turns read as the customer's ("dialogue": the
tag model's scopes and the convolution's clauses, train_learned_layer.Config.dialogue). The cache must hold the
turns (TagInput.turns, round 13): rebuild it with this code.

Printed per author set (`--read`: the authors whose misses were read; the rest: unread), for all records and for the
chat copies (wecom_copy, dingtalk_copy): exact-set accuracy (mean over authors), per-tag precision/recall, and how
many authors went up and down. `--probs-dir DIR` keeps each model's out-of-fold second-stage probabilities (reused by a
later run, e.g. `--models shipped` first while the other model's first stage is still being fitted). `--speed N`:
p50/p99 of understand_text over every N-th pool message with the shipped weights read as they are and with the
dialogue reading switched on (the same weights: the cost, not the decisions)."""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import train_learned_layer as tl  # noqa: E402
from benchmarks.tag_mlp_check import by_author, load_pool  # noqa: E402
from benchmarks.tag_vectors_check import decide, score  # noqa: E402
from bot.understanding import learned_layer as ll  # noqa: E402

Matrix = np.ndarray
CHAT_FORMATS = frozenset({"wecom_copy", "dingtalk_copy"})
# What report() scores per author set: every record, and the chat copies (round 13); round 14 adds the forwarded
# single messages (tag_entity_check.py).
FORMAT_SCOPES: dict[str, frozenset[str] | None] = {"all formats": None, "chat copies": CHAT_FORMATS}


# The forwarded single messages, and the scopes a forwarded-single measurement reports (tag_entity_check,
# tag_form_check).
FORWARDED = frozenset({"forwarded_single"})
FORWARDED_SCOPES: dict[str, frozenset[str] | None] = {**FORMAT_SCOPES, "forwarded singles": FORWARDED}


def second_stage(items: Sequence[tl.Item], first: Matrix, extra: Matrix | None, l2_stack: float, groups: int = 0,
                 form: bool = False, more: Matrix | None = None) -> Matrix:
    """Every record's second-stage probabilities, from a fit on the other authors (tag_mlp_check.by_author); with
    `groups`, on the other author groups (tl.author_groups: one fit per group instead of one per author). `form`:
    the stage also reads learned_layer.form_dense (round 16); `more`: further input columns, one row per item."""
    x = tl.stack_rows(items, first, extra, form)
    if more is not None:
        x = np.hstack([x, more])
    probs = np.zeros((len(items), len(ll.TAGS)))
    if groups:
        group = tl.author_groups(items, groups)
        items = [dataclasses.replace(i, author=f"group {group[i.author]}") for i in items]
    by_author(items, first, x, first, sorted({i.author for i in items}), l2_stack, probs)
    return probs


def in_scope(item: tl.Item, formats: frozenset[str] | None) -> bool:
    return formats is None or item.sample["format"] in formats


def kept_second_stage(probs_dir: Path | None, name: str, args: argparse.Namespace, ids: tuple[str, ...],
                      fit: Callable[[], Matrix]) -> Matrix:
    """A model's second-stage probabilities: read from `probs_dir` when kept there for these records, else `fit()`
    and kept (one file per model, convolution and stacking scheme)."""
    stem = f"{name}{'-nocnn' if args.no_cnn else ''}{f'-g{args.stack_groups}' if args.stack_groups else ''}"
    kept = None if probs_dir is None else probs_dir / f"{stem}.pkl"
    if kept is not None and kept.exists():
        key, value = pickle.loads(kept.read_bytes())  # noqa: S301 (a file this script wrote)
        if key == ids:
            return np.asarray(value)
    probs = fit()
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(pickle.dumps((ids, probs)))
    return probs


def author_sets(items: Sequence[tl.Item], read_names: Sequence[str]) -> dict[str, list[str]]:
    """The author sets report() scores: READ / UNREAD / all when some authors' misses were read, else all."""
    authors = sorted({i.author for i in items})
    read = [a for a in authors if a in set(read_names)]
    return {"read": read, "unread": [a for a in authors if a not in set(read)], "all": authors} if read \
        else {"all": authors}


def per_author(items: Sequence[tl.Item], decided: Sequence[set[str]], authors: Sequence[str],
               formats: frozenset[str] | None) -> dict[str, float]:
    """Exact-set accuracy per author (only its records of `formats`, None: all; authors without any are left out)."""
    out: dict[str, float] = {}
    for author in authors:
        rows = [k for k, i in enumerate(items) if i.author == author and in_scope(i, formats)]
        if rows:
            out[author] = score([items[k] for k in rows], [decided[k] for k in rows])[0]
    return out


def report(items: Sequence[tl.Item], decisions: dict[str, list[set[str]]], sets: dict[str, list[str]],
           scopes: dict[str, frozenset[str] | None] | None = None) -> None:
    base_name, *names = list(decisions)
    for key, authors in sets.items():
        for scope, formats in (scopes or FORMAT_SCOPES).items():
            rows = [k for k, i in enumerate(items) if i.author in set(authors) and in_scope(i, formats)]
            acc = {n: per_author(items, d, authors, formats) for n, d in decisions.items()}
            print(f"\n{key} ({len(authors)} authors), {scope}, {len(rows)} records:")
            for name, d in decisions.items():
                pooled, counts = score([items[k] for k in rows], [d[k] for k in rows])
                cells = []
                for j, t in enumerate(ll.TAGS):
                    tp, fp, fn = counts[j]
                    cells.append(f"{t} {tp / max(1, tp + fp):.1%}/{tp / max(1, tp + fn):.1%}")
                line = f"  {name}: mean over authors {np.mean(list(acc[name].values())):.1%}, pooled {pooled:.1%}"
                if name != base_name:
                    diff = [acc[name][a] - acc[base_name][a] for a in acc[base_name]]
                    up, down = sum(x > 1e-9 for x in diff), sum(x < -1e-9 for x in diff)
                    line += f"; vs {base_name} {np.mean(diff) * 100:+.2f} points, up {up}, down {down}, level " \
                            f"{len(diff) - up - down}"
                print(line)
                print(f"    per tag P/R: {', '.join(cells)}")
    sys.stdout.flush()


def speed(items: Sequence[tl.Item], every: int, flag: str = "dialogue") -> None:
    """p50/p99 of understand_text with the shipped weights read as they are and with `flag` (a reading of Weights:
    "dialogue", round 14 "entities") switched on: the reading's cost, not its decisions."""
    from bot.understanding.text import understand_text

    shipped = ll.shipped_weights()
    assert shipped is not None
    for on in (False, True, False, True):  # the first pass also warms the caches
        ll.SHIPPED._value = dataclasses.replace(shipped, **{flag: on})  # type: ignore[attr-defined]
        times = []
        for item in items[::every]:
            for cache in (ll._features, ll._scoped_clauses, ll._entity_indices, ll.dialogue_texts):
                cache.cache_clear()
            start = time.perf_counter()
            understand_text(item.sample["text"], sent_at=datetime.fromisoformat(item.sample["ref_time"]))
            times.append((time.perf_counter() - start) * 1000)
        print(f"understand_text, {flag}={on}: p50 {np.percentile(times, 50):.1f} ms, "
              f"p99 {np.percentile(times, 99):.1f} ms over {len(times)} messages", flush=True)
    ll.SHIPPED._value = shipped  # type: ignore[attr-defined]


def add_comparison_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every first-stage variant check shares (this tool, tag_entity_check.py)."""
    parser.add_argument("--oof", type=Path, help="reuse the linear first stage's out-of-fold output (as shipped)")
    parser.add_argument("--no-cnn", action="store_true", help="compare without the convolution (quicker)")
    parser.add_argument("--read", nargs="*", default=[], help="the authors whose misses were read")
    parser.add_argument("--probs-dir", type=Path, help="keep (and reuse) each model's second-stage probabilities")
    parser.add_argument("--stack-groups", type=int, default=0,
                        help="fit the second stage once per author group (the first stage's 4), not per author")
    parser.add_argument("--speed", type=int, default=0, help="time understand_text on every N-th message")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, help="the pool's records (train_learned_layer --cache), with turns")
    add_comparison_arguments(parser)
    parser.add_argument("--dialogue-oof", type=Path, help="... of the first stage with the dialogue reading")
    parser.add_argument("--cnn-oof-dir", type=Path, help="keep the convolutions' out-of-fold log-odds here")
    parser.add_argument("--models", nargs="+", choices=("shipped", "dialogue"), default=["shipped", "dialogue"])
    args = parser.parse_args(argv[1:])
    start = time.perf_counter()
    items, first, base = load_pool(args.cache, args.oof)
    if not any(i.tag_input.turns for i in items):
        raise SystemExit("the cache has no turns (TagInput.turns, round 13): rebuild it with this code")
    if args.speed:
        speed(items, args.speed)
    ids = tuple(i.sample["id"] for i in items)

    def fit(name: str) -> Matrix:
        dialogue = name == "dialogue"
        first_stage = first
        if dialogue:
            tl.OOF_CACHE = args.dialogue_oof
            t = time.perf_counter()
            first_stage = tl.first_stage_oof(items, dataclasses.replace(base, dialogue=True), base.folds)
            print(f"dialogue: linear out-of-fold first stage in {time.perf_counter() - t:.0f} s", flush=True)
        extra = None
        if not args.no_cnn:
            opts = dataclasses.replace(tl.SHIPPED_CNN, dialogue=dialogue)
            if args.cnn_oof_dir is not None:
                args.cnn_oof_dir.mkdir(parents=True, exist_ok=True)
                tl.CNN_OOF_CACHE = args.cnn_oof_dir / f"cnn-{name}.pkl"
            t = time.perf_counter()
            extra = tl.cnn_oof(items, opts, base.folds, log=True)
            print(f"{name}: convolution out-of-fold in {time.perf_counter() - t:.0f} s", flush=True)
        t = time.perf_counter()
        probs = second_stage(items, first_stage, extra, base.l2_stack, args.stack_groups)
        print(f"{name}: second stage by held-out author in {time.perf_counter() - t:.0f} s", flush=True)
        return probs

    probs = {name: kept_second_stage(args.probs_dir, name, args, ids, lambda name=name: fit(name))
             for name in args.models}
    sets = author_sets(items, args.read)
    report(items, {name: decide(p, items) for name, p in probs.items()}, sets)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
