"""Learned tag models against the calibrated rules layer: grouped k-fold CV over the training pool.

Usage: python benchmarks/train_tag_model.py [--folds 5] [--repeats 2]

Pool: the training pool of benchmarks/corpora.py (the sample corpus, corpus v2 dev and every held-out set
retired after its blind scoring). A held-out set that is still blind is never read here.
Folds are drawn over records, so every clause of a record (and every feature made from it) sits in one
fold; the exemplar bank of candidate E is built from the training folds only, and its training features
out-of-fold again, so no record ever meets its own clauses.

Candidates, each a per-tag logistic regression (numpy, Adam, standardised features):
  A  the shipped rules layer: keyword hit, construction hit, a future date is named (3 features)
  B  A + e5 similarity and margin of the best clause to the built-in exemplars (semantic_tags.py)
  C  A + mean e5 embedding of the message's clauses (384 dims, L2 on these only)
  D  A + hashed character 1–3-grams of the customer's non-negated clauses (2048 dims, L2 on these only)
  E  A + nearest-neighbour evidence: the best clause's similarity to the tagged training records' most
     tag-like clauses minus its similarity to any clause of an untagged training record (the team-learning
     mechanism, team_exemplars.py, applied to the whole pool)
A clause that declines or denies gives no semantic evidence for request-like tags (as in semantic_tags.py).
Scores are tag exact-set accuracy of the final record (the tagger's tags plus what the extractor adds
after it: 流失风险 for a lost deal), averaged over repeats; per-tag counts are summed over repeats.
It also times the embedding of one message's clauses (the cost a learned semantic model adds).
Nothing is written: no candidate beat A (tests/data/FINAL_TAGS.md); the shipped weights come from
benchmarks/calibrate_tags.py --write.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.calibrate_tags import TRAIN_FILES  # noqa: E402
from benchmarks.corpora import is_blind  # noqa: E402
from benchmarks.extraction_accuracy import load_samples  # noqa: E402
from bot.extract import extract  # noqa: E402
from bot.extract.model import TagInput  # noqa: E402
from bot.understanding import embedder  # noqa: E402
from bot.understanding.exemplars import EXEMPLARS, NEUTRAL  # noqa: E402
from bot.understanding.semantic_tags import (  # noqa: E402
    CUSTOMER_REQUEST_TAGS,
    NEGATIVE_BY_NATURE,
    eligible_clauses,
    negated,
    scaled,
    tag_features,
)

TAGS = list(EXEMPLARS)
NGRAM_DIM = 2048
Matrix = np.ndarray


@dataclass
class Record:
    expected: set[str]
    data: TagInput
    after_tagger: set[str]  # what extract() adds after the tagger (its output with an empty tagger)
    clauses: list[str]  # customer clauses first, then the rep's
    n_customer: int


def load_pool() -> list[Record]:
    assert not any(is_blind(p) for p in TRAIN_FILES)
    records = []
    for sample in (s for path in TRAIN_FILES for s in load_samples(path)):
        seen: list[TagInput] = []

        def capture(data: TagInput, seen: list[TagInput] = seen) -> tuple[str, ...]:
            seen.append(data)
            return ()

        result = extract(sample["text"], ref_time=datetime.fromisoformat(sample["ref_time"]), tagger=capture)
        data = seen[0]
        customer = eligible_clauses(data.customer_text)
        rep = [c for c in eligible_clauses(data.rep_text) if c not in customer]
        records.append(Record(set(sample["expect"]["tags"]), data, set(result.tags), customer + rep, len(customer)))
    return records


def usable(record: Record, tag: str) -> np.ndarray:
    """Which clauses may speak for the tag: no declined request, no rep-side request."""
    ok = np.array([tag in NEGATIVE_BY_NATURE or not negated(c) for c in record.clauses], dtype=bool)
    if tag in CUSTOMER_REQUEST_TAGS:
        ok[record.n_customer :] = False
    return ok


def char_ngrams(text: str) -> np.ndarray:
    vector = np.zeros(NGRAM_DIM, dtype=np.float32)
    for n in (1, 2, 3):
        for i in range(len(text) - n + 1):
            gram = text[i : i + n]
            if re.search(r"[\u4e00-\u9fffA-Za-z]", gram):
                vector[zlib.crc32(gram.encode()) % NGRAM_DIM] = 1.0
    return vector


def fit(x: Matrix, y: Matrix, penalty: Matrix, iters: int = 300) -> tuple[Matrix, Matrix, Matrix, float]:
    """L2-regularised logistic regression by Adam on standardised features (per-feature penalty)."""
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mu) / sd
    w, b = np.zeros(z.shape[1]), 0.0
    m, v, mb, vb = np.zeros_like(w), np.zeros_like(w), 0.0, 0.0
    for it in range(1, iters + 1):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w + b, -30, 30)))
        g = z.T @ (p - y) / len(y) + penalty * w / len(y)
        gb = float((p - y).mean())
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        mb, vb = 0.9 * mb + 0.1 * gb, 0.999 * vb + 0.001 * gb * gb
        w -= 0.05 * (m / (1 - 0.9**it)) / (np.sqrt(v / (1 - 0.999**it)) + 1e-8)
        b -= 0.05 * (mb / (1 - 0.9**it)) / (np.sqrt(vb / (1 - 0.999**it)) + 1e-8)
    return mu, sd, w, b


def predict(model: tuple[Matrix, Matrix, Matrix, float], x: Matrix) -> Matrix:
    mu, sd, w, b = model
    return 1.0 / (1.0 + np.exp(-np.clip(((x - mu) / sd) @ w + b, -30, 30)))


def folds(indices: Sequence[int], k: int, seed: int) -> list[list[int]]:
    order = list(indices)
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


class Pool:
    def __init__(self, records: list[Record]) -> None:
        self.records = records
        n = len(records)
        self.y = np.array([[t in r.expected for t in TAGS] for r in records], dtype=float)
        self.rules = np.stack([np.array([[t in r.data.keyword_tags, t in r.data.pattern_tags, r.data.has_future_date]
                                         for t in TAGS], dtype=float) for r in records])  # n, tags, 3
        self.vectors = [embedder.embed(r.clauses) if r.clauses else np.zeros((0, 384), np.float32) for r in records]
        feats = [tag_features(r.data) for r in records]
        self.semantic = np.array([[scaled(f[t])[:2] for t in TAGS] for f in feats])  # n, tags, 2
        self.mean = np.array([v.mean(0) if len(v) else np.zeros(384) for v in self.vectors])
        self.ngrams = np.array([char_ngrams("\n".join(c for c in r.clauses[: r.n_customer] if not negated(c)))
                                for r in records])
        bank = {t: embedder.embed(list(p)) for t, p in (*EXEMPLARS.items(), ("", NEUTRAL))}
        # per record and tag, the clause most like the tag (largest margin over the other tags and neutral talk)
        self.best: list[list[int | None]] = []
        for v in self.vectors:
            if not len(v):
                self.best.append([None] * len(TAGS))
                continue
            sims = {t: (v @ m.T).max(1) for t, m in bank.items()}
            self.best.append([int(np.argmax(sims[t] - np.max(np.vstack([sims[u] for u in sims if u != t]), 0)))
                              for t in TAGS])
        self.n = n

    def neighbours(self, train: Sequence[int], scored: Sequence[int]) -> Matrix:
        """Candidate E's (similarity, margin) per record and tag, from a bank of `train` records only."""
        out = np.tile(np.array([0.8, -0.1]), (self.n, len(TAGS), 1))
        for ti, tag in enumerate(TAGS):
            positive = [self.vectors[j][b] for j in train if self.y[j, ti] and (b := self.best[j][ti]) is not None]
            negative = [self.vectors[j] for j in train if not self.y[j, ti] and len(self.vectors[j])]
            if not positive or not negative:
                continue
            pos, neg = np.vstack(positive), np.vstack(negative)
            for j in scored:
                ok = usable(self.records[j], tag)
                if not ok.any():
                    continue
                v = self.vectors[j][ok]
                sp, sn = (v @ pos.T).max(1), (v @ neg.T).max(1)
                k = int(np.argmax(sp - sn))
                out[j, ti] = (sp[k], sp[k] - sn[k])
        out[..., 0] = (out[..., 0] - 0.85) * 10
        out[..., 1] *= 10
        return out


