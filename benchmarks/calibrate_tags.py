"""Fit the semantic tagger's per-tag logistic layer on the dev corpus, reporting k-fold CV numbers.

Usage: python benchmarks/calibrate_tags.py [--write] [--folds 5] [--rules-only] [--by-corpus]
Trains on the training pool of benchmarks/corpora.py (the sample corpus, corpus v2 dev and every
held-out set retired after its blind scoring); never on a held-out set that is still blind.
Prints, for the keyword rules alone and for the calibrated layer, the cross-validated tag exact-set
accuracy and per-tag precision/recall (each record scored by a model that did not see it). With
--write, the weights fitted on the whole pool go to bot/understanding/tag_calibration.json.

--by-corpus is leave-one-corpus-out: for each file of the pool, the layer is fitted on the other files
and scored on that one. Each file was written by a different author, so this is the honest estimate of
what a new author's text gets (k-fold CV mixes every author into every fold). Scores there are the
final record's tags: the layer's choice plus what extract() adds after the tagger (流失风险 for a deal
lost to a competitor), as the product shows them.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.corpora import TRAINING_POOL  # noqa: E402
from benchmarks.extraction_accuracy import load_samples  # noqa: E402
from bot.extract import extract  # noqa: E402
from bot.extract.model import TagInput  # noqa: E402
from bot.understanding.exemplars import EXEMPLARS  # noqa: E402
from bot.understanding.semantic_tags import (  # noqa: E402
    CALIBRATION_FILE,
    FEATURES,
    rule_features,
    scaled,
    tag_features,
)

# Corpus v3 (95 records) joined the training pool once its one blind scoring was done (FINAL.md there).
TRAIN_FILES = TRAINING_POOL  # benchmarks/corpora.py: the sample corpus, v2 dev and every retired held-out set
L2 = 0.05
THRESHOLD = 0.5


def features_of(
    sample: dict[str, Any], *, embed: bool = True
) -> tuple[dict[str, tuple[float, ...]], tuple[str, ...], set[str]]:
    """The layer's features per tag, the keyword rules' tags, and the tags extract() adds after the
    tagger. Without `embed` the similarity features keep their no-evidence values (no model call)."""
    seen: list[TagInput] = []

    def capture(data: TagInput) -> tuple[str, ...]:
        seen.append(data)
        return ()

    after = extract(sample["text"], ref_time=datetime.fromisoformat(sample["ref_time"]), tagger=capture).tags
    features = tag_features(seen[0]) if embed else rule_features(seen[0], list(EXEMPLARS))
    return features, seen[0].keyword_tags, set(after)


def fit_logistic(x: np.ndarray, y: np.ndarray, iters: int = 300) -> np.ndarray:
    """Like _fit_once, but evidence may only count for a tag, never against it: a feature whose
    weight comes out negative (collinear similarity and margin do that) is dropped and the rest refit,
    so that a clause unlike the tag can never push it over the threshold."""
    active = np.ones(x.shape[1], dtype=bool)
    while True:
        w = _fit_once(x * active, y, iters)
        negative = (w[:-1] < 0) & active
        if not negative.any():
            return w
        active &= ~negative


def _fit_once(x: np.ndarray, y: np.ndarray, iters: int) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (a handful of features, no library)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = L2 * np.eye(len(w))
    reg[-1, -1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb.T * (p * (1 - p))) @ xb + reg + 1e-6 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    xb = np.hstack([x, np.ones((len(x), 1))])
    return 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))


def report(name: str, predicted: list[set[str]], expected: list[set[str]]) -> None:
    exact = sum(p == e for p, e in zip(predicted, expected, strict=True)) / len(expected)
    print(f"\n{name}: tags exact-set {exact:.1%} over {len(expected)} records")
    print("| tag | precision | recall |\n|---|---|---|")
    for tag in EXEMPLARS:
        tp = sum(tag in p and tag in e for p, e in zip(predicted, expected, strict=True))
        fp = sum(tag in p and tag not in e for p, e in zip(predicted, expected, strict=True))
        fn = sum(tag not in p and tag in e for p, e in zip(predicted, expected, strict=True))
        prec = f"{tp / (tp + fp):.1%}" if tp + fp else "—"
        rec = f"{tp / (tp + fn):.1%}" if tp + fn else "—"
        print(f"| {tag} | {prec} | {rec} |")


def by_corpus(files: list[Path], rows_by_file: list[list[Any]], expected_by_file: list[list[set[str]]],
              mask: np.ndarray) -> None:
    """Leave one corpus out: fit on the other files, score the one left out (final tags)."""
    tags = list(EXEMPLARS)
    print("\n## leave-one-corpus-out (fit on the other files, score this one)\n")
    print("| left out | records | keyword rules alone | calibrated layer |\n|---|---|---|---|")
    all_predicted: list[set[str]] = []
    all_expected: list[set[str]] = []
    for k, path in enumerate(files):
        train_rows = [r for j, rows in enumerate(rows_by_file) if j != k for r in rows]
        train_expected = [e for j, exp in enumerate(expected_by_file) if j != k for e in exp]
        predicted: list[set[str]] = [set(after) for _, _, after in rows_by_file[k]]
        for t in tags:
            x = np.array([scaled(f[t]) for f, _, _ in train_rows]) * mask
            y = np.array([float(t in e) for e in train_expected])
            w = fit_logistic(x, y)
            p = predict(w, np.array([scaled(f[t]) for f, _, _ in rows_by_file[k]]) * mask)
            for i, prob in enumerate(p):
                if prob >= THRESHOLD:
                    predicted[i].add(t)
        expected = expected_by_file[k]
        keyword = [set(kw) | after for _, kw, after in rows_by_file[k]]
        n = len(expected)
        exact = sum(p == e for p, e in zip(predicted, expected, strict=True)) / n
        kw_exact = sum(p == e for p, e in zip(keyword, expected, strict=True)) / n
        print(f"| {path.relative_to(ROOT)} | {n} | {kw_exact:.1%} | **{exact:.1%}** |")
        all_predicted += predicted
        all_expected += expected
    report("leave-one-corpus-out, all files together", all_predicted, all_expected)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--rules-only", action="store_true",
                        help="measure the layer without the embedding features (sim, margin), for comparison")
    parser.add_argument("--by-corpus", action="store_true",
                        help="leave-one-corpus-out: fit on all pool files but one, score that one")
    args = parser.parse_args(argv[1:])
    embed = not args.rules_only
    mask = np.array([0.0, 0.0, 1.0, 1.0, 1.0]) if args.rules_only else np.ones(len(FEATURES))
    if args.by_corpus:
        files = list(TRAIN_FILES)
        per_file = [load_samples(path) for path in files]
        rows_by_file = [[features_of(s, embed=embed) for s in samples] for samples in per_file]
        expected_by_file = [[set(s["expect"]["tags"]) for s in samples] for samples in per_file]
        by_corpus(files, rows_by_file, expected_by_file, mask)
        return 0
    samples = [s for path in TRAIN_FILES for s in load_samples(path)]
    rows = [features_of(s, embed=embed) for s in samples]
    expected = [set(s["expect"]["tags"]) for s in samples]
    tags = list(EXEMPLARS)
    x = {t: np.array([scaled(f[t]) for f, _, _ in rows]) * mask for t in tags}
    y = {t: np.array([float(t in e) for e in expected]) for t in tags}
    order = list(range(len(samples)))
    random.Random(13).shuffle(order)
    folds = [order[i :: args.folds] for i in range(args.folds)]
    predicted: list[set[str]] = [set() for _ in samples]
    for fold in folds:
        held = set(fold)
        train = [i for i in order if i not in held]
        for t in tags:
            w = fit_logistic(x[t][train], y[t][train])
            p = predict(w, x[t][fold])
            for i, prob in zip(fold, p, strict=True):
                if prob >= THRESHOLD:
                    predicted[i].add(t)
    report("keyword rules alone", [set(k) for _, k, _ in rows], expected)
    report(f"calibrated layer, {args.folds}-fold cross-validation", predicted, expected)
    weights = {t: [round(float(v), 4) for v in fit_logistic(x[t], y[t])] for t in tags}
    rules_mask = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    rules_weights = {t: [round(float(v), 4) for v in fit_logistic(x[t] * rules_mask, y[t])] for t in tags}
    print("\nweights fitted on all training records (features:", ", ".join(FEATURES), "+ bias):")
    for t, w in weights.items():
        print(f"  {t}: {w}")
    if args.write and args.rules_only:
        print("not written: --rules-only is a comparison run")
    elif args.write:
        CALIBRATION_FILE.write_text(json.dumps({"features": list(FEATURES), "threshold": THRESHOLD,
                                                "trained_on": [str(p.relative_to(ROOT)) for p in TRAIN_FILES],
                                                "weights": weights,
                                                "weights_rules_only": rules_weights},
                                               ensure_ascii=False, indent=1) + "\n", "utf-8")
        print(f"wrote {CALIBRATION_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