def cross_validate(pool: Pool, features: Callable[[int, Sequence[int], Sequence[int]], tuple[Matrix, Matrix]],
                   l2: float, k: int, repeats: int) -> tuple[float, np.ndarray]:
    scores, counts = [], np.zeros((len(TAGS), 3))
    for seed in range(repeats):
        predicted: list[set[str]] = [set() for _ in range(pool.n)]
        for fold in folds(range(pool.n), k, 100 + seed):
            held = set(fold)
            train = [j for j in range(pool.n) if j not in held]
            for ti, tag in enumerate(TAGS):
                x_train, x_test = features(ti, train, fold)
                penalty = np.full(x_train.shape[1], l2)
                penalty[:3] = 1.0  # the three rule features are barely shrunk
                model = fit(x_train, pool.y[train, ti], penalty)
                for j, p in zip(fold, predict(model, x_test), strict=True):
                    if p >= 0.5:
                        predicted[j].add(tag)
        final = [p | r.after_tagger for p, r in zip(predicted, pool.records, strict=True)]
        scores.append(float(np.mean([f == r.expected for f, r in zip(final, pool.records, strict=True)])))
        for ti, tag in enumerate(TAGS):
            for f, r in zip(final, pool.records, strict=True):
                counts[ti] += (tag in f and tag in r.expected, tag in f and tag not in r.expected,
                               tag in r.expected and tag not in f)
    return float(np.mean(scores)), counts


def candidates(pool: Pool, k: int) -> dict[str, Callable[[int, Sequence[int], Sequence[int]], tuple[Matrix, Matrix]]]:
    def stacked(extra: Callable[[int], Matrix]) -> Callable[[int, Sequence[int], Sequence[int]], tuple[Matrix, Matrix]]:
        def make(ti: int, train: Sequence[int], test: Sequence[int]) -> tuple[Matrix, Matrix]:
            x = np.hstack([pool.rules[:, ti], extra(ti)])
            return x[list(train)], x[list(test)]
        return make

    cache: dict[tuple[int, ...], tuple[Matrix, Matrix]] = {}

    def neighbours(ti: int, train: Sequence[int], test: Sequence[int]) -> tuple[Matrix, Matrix]:
        # training rows get features from banks that exclude them (inner folds), test rows from all of train
        key = tuple(test)
        if key not in cache:
            inner = np.zeros((pool.n, len(TAGS), 2))
            for sub in folds(train, k - 1, 7):
                rest = [j for j in train if j not in set(sub)]
                inner[sub] = pool.neighbours(rest, sub)[sub]
            cache[key] = (inner, pool.neighbours(train, test))
        inner, outer = cache[key]
        return (np.hstack([pool.rules[list(train), ti], inner[list(train), ti]]),
                np.hstack([pool.rules[list(test), ti], outer[list(test), ti]]))

    return {
        "A rules layer (keyword, construction, date)": stacked(lambda ti: np.zeros((pool.n, 0))),
        "B A + e5 similarity/margin to built-in exemplars": stacked(lambda ti: pool.semantic[:, ti]),
        "C A + mean e5 clause embedding": stacked(lambda ti: pool.mean),
        "D A + character 1-3-grams": stacked(lambda ti: pool.ngrams),
        "E A + nearest tagged training clauses (e5)": neighbours,
    }


def embedding_cost(records: list[Record]) -> tuple[float, float]:
    """p50/p99 ms to embed one message's clauses with a cold cache (what a semantic model adds)."""
    times = []
    for record in records:
        embedder._cache.clear()
        start = time.perf_counter()
        if record.clauses:
            embedder.embed(record.clauses)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv[1:])
    records = load_pool()
    pool = Pool(records)
    print(f"pool: {pool.n} records from {', '.join(p.name for p in TRAIN_FILES)}; "
          f"{args.folds}-fold CV grouped by record, {args.repeats} repeats\n")
    rules_alone = np.mean([(set(r.data.keyword_tags) | r.after_tagger) == r.expected for r in records])
    print(f"keyword rules alone (no calibration): {rules_alone:.1%}\n")
    print("| candidate | L2 on added features | CV tags exact-set |\n|---|---|---|")
    results: dict[str, Any] = {}
    for name, features in candidates(pool, args.folds).items():
        for l2 in ((1.0,) if name.startswith(("A", "B", "E")) else (30.0, 300.0)):
            score, counts = cross_validate(pool, features, l2, args.folds, args.repeats)
            results[f"{name} (L2 {l2:g})"] = counts
            print(f"| {name} | {l2:g} | {score:.1%} |", flush=True)
    for name, counts in results.items():
        print(f"\n{name}: per tag (summed over repeats)\n| tag | precision | recall |\n|---|---|---|")
        for ti, tag in enumerate(TAGS):
            tp, fp, fn = counts[ti]
            print(f"| {tag} | {tp / (tp + fp):.1%} | {tp / (tp + fn):.1%} |" if tp else f"| {tag} | — | — |")
    p50, p99 = embedding_cost(records)
    print(f"\nembedding one message's clauses (cold cache): p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
