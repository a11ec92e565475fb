"""Train and measure the learned tag and stage layer by leave-one-author-out (issue #13, round 5).

Usage: python benchmarks/train_learned_layer.py [--write] [--l2 10 ...] [--pool 30] [--inner] [--no-text] [--no-loao]
       [--cache FILE] [--speed]

Pool: benchmarks/corpora.py TRAINING_POOL only (never a blind file), grouped by author: the sample corpus,
corpus v2 (dev + held-out), v3, v4, v5 (authors A, B) and each corpus_v6 / corpus_v8 file. For every author:
train on the others, then score the held-out author's records with the full extractor (extract() with the
learned tagger and stager), against the rules layer on the same records. Decision thresholds are 0.5 per tag
and the stage model overrides the rules whenever it finds another stage more probable; `--inner` instead chooses per-tag
thresholds and the stage override margin by an inner leave-one-author-out over the training authors.

The rules were written after reading the misses of the sample corpus, v2 and v3 (and v4's at first look), so
their LOAO on those authors is in-sample for the rules; the corpus_v6 authors are ones the rules never saw.

`--write` fits on the whole pool (L2 = the first --l2 value) and writes bot/understanding/learned_layer.npz.
Deterministic: full-batch Adam from zero weights, no random sampling; crc32 feature hashing.

Round 6: the tag model can have a clause-level part (`--pool L2`; off by default): each plain customer-side
clause is scored by its own weight table and a message reads the log-sum-exp of those scores, so a long memo's
tags each come from their own clause (learned_layer.pool_scores). By LOAO it was no better than the message-level
model alone (tests/data/FINAL_TAGS.md, "Learned layer, round 6"), so the shipped weights have no such part.
`--authors A B` holds out only those authors (a quicker look at a candidate).

Round 7: `--folds K` (default 4, what ships) adds a second stage to the tag model, fitted on out-of-fold
probabilities: the training authors are dealt into K groups, the first stage is fitted K times without one group,
and its probabilities on that group's records train a small per-tag logistic regression over all ten tags' log-odds
and the rules' evidence (learned_layer.stack_features), within sign bounds that keep the first stage's negation and
rep-offer guarantees (learned_layer.stack_sign_bounds). `--stack-thresholds` also chooses per-tag thresholds on the
second stage's own out-of-fold output (off: not measured to help in time, tests/data/FINAL_TAGS.md).
In the leave-one-author-out report the K group fits are made once over the whole pool and
shared by every held-out author (`--nested` refits them without the held-out author: strictly nested, K times
the cost): the held-out author's labels never choose its second stage or thresholds, but with shared folds its
records did train the first-stage fits that scored the other authors.

Round 8: the tag model hashes into 2^16 rows per scope (`--tag-bits`, default learned_layer.TAG_HASH_BITS; 14 is the
round-7 model) with L2 4 on them (`--l2-tags`; the stage model keeps `--l2`, 30); the stage model stays at
2^14; records carry their features hashed once at learned_layer.FEATURE_BITS
and each model folds them to its size (learned_layer.fold). A `--cache` written before round 8 holds 2^14 features:
delete it. Per-tag thresholds and set decoders were measured not to help (tests/data/FINAL_TAGS.md, round 8).

Round 9, stage head: in production it reads the LEARNED tag head's tags (and the rules' stage computed from them),
but it is fitted on the rules' tags. cross_fitted_stage_inputs rebuilds each record's StageInput with extract() and
cross-fitted learned tags (the tag head's out-of-fold first stage, the same author-group folds as the second stage,
a second stage fitted without the record's group, the usual thresholds), so benchmarks/stage_loao.py can score the
stage head as it serves (`--score-tags learned`) and fit it on those inputs (`--train-tags learned`). Fitting on
them was measured NOT to help (tests/data/FINAL_FIELDS.md, "Stage, round 9"): the shipped head still fits on the
rules' tags.

Round 9: `--vectors mean|mean+max` adds a dense block to the tag model: the static word vectors
(bot/understanding/word_vectors.npz, benchmarks/distill_word_vectors.py) of the plain customer-side clauses' words,
pooled per message (learned_layer.vector_features), with its own L2 (`--l2-vec`). Off by default: see
tests/data/FINAL_TAGS.md, "Learned layer, round 9", for what it measured. benchmarks/tag_vectors_check.py compares
it with the shipped model on author subsets.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.corpora import TRAINING_POOL, is_trainable  # noqa: E402
from benchmarks.extraction_accuracy import load_samples  # noqa: E402
from benchmarks.pickle_cache import cached  # noqa: E402
from bot.extract import extract  # noqa: E402
from bot.extract.model import StageInput, TagInput  # noqa: E402
from bot.understanding import learned_layer as ll  # noqa: E402
from bot.understanding import word_vectors as wv  # noqa: E402
from bot.understanding.text import make_tagger  # noqa: E402
from store.stages import Stage  # noqa: E402

Matrix = np.ndarray
THRESHOLD_GRID = np.round(np.arange(0.2, 0.81, 0.05), 2)
MARGIN_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 1.1)  # 1.1: never override the rules


# A record id of a corpus written by two authors across both splits (corpus v5, v7, …): "v23A-017".
TWO_AUTHOR_ID = re.compile(r"v\d+[A-Z]-")


def author_of(path: Path, record_id: str = "") -> str:
    parent = path.parent.name
    if parent in ("corpus_v6", "corpus_v8", "corpus_v13", "corpus_v17", "corpus_v21"):
        return path.stem  # v6C, v6D, …, v8A, …, v13A, …, v17A, …, v21A, …: one author per file
    if TWO_AUTHOR_ID.match(record_id):
        return record_id.split("-", 1)[0]  # v5A, v5B, …, v23A, v23B: two authors across both splits
    return {"corpus_v2": "v2", "corpus_v3": "v3", "corpus_v4": "v4"}.get(parent, "sample")


def repo_path(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


@dataclass
class Item:
    sample: dict[str, Any]
    author: str
    tag_input: TagInput
    rule_tags: tuple[str, ...]  # the rules layer's tagger output
    stage_input: StageInput
    rules_final_tags: set[str]
    rules_stage: Stage | None
    hashed: np.ndarray

    @property
    def expected_tags(self) -> set[str]:
        return set(self.sample["expect"]["tags"])

    @property
    def expected_stage(self) -> Stage | None:
        value = self.sample["expect"]["stage_hint"]
        return Stage(value) if value else None


def load_items() -> list[Item]:
    assert all(is_trainable(p) for p in TRAINING_POOL)
    rules_tagger = make_tagger(learned=False)
    items = []
    for path in TRAINING_POOL:
        for sample in load_samples(path):
            seen: dict[str, Any] = {}

            def tagger(data: TagInput, seen: dict[str, Any] = seen) -> tuple[str, ...]:
                seen["tag"], seen["rule_tags"] = data, rules_tagger(data)
                return tuple(seen["rule_tags"])

            def stager(data: StageInput, seen: dict[str, Any] = seen) -> Stage | None:
                seen["stage"] = data
                return data.rule_stage

            result = extract(sample["text"], ref_time=datetime.fromisoformat(sample["ref_time"]),
                             tagger=tagger, stager=stager)
            data = seen["tag"]
            items.append(Item(sample, author_of(path, sample["id"]), data, seen["rule_tags"], seen["stage"],
                              set(result.tags), result.stage_hint, ll.text_indices(data.customer_text, data.rep_text)))
    return items


def check_features(items: Sequence[Item], sample: int = 20) -> None:
    """A --cache written by other code (before round 8 its features were hashed at 2^14) would be folded into
    nonsense without an error: recompute a few records' features and refuse a stale cache."""
    for item in items[:: max(1, len(items) // sample)]:
        if not np.array_equal(item.hashed, ll.text_indices(item.tag_input.customer_text, item.tag_input.rep_text)):
            raise SystemExit("the --cache file's features differ from this code's (stale cache): delete it")


# ---------------------------------------------------------------- sparse logistic / softmax regression


@dataclass
class Pooled:
    """The plain customer clauses of every message: their hashed indices and which message each is from."""

    indptr: Matrix
    indices: Matrix
    message: Matrix  # (clauses,) message row of each clause
    by_message: Matrix  # (messages + 1,) clause offsets of each message (clauses are in message order)


@dataclass
class Design:
    dense: Matrix  # (n, d)
    indptr: Matrix
    indices: Matrix  # hashed indices, concatenated
    pooled: Pooled | None = None


def _ragged(arrays: Sequence[np.ndarray]) -> tuple[Matrix, Matrix]:
    lengths = np.array([len(h) for h in arrays], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    indices = np.concatenate(arrays).astype(np.int64) if len(arrays) else np.zeros(0, np.int64)
    return indptr, indices


def design(dense_rows: Sequence[Sequence[float]], hashed: Sequence[np.ndarray],
           pooled: Sequence[Sequence[np.ndarray]] | None = None) -> Design:
    indptr, indices = _ragged(hashed)
    pool = None
    if pooled is not None:
        flat = [c for clauses in pooled for c in clauses]
        message = np.repeat(np.arange(len(pooled)), [len(c) for c in pooled]).astype(np.int64)
        by_message = np.concatenate([[0], np.cumsum([len(c) for c in pooled])]).astype(np.int64)
        pool = Pooled(*_ragged(flat), message, by_message) if flat else None
    return Design(np.asarray(dense_rows, dtype=np.float64), indptr, indices, pool)


def _hashed_sum(w: Matrix, x: Design | Pooled) -> Matrix:
    """Per row, the sum of the weight rows at its hashed indices (reduceat: 3x faster than a cumsum)."""
    rows = np.vstack([w[x.indices], np.zeros((1, w.shape[1]))])  # the zero row: a start past the end
    sums = np.add.reduceat(rows, x.indptr[:-1], axis=0)
    sums[np.diff(x.indptr) == 0] = 0.0  # reduceat gives the next row's first element for an empty row
    return sums


def _pool_forward(wp: Matrix, pool: Pooled, n: int) -> tuple[Matrix, Matrix]:
    """Per message the log-sum-exp of {0} and its clauses' scores, and each clause's share of it."""
    s = _hashed_sum(wp, pool)
    padded = np.vstack([s, np.zeros((1, s.shape[1]))])  # reduceat segments as in _hashed_sum
    empty = np.diff(pool.by_message) == 0
    top = np.maximum.reduceat(padded, pool.by_message[:-1], axis=0)
    top[empty] = 0.0
    np.maximum(top, 0.0, out=top)  # the zero: "no clause says it"
    e = np.exp(s - top[pool.message])
    total = np.add.reduceat(np.vstack([e, np.zeros((1, e.shape[1]))]), pool.by_message[:-1], axis=0)
    total[empty] = 0.0
    total += np.exp(-top)
    return top + np.log(total), e / total[pool.message]


@dataclass(frozen=True)
class AuthorTerms:
    """Round 10, annotator modelling (training only): each training author's own offset of the per-tag bias and,
    with `dense`, of the weights of the rules' evidence, shrunk to 0 by L2 `l2`. The authors draw some lines
    differently; the offsets absorb their conventions so the shared weights fit the mean author, and inference
    uses no author term (the mean, what a new author gets)."""

    group: Matrix  # (n,) each training row's author index
    l2: float
    dense: bool = False

    @staticmethod
    def of(authors: Sequence[str], l2: float | None, dense: bool = False) -> AuthorTerms | None:
        if l2 is None:
            return None
        names = sorted(set(authors))
        return AuthorTerms(np.array([names.index(a) for a in authors], dtype=np.int64), l2, dense)

    @property
    def n_groups(self) -> int:
        return int(self.group.max()) + 1 if len(self.group) else 0

    def forward(self, ba: Matrix, wa: Matrix, dense: Matrix) -> Matrix:
        """The author terms of every row's log-odds: (n, k)."""
        z = ba[self.group]
        if self.dense:
            z = z + np.einsum("nd,ndk->nk", dense, wa[self.group])
        return np.asarray(z)

    def grads(self, g: Matrix, dense: Matrix, ba: Matrix, wa: Matrix, n: int) -> tuple[Matrix, Matrix]:
        gba = np.zeros_like(ba)
        np.add.at(gba, self.group, g)
        gba += self.l2 * ba / n
        gwa = np.zeros_like(wa)
        if self.dense:
            for a in range(self.n_groups):
                rows = self.group == a
                gwa[a] = dense[rows].T @ g[rows]
            gwa += self.l2 * wa / n
        return gba, gwa


def fit(x: Design, y: Matrix, *, l2_dense: float | Matrix, l2_hash: float, softmax: bool, iters: int,
        nonpositive: Matrix | None = None, l2_pool: float = 0.0, n_hashed: int = ll.N_HASHED,
        sample_weight: Matrix | None = None, authors: AuthorTerms | None = None
        ) -> tuple[Matrix, Matrix, Matrix, Matrix | None]:
    """Full-batch Adam on the mean (optionally weighted) log-loss plus L2 / n; returns (dense, hashed, bias,
    clause-pool weights). `authors`: per-author offsets fitted alongside and dropped (round 10, AuthorTerms)."""
    n, d = x.dense.shape
    k = y.shape[1]
    wd, wh, b = np.zeros((d, k)), np.zeros((n_hashed, k)), np.zeros(k)
    wp = np.zeros((1 << ll.HASH_BITS, k)) if x.pooled is not None else np.zeros((0, k))
    n_groups = authors.n_groups if authors is not None else 0
    ba = np.zeros((n_groups, k))
    wa = np.zeros((n_groups, d, k)) if authors is not None and authors.dense else np.zeros((0, d, k))
    params = (wd, wh, b, wp, ba, wa)
    state = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    rows = np.repeat(np.arange(n), np.diff(x.indptr))
    pool_rows = np.repeat(np.arange(len(x.pooled.indptr) - 1), np.diff(x.pooled.indptr)) if x.pooled else None
    lr = 0.05
    for it in range(1, iters + 1):
        z = x.dense @ wd + _hashed_sum(wh, x) + b
        if authors is not None:
            z = z + authors.forward(ba, wa, x.dense)
        share = None
        if x.pooled is not None:
            pooled, share = _pool_forward(wp, x.pooled, n)
            z = z + pooled
        if softmax:
            e = np.exp(z - z.max(1, keepdims=True))
            p = e / e.sum(1, keepdims=True)
        else:
            p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        g = (p - y) / n
        if sample_weight is not None:
            g *= sample_weight[:, None]
        gd = x.dense.T @ g + l2_dense * wd / n
        gh = np.stack([np.bincount(x.indices, weights=g[rows, j], minlength=n_hashed) for j in range(k)],
                      1).astype(np.float64)
        gh += l2_hash * wh / n
        gb = g.sum(0)
        gp = np.zeros_like(wp)
        if x.pooled is not None and share is not None and pool_rows is not None:
            gc = g[x.pooled.message] * share  # (clauses, k)
            gp = np.stack([np.bincount(x.pooled.indices, weights=gc[pool_rows, j], minlength=wp.shape[0])
                           for j in range(k)], 1) + l2_pool * wp / n
        gba, gwa = authors.grads(g, x.dense, ba, wa, n) if authors is not None else (ba, wa)
        for param, grad, (m, v) in zip(params, (gd, gh, gb, gp, gba, gwa), state, strict=True):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= lr * (m / (1 - 0.9**it)) / (np.sqrt(v / (1 - 0.999**it)) + 1e-8)
        if nonpositive is not None:
            np.minimum(wh, 0.0, out=wh, where=nonpositive)
    return wd, wh, b, (wp if x.pooled is not None else None)


def tag_mask(bits: int = ll.TAG_HASH_BITS) -> Matrix:
    size = 1 << bits
    mask = np.zeros((len(ll.SCOPES) * size, len(ll.TAGS)), dtype=bool)
    for j, tag in enumerate(ll.TAGS):
        for block in ll.nonpositive_blocks(tag):
            mask[block * size : (block + 1) * size, j] = True
    return mask


@dataclass
class Config:
    l2_hash: float
    l2_dense: float = 0.3
    iters: int = 200
    use_text: bool = True
    l2_pool: float | None = None  # None: no clause-level part
    threshold: float = 0.5  # every tag's decision threshold (without --inner)
    folds: int = 0  # > 0: a second tag stage from this many author-group folds
    l2_stack: float = 1.0
    stack_thresholds: bool = False  # per-tag thresholds on the second stage's out-of-fold output (else 0.5)
    tag_bits: int = ll.TAG_HASH_BITS  # the tag model's hashing size (round 8: 16; 14 is the round-7 model)
    l2_tag_hash: float | None = None  # the tag model's L2 on hashed features (None: l2_hash, as before round 8)
    vectors: str | None = None  # round 9: the pooled word vectors' dense block ("mean", "mean+max"; None: none)
    l2_vec: float = 10.0  # its L2
    table: wv.Table | None = None  # the word vector table (None with vectors: the shipped one)
    author_l2: float | None = None  # round 10: L2 of per-author offsets in the first stage (None: none; AuthorTerms)
    author_dense: bool = False  # ... of the rules' evidence weights too, not only of the bias
    author_l2_stack: float | None = None  # per-author bias offsets in the second stage (None: none)
    mlp: MlpOptions | None = None  # round 11: the hidden layer read by the second stage (None or hidden 0: none)
    cnn: CnnOptions | None = None  # round 12: the character convolution read by the second stage (None / 0: none)
    # Round 13: answered rep turns read as the customer's (learned_layer.tag_text_indices), by the tag model and the
    # convolution; weights record it in their meta ("dialogue").
    dialogue: bool = False
    # Round 14: each clause's entity keys (learned_layer.tag_text_indices, entity_keys.py) in the tag model; weights
    # record it in their meta ("entities").
    entities: bool = False
    # Round 16: the message's form (learned_layer.form_dense) as the second stage's last inputs; weights record it in
    # their meta ("form").
    form: bool = False
    # Round 16: a threshold per tag and per form (learned_layer.message_form) on the second stage's out-of-fold
    # output (the block "form_thresholds", written by `write`; the leave-one-author-out report does not apply them);
    # else every form at the tags' thresholds.
    form_thresholds: bool = False
    # Round 17: the tag model and the convolution read clauses of speech (learned_layer.spoken_clauses: split before a
    # discourse connective and at a filler, so a negation's scope ends there); weights record it in their meta
    # ("spoken").
    spoken: bool = False
    # Round 18: per tag, the plain customer clauses' first-stage scores pooled ("max" or "softmax",
    # learned_layer.CLAUSE_POOLINGS) as one more second-stage input; weights record it in their meta ("clause_max").
    clause_max: str | None = None

    @property
    def hidden(self) -> MlpOptions | None:
        """The hidden layer's options when the model has one (it needs a second stage to read it)."""
        return self.mlp if self.mlp is not None and self.mlp.hidden > 0 and self.folds else None

    @property
    def conv(self) -> CnnOptions | None:
        """The convolution's options when the model has one (it needs a second stage to read it)."""
        if self.cnn is None or self.cnn.filters <= 0 or not self.folds:
            return None
        if not self.dialogue and not self.spoken:
            return self.cnn
        return dataclasses.replace(self.cnn, dialogue=self.dialogue, spoken=self.spoken)

    def vector_table(self) -> wv.Table:
        table = self.table or wv.shipped_table()
        if table is None:
            raise SystemExit("no word vector table: run benchmarks/distill_word_vectors.py --write")
        return table


def _pooled(item: Item) -> tuple[np.ndarray, ...]:
    return ll.pooled_indices(item.tag_input.customer_text, item.tag_input.rep_text)


@dataclass
class TagFit:
    w: Matrix  # dense rule evidence then hashed rows
    b: Matrix
    pool: Matrix | None = None
    vec: Matrix | None = None  # round 9: the word-vector block's weights
    cfg: Config | None = None


_VECTORS: dict[tuple[str, str, str, str], Matrix] = {}  # one computation per record, table and pooling


def vector_rows(items: Sequence[Item], cfg: Config) -> Matrix:
    assert cfg.vectors is not None
    table = cfg.vector_table()
    rows = []
    for i in items:
        key = (table.fingerprint, cfg.vectors, i.tag_input.customer_text, i.tag_input.rep_text)
        if key not in _VECTORS:
            _VECTORS[key] = ll.vector_features(table, cfg.vectors, i.tag_input.customer_text, i.tag_input.rep_text)
        rows.append(_VECTORS[key])
    return np.asarray(rows)


_TAG_HASHED: dict[tuple[int, bool, bool, bool], np.ndarray] = {}  # one computation per record and reading (Item's id)


def tag_hashed(item: Item, dialogue: bool, entities: bool = False, spoken: bool = False) -> np.ndarray:
    """The tag model's hashed indices of a record: the cached ones, or (round 13) with the answered rep turns moved
    into the customer's scopes, or (round 14) with each clause's entity keys, or (round 17) in clauses of speech."""
    dialogue = dialogue and bool(item.tag_input.turns)
    if not dialogue and not entities and not spoken:
        return item.hashed
    key = (id(item), dialogue, entities, spoken)
    if key not in _TAG_HASHED:
        _TAG_HASHED[key] = ll.tag_text_indices(item.tag_input, dialogue, entities, spoken)
    return _TAG_HASHED[key]


def fit_tags(items: Sequence[Item], cfg: Config) -> TagFit:
    pooled = [_pooled(i) for i in items] if cfg.l2_pool is not None and cfg.use_text else None
    dense = np.array([ll.tag_dense(i.tag_input, i.rule_tags) for i in items])
    l2_dense: float | Matrix = cfg.l2_dense
    if cfg.vectors is not None:
        vec = vector_rows(items, cfg)
        dense = np.hstack([dense, vec])
        l2_dense = np.concatenate([np.full(ll.N_TAG_DENSE, cfg.l2_dense), np.full(vec.shape[1], cfg.l2_vec)])[:, None]
    x = design(dense, [ll.fold(tag_hashed(i, cfg.dialogue, cfg.entities, cfg.spoken), cfg.tag_bits) if cfg.use_text
                       else np.zeros(0, np.int64) for i in items],
               pooled)
    y = np.array([[t in i.expected_tags for t in ll.TAGS] for i in items], dtype=float)
    l2_hash = cfg.l2_hash if cfg.l2_tag_hash is None else cfg.l2_tag_hash
    wd, wh, b, wp = fit(x, y, l2_dense=l2_dense, l2_hash=l2_hash, softmax=False, iters=cfg.iters,
                        nonpositive=tag_mask(cfg.tag_bits), l2_pool=cfg.l2_pool or 0.0,
                        n_hashed=len(ll.SCOPES) << cfg.tag_bits,
                        authors=AuthorTerms.of([i.author for i in items], cfg.author_l2, cfg.author_dense))
    vec_w = wd[ll.N_TAG_DENSE :] if cfg.vectors is not None else None
    return TagFit(np.vstack([wd[: ll.N_TAG_DENSE], wh]), b, wp, vec_w, cfg)


@dataclass(frozen=True)
class StageOptions:
    """Round-8 levers of the stage head (benchmarks/stage_loao.py measures them by leave-one-author-out)."""

    class_power: float = 0.0  # weight a record by (its stage's count)^-power, mean 1 (0: unweighted)
    smooth: float = 0.0  # ordinal label smoothing: this share of a funnel stage's target to its neighbours
    aspect: bool = False  # the stage-only features (bot/understanding/stage_features.py)
    l2_hash: float | None = None  # the stage head's own L2 on the hashed text features (None: the tag head's)
    # Round 17: the context block (learned_layer.STAGE_CONTEXTS: "form", "evidence"), read as hashed inputs past the
    # text's; weights record it in their meta ("stage_context").
    context: tuple[str, ...] = ()


# Round 8, by leave-author-out on ten authors and checked on ten others (tests/data/FINAL_FIELDS.md, "Stage, round
# 8"): a little less L2 on the text than the tag head's, +0.2-0.4 points (within noise); the other levers did not help.
# Round 17 (tests/data/FINAL_FIELDS.md, "Stage, round 17"): the context block (message form, the rules' evidence) was
# level on 121 unread authors (84.96 -> 84.91%), so it is off (context ()).
SHIPPED_STAGE = StageOptions(l2_hash=10.0)


def stage_targets(items: Sequence[Item], smooth: float) -> Matrix:
    """One-hot stage targets; with `smooth`, a funnel stage (初步接触…已成交) gives that share to its funnel
    neighbours (an ordinal prior: a near miss costs less than a far one); none and 已流失 stay one-hot."""
    y = np.array([[i.expected_stage == s for s in ll.STAGES] for i in items], dtype=float)
    if smooth <= 0:
        return y
    funnel = [ll.STAGES.index(s) for s in ll.STAGES if s is not None and s.value != "已流失"]
    for row in y:
        j = int(np.argmax(row))
        if j not in funnel:
            continue
        k = funnel.index(j)
        near = [funnel[m] for m in (k - 1, k + 1) if 0 <= m < len(funnel)]
        row[j] = 1.0 - smooth
        row[near] = smooth / len(near)
    return y


def stage_sample_weight(items: Sequence[Item], power: float) -> Matrix | None:
    if power <= 0:
        return None
    labels = [i.expected_stage for i in items]
    counts = {s: labels.count(s) for s in set(labels)}
    w = np.array([counts[s] ** -power for s in labels])
    return np.asarray(w / w.mean())


def fit_stage(items: Sequence[Item], cfg: Config, opts: StageOptions = SHIPPED_STAGE,
              inputs: Sequence[StageInput] | None = None) -> tuple[Matrix, Matrix]:
    """The stage head fitted on `items`; `inputs`: other StageInputs for them (round 9, measurement: built with the
    learned tag head's cross-fitted tags, cross_fitted_stage_inputs) instead of the ones built with the rules' tags."""
    stage_inputs = list(inputs) if inputs is not None else [i.stage_input for i in items]
    empty = np.zeros(0, np.int64)
    hashed = [(ll.stage_indices(si) if opts.aspect else ll.fold(i.hashed, ll.HASH_BITS))
              if cfg.use_text else empty for i, si in zip(items, stage_inputs, strict=True)]
    n_hashed = ll.N_HASHED + (ll.N_ASPECT if opts.aspect else 0)
    if opts.context:
        hashed = [np.concatenate([h, np.asarray(ll.stage_context_indices(si, opts.context), np.int64) + n_hashed])
                  for h, si in zip(hashed, stage_inputs, strict=True)]
        n_hashed += sum(ll.N_CONTEXT[p] for p in opts.context)
    x = design([ll.stage_dense(si) for si in stage_inputs], hashed)
    y = stage_targets(items, opts.smooth)
    l2_hash = cfg.l2_hash if opts.l2_hash is None else opts.l2_hash
    wd, wh, b, _ = fit(x, y, l2_dense=cfg.l2_dense, l2_hash=l2_hash, softmax=True, iters=cfg.iters,
                       n_hashed=n_hashed,
                       sample_weight=stage_sample_weight(items, opts.class_power))
    return np.vstack([wd, wh]), b


def weights(tag: TagFit, stage: tuple[Matrix, Matrix], thresholds: Matrix, margin: float,
            meta: dict[str, Any] | None = None, stack: tuple[Matrix, Matrix] | None = None,
            mlp: ll.Mlp | None = None, cnn: ll.CharCnn | None = None,
            stage_context: tuple[str, ...] | None = None) -> ll.Weights:
    """`stage_context`: the parts of the stage head's context block (None: SHIPPED_STAGE's, what fit_stage fits by
    default)."""
    pool = tag.pool.astype(np.float32) if tag.pool is not None else None
    vec = tag.vec.astype(np.float32) if tag.vec is not None else None
    table = tag.cfg.vector_table() if tag.cfg is not None and tag.cfg.vectors is not None else None
    return ll.Weights(tag.w.astype(np.float32), tag.b.astype(np.float32), thresholds.astype(np.float32),
                      stage[0].astype(np.float32), stage[1].astype(np.float32), margin,
                      {**(meta or {}), "stage_margin": margin}, pool,
                      stack[0].astype(np.float32) if stack else None, stack[1].astype(np.float32) if stack else None,
                      vec, tag.cfg.vectors or "mean" if tag.cfg is not None else "mean", table, mlp, cnn,
                      tag.cfg is not None and tag.cfg.dialogue, tag.cfg is not None and tag.cfg.entities,
                      tag.cfg is not None and tag.cfg.form and stack is not None, None,
                      SHIPPED_STAGE.context if stage_context is None else stage_context,
                      tag.cfg is not None and tag.cfg.spoken,
                      tag.cfg.clause_max if tag.cfg is not None and stack is not None else None)


# ---------------------------------------------------------------- round 11: a hidden layer (learned_layer.Mlp)


@dataclass(frozen=True)
class MlpOptions:
    """Round 11: the hidden layer's size and training (mini-batch Adam, seeded, so a fit is deterministic).
    `hidden` 0: no hidden layer (the round-10 model)."""

    hidden: int = 0
    bits: int = ll.HASH_BITS  # embedding rows 2^bits (the plain customer-side features folded to them)
    epochs: int = 8
    batch: int = 64
    lr: float = 0.003
    dropout: float = 0.3
    l2: float = 1.0  # L2 in pseudo-records, as the other fits: sum loss + l2/2 |w|^2 (on the rows a batch touches)
    seed: int = 0
    ensemble: int = 1  # this many nets (seeds seed, seed+1, ...) whose log-odds are averaged, kept as one wider net


def _segments(indptr: Matrix, rows: Matrix) -> tuple[Matrix, Matrix, Matrix]:
    """The positions in `indices` of the given rows' features, each position's row (0..len(rows)-1), the counts."""
    starts, lens = indptr[rows], indptr[rows + 1] - indptr[rows]
    offsets = np.cumsum(lens) - lens
    pos = np.arange(int(lens.sum())) - np.repeat(offsets, lens) + np.repeat(starts, lens)
    return pos, np.repeat(np.arange(len(rows)), lens), lens


def _bag(emb: Matrix, seg_lens: Matrix) -> Matrix:
    """Per row, the sum of its embedding rows (rows with no feature: zeros)."""
    out = np.zeros((len(seg_lens), emb.shape[1]))
    nonempty = seg_lens > 0
    if nonempty.any():
        starts = (np.cumsum(seg_lens) - seg_lens)[nonempty]
        out[nonempty] = np.add.reduceat(emb, starts, axis=0)
    return out


def _row_sums(values: Matrix, keys: Matrix) -> tuple[Matrix, Matrix]:
    """Per distinct key, the sum of its rows of `values`: (keys, sums)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
    return sorted_keys[starts], np.add.reduceat(values[order], starts, axis=0)


class _Adam:
    def __init__(self, shape: tuple[int, ...], lr: float) -> None:
        self.m, self.v, self.lr = np.zeros(shape), np.zeros(shape), lr

    def step(self, param: Matrix, grad: Matrix, t: int, rows: Matrix | None = None) -> None:
        """One Adam step; with `rows`, only those rows (lazy Adam for the embedding table)."""
        m, v = (self.m, self.v) if rows is None else (self.m[rows], self.v[rows])
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        update = self.lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        if rows is None:
            self.m, self.v = m, v
            param -= update
        else:
            self.m[rows], self.v[rows] = m, v
            param[rows] -= update


def mlp_rows(items: Sequence[Item], bits: int) -> tuple[Matrix, Matrix, Matrix]:
    """The hidden layer's inputs of `items`: ragged feature indices (indptr, indices) and the rules' evidence."""
    indptr, indices = _ragged([ll.mlp_indices(i.hashed, bits) for i in items])
    return indptr, indices, np.array([ll.tag_dense(i.tag_input, i.rule_tags) for i in items], dtype=np.float64)


def mlp_forward(mlp: tuple[Matrix, ...], indptr: Matrix, indices: Matrix, dense: Matrix, rows: Matrix
                ) -> tuple[Matrix, Matrix, Matrix, Matrix]:
    """(pre-activation, feature positions' rows, feature indices, 1/sqrt(counts)) of `rows` (no dropout)."""
    e, wd, b1 = mlp[0], mlp[1], mlp[2]
    pos, seg, lens = _segments(indptr, rows)
    flat = indices[pos]
    scale = 1.0 / np.sqrt(np.maximum(lens, 1))
    pre = _bag(e[flat], lens) * scale[:, None] + dense[rows] @ wd + b1
    return pre, seg, flat, scale


def mlp_loss_grads(params: Sequence[Matrix], indptr: Matrix, indices: Matrix, dense: Matrix, y: Matrix,
                   rows: Matrix, mask: Matrix, l2n: float) -> tuple[float, list[Matrix], Matrix]:
    """The batch's mean log-loss over the ten tags plus l2n/2 |w|^2 (embedding rows the batch touches, the hidden
    and output weights), its gradients (the embedding's only at the touched rows) and those rows. `mask`: the hidden
    units' dropout multipliers (ones: none)."""
    e, wd, _b1, w2, b2 = params
    pre, seg, flat, scale = mlp_forward(tuple(params), indptr, indices, dense, rows)
    a = np.maximum(pre, 0.0) * mask
    z = a @ w2 + b2
    target = y[rows]
    loss = float(np.mean(np.sum(np.logaddexp(0.0, z) - target * z, axis=1)))
    p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    g = (p - target) / len(rows)
    ga = (g @ w2.T) * mask * (pre > 0)
    touched, ge = _row_sums(ga[seg] * scale[seg, None], flat)
    loss += 0.5 * l2n * float((e[touched] ** 2).sum() + (wd**2).sum() + (w2**2).sum())
    grads = [ge + l2n * e[touched], dense[rows].T @ ga + l2n * wd, ga.sum(0), a.T @ g + l2n * w2, g.sum(0)]
    return loss, grads, touched


def fit_mlp(items: Sequence[Item], opts: MlpOptions) -> ll.Mlp:
    """The hidden layer fitted on `items`; with `opts.ensemble` k > 1, k nets of different seeds side by side as one
    net of k x hidden units whose output weights are divided by k (the mean of the k nets' log-odds, exactly)."""
    nets = [_fit_one_mlp(items, dataclasses.replace(opts, seed=opts.seed + j)) for j in range(max(1, opts.ensemble))]
    if len(nets) == 1:
        return nets[0]
    k = np.float32(len(nets))
    return ll.Mlp(np.hstack([m.e for m in nets]), np.hstack([m.wd for m in nets]),
                  np.concatenate([m.b1 for m in nets]), np.vstack([m.w2 for m in nets]) / k,
                  np.mean([m.b2 for m in nets], axis=0).astype(np.float32))


def _fit_one_mlp(items: Sequence[Item], opts: MlpOptions) -> ll.Mlp:
    """One net fitted on `items`: mean log-loss of the ten tags, dropout on the hidden units, L2."""
    rng = np.random.default_rng(opts.seed)
    indptr, indices, dense = mlp_rows(items, opts.bits)
    y = np.array([[t in i.expected_tags for t in ll.TAGS] for i in items], dtype=float)
    n, k, h = len(items), len(ll.TAGS), opts.hidden
    rate = np.clip(y.mean(0), 1e-3, 1 - 1e-3)
    params = [rng.normal(0.0, 0.1, (1 << opts.bits, h)), rng.normal(0.0, 0.1, (dense.shape[1], h)), np.zeros(h),
              rng.normal(0.0, 1.0 / np.sqrt(h), (h, k)), np.log(rate / (1 - rate))]
    adams = [_Adam(p.shape, opts.lr) for p in params]
    keep = 1.0 - opts.dropout
    t = 0
    for _ in range(opts.epochs):
        order = rng.permutation(n)
        for start in range(0, n, opts.batch):
            rows = order[start : start + opts.batch]
            t += 1
            mask = (rng.random((len(rows), h)) < keep) / keep
            _, grads, touched = mlp_loss_grads(params, indptr, indices, dense, y, rows, mask, opts.l2 / n)
            for j, (param, grad, adam) in enumerate(zip(params, grads, adams, strict=True)):
                adam.step(param, grad, t, touched if j == 0 else None)
    e, wd, b1, w2, b2 = (p.astype(np.float32) for p in params)
    return ll.Mlp(e, wd, b1, w2, b2)


def mlp_apply(mlp: ll.Mlp, items: Sequence[Item]) -> Matrix:
    """The hidden layer's log-odds of `items` (what learned_layer.mlp_logodds gives one message)."""
    indptr, indices, dense = mlp_rows(items, mlp.bits)
    params = tuple(p.astype(np.float64) for p in (mlp.e, mlp.wd, mlp.b1))
    pre = mlp_forward(params, indptr, indices, dense, np.arange(len(items)))[0]
    return np.asarray(np.maximum(pre, 0.0) @ mlp.w2.astype(np.float64) + mlp.b2.astype(np.float64))


# Round 11, what the trainer fits by default (tests/data/FINAL_TAGS.md, "Learned layer, round 11"); hidden 0: none.
SHIPPED_MLP = MlpOptions(hidden=0)

MLP_OOF_CACHE: Path | None = None  # --mlp-oof: reuse the pool's out-of-fold hidden-layer log-odds


def mlp_oof(items: Sequence[Item], opts: MlpOptions, folds: int) -> Matrix | None:
    """Each record's hidden-layer log-odds from a fit without its author group (the second stage's input); None
    without a hidden layer."""
    if not opts.hidden:
        return None
    key = ("mlp", folds, dataclasses.astuple(opts), tuple(i.sample["id"] for i in items))  # no class: __main__-safe
    if MLP_OOF_CACHE is not None and MLP_OOF_CACHE.exists():
        cached_key, cached_out = pickle.loads(MLP_OOF_CACHE.read_bytes())  # noqa: S301 (a file this script wrote)
        if cached_key == key:
            return np.asarray(cached_out)
    group = author_groups(items, folds)
    out = np.zeros((len(items), len(ll.TAGS)))
    for g in range(folds):
        rows = [k for k, i in enumerate(items) if group[i.author] == g]
        mlp = fit_mlp([i for i in items if group[i.author] != g], opts)
        out[rows] = mlp_apply(mlp, [items[k] for k in rows])
    if MLP_OOF_CACHE is not None:
        MLP_OOF_CACHE.write_bytes(pickle.dumps((key, out)))
    return out


# ------------------------------------------------------------ round 12: a character convolution (learned_layer.CharCnn)


@dataclass(frozen=True)
class CnnOptions:
    """Round 12: the character convolution's shape and training (mini-batch Adam, seeded: a fit is deterministic).
    `filters` 0: none. Early stop: the authors dealt every `val_every`-th (sorted) are held out of the fit, and the
    epoch with their lowest log-loss is kept (`patience` epochs without a better one end the fit)."""

    filters: int = 0  # per width
    widths: tuple[int, ...] = (2, 3, 4)
    dims: int = 32
    bits: int = 12  # hashed character rows 2^bits
    epochs: int = 10  # at most
    batch: int = 64
    lr: float = 0.003
    dropout: float = 0.3  # on the pooled filters
    l2: float = 1.0  # in pseudo-records, as the other fits (on the rows a batch touches)
    seed: int = 0
    val_every: int = 8
    patience: int = 2
    dialogue: bool = False  # round 13: also the rep turns the customer accepted (Config.dialogue sets it)
    spoken: bool = False  # round 17: clauses of speech (learned_layer.spoken_clauses; Config.spoken sets it)


@dataclass
class CnnRows:
    """The pool's convolution windows: per record its rows [indptr[r], indptr[r+1]) of `ids` (window ids)."""

    indptr: Matrix
    ids: Matrix  # (windows, window) character ids


def cnn_rows(items: Sequence[Item], opts: CnnOptions) -> CnnRows:
    window = max(opts.widths)
    parts = [ll.cnn_windows(ll.cnn_text(i.tag_input, opts.dialogue), opts.bits, window, opts.spoken) for i in items]
    lens = np.array([len(p) for p in parts], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    ids = np.concatenate(parts) if parts else np.zeros((0, window), dtype=np.int64)
    return CnnRows(indptr, ids)


def cnn_kernel_mask(opts: CnnOptions) -> Matrix:
    """(window * dims, filters): 1 where a filter of its width has a weight (its first `width` characters)."""
    window = max(opts.widths)
    mask = np.zeros((window * opts.dims, len(opts.widths) * opts.filters))
    for j, width in enumerate(opts.widths):
        mask[: width * opts.dims, j * opts.filters : (j + 1) * opts.filters] = 1.0
    return mask


def cnn_forward(params: Sequence[Matrix], data: CnnRows, rows: Matrix) -> tuple[Matrix, Matrix, Matrix, Matrix]:
    """(pooled pre-activation (rows, filters), each filter's winning window (global index; -1: no window), the
    windows' ids, whether the row has a window) of `rows`, without dropout."""
    e, k, kb = params[0], params[1], params[2]
    pos, _, lens = _segments(data.indptr, rows)
    ids = data.ids[pos]
    n, f = len(rows), k.shape[1]
    pooled = np.full((n, f), -np.inf)
    winner = np.full((n, f), -1, dtype=np.int64)
    nonempty = lens > 0
    if len(pos):
        pre = e[ids].reshape(len(pos), -1) @ k
        starts = (np.cumsum(lens) - lens)[nonempty]
        pooled[nonempty] = np.maximum.reduceat(pre, starts, axis=0)
        seg = np.repeat(np.arange(n), lens)
        local = np.where(pre == pooled[seg], np.arange(len(pos))[:, None], len(pos))
        winner[nonempty] = np.minimum.reduceat(local, starts, axis=0)
    pooled = np.where(nonempty[:, None], pooled + kb, 0.0)
    return pooled, winner, ids, nonempty


def cnn_loss_grads(params: Sequence[Matrix], data: CnnRows, y: Matrix, rows: Matrix, mask: Matrix, l2n: float,
                   kernel_mask: Matrix) -> tuple[float, list[Matrix], Matrix]:
    """The batch's mean log-loss over the ten tags plus l2n/2 |w|^2 (character rows the batch's winning windows
    touch, the kernels, the output weights), its gradients (the embedding's only at the touched rows) and those
    rows. `mask`: the pooled filters' dropout multipliers (ones: none). The padding row never moves."""
    e, k, _kb, w2, _b2 = params
    pooled, winner, ids, nonempty = cnn_forward(params, data, rows)
    on = (pooled > 0) & nonempty[:, None]
    a = np.where(on, pooled, 0.0) * mask
    z = a @ w2 + params[4]
    target = y[rows]
    loss = float(np.mean(np.sum(np.logaddexp(0.0, z) - target * z, axis=1)))
    p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    g = (p - target) / len(rows)
    gpre = (g @ w2.T) * mask * on  # (rows, filters): the gradient at each filter's winning window
    m_idx, f_idx = np.nonzero(gpre)
    gv = gpre[m_idx, f_idx]
    win_ids = ids[winner[m_idx, f_idx]]  # (nonzero, window)
    x = e[win_ids].reshape(len(gv), -1)  # the winning windows' inputs
    gk = np.zeros_like(k)
    np.add.at(gk.T, f_idx, x * gv[:, None])
    gk *= kernel_mask
    gx = (k[:, f_idx].T * gv[:, None]).reshape(len(gv) * win_ids.shape[1], -1)
    flat = win_ids.reshape(-1)
    keep = flat < e.shape[0] - 1  # not the padding row
    touched, ge = _row_sums(gx[keep], flat[keep]) if keep.any() else (np.zeros(0, dtype=np.int64),
                                                                       np.zeros((0, e.shape[1])))
    loss += 0.5 * l2n * float((e[touched] ** 2).sum() + (k**2).sum() + (w2**2).sum())
    grads = [ge + l2n * e[touched], gk + l2n * k, gpre.sum(0), a.T @ g + l2n * w2, g.sum(0)]
    return loss, grads, touched


def cnn_logodds_rows(params: Sequence[Matrix], data: CnnRows, rows: Matrix) -> Matrix:
    pooled, _, _, nonempty = cnn_forward(params, data, rows)
    a = np.where(nonempty[:, None], np.maximum(pooled, 0.0), 0.0)
    return np.asarray(a @ params[3] + params[4])


def fit_cnn(items: Sequence[Item], opts: CnnOptions, data: CnnRows | None = None, *, log: bool = False
            ) -> ll.CharCnn:
    """The convolution fitted on `items` (`data`: their windows, cnn_rows), early-stopped on held-out authors."""
    rng = np.random.default_rng(opts.seed)
    data = data if data is not None else cnn_rows(items, opts)
    y = np.array([[t in i.expected_tags for t in ll.TAGS] for i in items], dtype=float)
    authors = sorted({i.author for i in items})
    val_authors = set(authors[opts.val_every - 1 :: opts.val_every]) if len(authors) >= opts.val_every else set()
    is_val = np.array([i.author in val_authors for i in items])
    fit_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    n, k, f = len(fit_idx), len(ll.TAGS), len(opts.widths) * opts.filters
    window = max(opts.widths)
    rate = np.clip(y[fit_idx].mean(0), 1e-3, 1 - 1e-3)
    e = rng.normal(0.0, 0.3, ((1 << opts.bits) + 3, opts.dims))
    e[-1] = 0.0  # the padding mark
    kernel_mask = cnn_kernel_mask(opts)
    params = [e, rng.normal(0.0, 1.0 / np.sqrt(window * opts.dims), (window * opts.dims, f)) * kernel_mask,
              np.zeros(f), rng.normal(0.0, 1.0 / np.sqrt(f), (f, k)), np.log(rate / (1 - rate))]
    adams = [_Adam(q.shape, opts.lr) for q in params]
    keep = 1.0 - opts.dropout
    best, best_loss, stale, t = [q.copy() for q in params], np.inf, 0, 0
    for epoch in range(opts.epochs):
        order = fit_idx[rng.permutation(n)]
        for start in range(0, n, opts.batch):
            rows = order[start : start + opts.batch]
            t += 1
            mask = (rng.random((len(rows), f)) < keep) / keep
            _, grads, touched = cnn_loss_grads(params, data, y, rows, mask, opts.l2 / n, kernel_mask)
            for j, (param, grad, adam) in enumerate(zip(params, grads, adams, strict=True)):
                adam.step(param, grad, t, touched if j == 0 else None)
        if not len(val_idx):
            best = params
            continue
        z = cnn_logodds_rows(params, data, val_idx)
        val_loss = float(np.mean(np.sum(np.logaddexp(0.0, z) - y[val_idx] * z, axis=1)))
        if log:
            print(f"    cnn epoch {epoch + 1}: held-out authors' log-loss {val_loss:.4f}", flush=True)
        if val_loss < best_loss:
            best, best_loss, stale = [q.copy() for q in params], val_loss, 0
        else:
            stale += 1
            if stale >= opts.patience:
                break
    e, kk, kb, w2, b2 = (q.astype(np.float32) for q in best)
    return ll.CharCnn(e, kk, kb, w2, b2)


def cnn_apply(cnn: ll.CharCnn, items: Sequence[Item], dialogue: bool = False) -> Matrix:
    """The convolution's log-odds of `items` (what learned_layer.cnn_logodds gives one message)."""
    opts = CnnOptions(filters=1, widths=(cnn.window,), dims=int(cnn.e.shape[1]), bits=cnn.bits, dialogue=dialogue)
    data = cnn_rows(items, opts)
    params = [q.astype(np.float64) for q in (cnn.e, cnn.k, cnn.kb, cnn.w2, cnn.b2)]
    return cnn_logodds_rows(params, data, np.arange(len(items)))


# Round 12, what the trainer fits by default (tests/data/FINAL_TAGS.md, "Learned layer, round 12"); filters 0: none.
SHIPPED_CNN = CnnOptions(filters=64, epochs=16)  # measured +2.4 on confirming authors: FINAL_TAGS round 12

# Round 13, answered rep turns read as the customer's (tests/data/FINAL_TAGS.md, "Learned layer, round 13").
SHIPPED_DIALOGUE = False
# Round 14: each clause's entity keys in the tag model (tests/data/FINAL_TAGS.md, "Learned layer, round 14").
SHIPPED_ENTITIES = False
# Round 16: the message's form in the second stage (learned_layer.form_dense); measured in tests/data/FINAL_TAGS.md,
# "Learned layer, round 16".
SHIPPED_FORM = False
SHIPPED_FORM_THRESHOLDS = False
# Round 17: clauses of speech (Config.spoken); measured in tests/data/FINAL_TAGS.md, "Learned layer, round 17".
SHIPPED_SPOKEN = False
# Round 18: the pooled clause scores in the second stage (Config.clause_max; None: none); measured in
# tests/data/FINAL_TAGS.md, "Learned layer, round 18".
SHIPPED_CLAUSE_MAX: str | None = "max"

CNN_OOF_CACHE: Path | None = None  # --cnn-oof: reuse the pool's out-of-fold convolution log-odds


def cnn_oof(items: Sequence[Item], opts: CnnOptions, folds: int, *, log: bool = False) -> Matrix | None:
    """Each record's convolution log-odds from a fit without its author group (the second stage's input); None
    without a convolution."""
    if not opts.filters:
        return None
    key = ("cnn", folds, dataclasses.astuple(opts), tuple(i.sample["id"] for i in items))
    if CNN_OOF_CACHE is not None and CNN_OOF_CACHE.exists():
        cached_key, cached_out = pickle.loads(CNN_OOF_CACHE.read_bytes())  # noqa: S301 (a file this script wrote)
        if cached_key == key:
            return np.asarray(cached_out)
    group = author_groups(items, folds)
    data = cnn_rows(items, opts)
    out = np.zeros((len(items), len(ll.TAGS)))
    for g in range(folds):
        rows = np.array([k for k, i in enumerate(items) if group[i.author] == g], dtype=np.int64)
        fit_rows = np.array([k for k, i in enumerate(items) if group[i.author] != g], dtype=np.int64)
        sub = CnnRows(*_sub_rows(data, fit_rows))
        cnn = fit_cnn([items[k] for k in fit_rows], opts, sub, log=log)
        params = [q.astype(np.float64) for q in (cnn.e, cnn.k, cnn.kb, cnn.w2, cnn.b2)]
        out[rows] = cnn_logodds_rows(params, data, rows)
    if CNN_OOF_CACHE is not None:
        CNN_OOF_CACHE.write_bytes(pickle.dumps((key, out)))
    return out


def _sub_rows(data: CnnRows, rows: Matrix) -> tuple[Matrix, Matrix]:
    pos, _, lens = _segments(data.indptr, rows)
    return np.concatenate([[0], np.cumsum(lens)]).astype(np.int64), data.ids[pos]


def extra_oof(items: Sequence[Item], cfg: Config, folds: int) -> Matrix | None:
    """The second stage's extra inputs out-of-fold: the hidden layer's log-odds, then the convolution's, then (round
    18) the pooled clause scores (each when the config has it; learned_layer.extra_logodds in the same order); None
    without any."""
    parts = [m for m in (mlp_oof(items, cfg.hidden, folds) if cfg.hidden is not None else None,
                         cnn_oof(items, cfg.conv, folds) if cfg.conv is not None else None,
                         clause_oof(items, cfg, folds) if cfg.clause_max is not None and folds else None)
             if m is not None]
    return np.hstack(parts) if parts else None


# ---------------------------------------------------------------- round 7: second stage over out-of-fold output


def author_groups(items: Sequence[Item], folds: int) -> dict[str, int]:
    """Deal the authors (sorted) into `folds` groups: deterministic, and each group spans the corpora."""
    return {a: k % folds for k, a in enumerate(sorted({i.author for i in items}))}


# Round 10, the trainer's defaults for the per-author offsets (AuthorTerms; negative: none); measured in
# tests/data/FINAL_TAGS.md, "Learned layer, round 10".
AUTHOR_L2 = -1.0
AUTHOR_DENSE = False
AUTHOR_L2_STACK = -1.0

OOF_CACHE: Path | None = None  # --oof: reuse the whole pool's out-of-fold probabilities (unchanged rules/config)
CLAUSE_OOF_CACHE: Path | None = None  # --clause-oof: the same for the pooled clause scores (round 18)
# In-process results of the group fits (one fit per group serves both; keys: oof_key, and the pooling for clauses).
_FIRST_OOF: dict[tuple[object, ...], Matrix] = {}
_CLAUSE_OOF: dict[tuple[object, ...], Matrix] = {}


def oof_key(items: Sequence[Item], cfg: Config, folds: int) -> tuple[object, ...]:
    """What an --oof file's first-stage output depends on (a file with another key is refitted)."""
    return (len(items), folds, cfg.l2_hash, cfg.l2_dense, cfg.iters, cfg.l2_pool, cfg.tag_bits, cfg.l2_tag_hash,
            cfg.vectors, cfg.l2_vec, cfg.vector_table().fingerprint if cfg.vectors else None,
            *((cfg.author_l2, cfg.author_dense) if cfg.author_l2 is not None else ()),
            *(("dialogue",) if cfg.dialogue else ()), *(("entities",) if cfg.entities else ()),
            *(("spoken",) if cfg.spoken else ()), tuple(i.sample["id"] for i in items))


def first_stage_oof(items: Sequence[Item], cfg: Config, folds: int) -> Matrix:
    """Each record's first-stage tag probabilities from a fit without its author group."""
    key = oof_key(items, cfg, folds)
    if key in _FIRST_OOF:
        return _FIRST_OOF[key]
    if OOF_CACHE is not None and OOF_CACHE.exists():
        cached_key, cached_probs = pickle.loads(OOF_CACHE.read_bytes())  # noqa: S301 (a file this script wrote)
        if cached_key == key:
            return np.asarray(cached_probs)
    probs = _first_stage_oof(items, cfg, folds)
    if OOF_CACHE is not None:
        OOF_CACHE.write_bytes(pickle.dumps((key, probs)))
    return probs


def first_stage_weights(tag: TagFit) -> ll.Weights:
    """A tag fit as weights that only the first stage is read from (no stage head, every threshold 0.5)."""
    no_stage = (np.zeros((ll.N_STAGE_DENSE + ll.N_HASHED, len(ll.STAGES))), np.zeros(len(ll.STAGES)))
    return weights(tag, no_stage, np.full(len(ll.TAGS), 0.5), 0.0, stage_context=())


def _first_stage_oof(items: Sequence[Item], cfg: Config, folds: int) -> Matrix:
    """The group fits' out-of-fold first stage; with cfg.clause_max the same fits also give the pooled clause scores
    (kept in _CLAUSE_OOF for clause_oof, so the groups are fitted once for both)."""
    group = author_groups(items, folds)
    probs = np.zeros((len(items), len(ll.TAGS)))
    pooled = np.zeros((len(items), len(ll.TAGS)))
    for g in range(folds):
        train = [i for i in items if group[i.author] != g]
        w = first_stage_weights(fit_tags(train, cfg))
        for k, item in enumerate(items):
            if group[item.author] == g:
                probs[k] = ll.first_stage_probabilities(w, item.tag_input, item.rule_tags)
                if cfg.clause_max is not None:
                    pooled[k] = clause_row(w.tag_w, item, cfg, cfg.clause_max)
    key = oof_key(items, cfg, folds)
    _FIRST_OOF[key] = probs
    if cfg.clause_max is not None:
        _CLAUSE_OOF[(*key, cfg.clause_max)] = pooled
    return probs


def clause_row(tag_w: Matrix, item: Item, cfg: Config, pooling: str) -> Matrix:
    """One record's pooled clause scores (learned_layer.clause_logodds) under a first stage's weights `tag_w`."""
    scores = ll.clause_scores(tag_w, item.tag_input, cfg.dialogue, cfg.entities, cfg.spoken)
    return ll.pool_clause_scores(scores, pooling)


def clause_oof(items: Sequence[Item], cfg: Config, folds: int) -> Matrix:
    """Round 18: each record's pooled clause scores under the first stage fitted without its author group (the same
    group fits as first_stage_oof), the second stage's input as learned_layer.clause_logodds gives it at inference."""
    assert cfg.clause_max is not None
    key = (*oof_key(items, cfg, folds), cfg.clause_max)
    if key not in _CLAUSE_OOF and CLAUSE_OOF_CACHE is not None and CLAUSE_OOF_CACHE.exists():
        cached_key, cached = pickle.loads(CLAUSE_OOF_CACHE.read_bytes())  # noqa: S301 (a file this script wrote)
        if cached_key == key:
            _CLAUSE_OOF[key] = np.asarray(cached)
    if key not in _CLAUSE_OOF:
        _first_stage_oof(items, cfg, folds)
        if CLAUSE_OOF_CACHE is not None:
            CLAUSE_OOF_CACHE.write_bytes(pickle.dumps((key, _CLAUSE_OOF[key])))
    return _CLAUSE_OOF[key]


def stack_rows(items: Sequence[Item], first: Matrix, mlp: Matrix | None = None, form: bool = False) -> Matrix:
    """The second stage's inputs (learned_layer.stack_features); `mlp`: the hidden layer's log-odds (round 11);
    `form`: then the message's form (learned_layer.form_dense, round 16)."""
    rows = np.array([ll.stack_features(first[k], ll.tag_dense(i.tag_input, i.rule_tags),
                                       None if mlp is None else mlp[k]) for k, i in enumerate(items)])
    if form:
        rows = np.hstack([rows, np.array([ll.form_dense(i.tag_input) for i in items]).reshape(len(items), ll.N_FORM)])
    return rows


def fit_stack(items: Sequence[Item], first: Matrix, l2: float, iters: int = 400,
              signed: bool = True, author_l2: float | None = None, mlp: Matrix | None = None,
              rows: Matrix | None = None, form: bool = False, clause: bool = False) -> tuple[Matrix, Matrix]:
    """Per tag, a logistic regression over every tag's first-stage log-odds and the rules' evidence (and with
    `mlp` the hidden layer's log-odds, round 11); `author_l2`: with per-author bias offsets during the fit (round 10,
    AuthorTerms), dropped from what it returns. `rows`: the inputs already built (stack_rows), for many fits;
    `form`: the message's form as the last inputs (round 16, unbounded in sign: they read no clause); `clause`: the
    last ten columns of `mlp` are the pooled clause scores (round 18), each read only by its own tag with a weight
    >= 0 (learned_layer.clause_stack_bounds)."""
    authors = AuthorTerms.of([i.author for i in items], author_l2)
    nonneg, nonpos = ll.stack_sign_bounds()
    x = stack_rows(items, first, mlp, form) if rows is None else rows
    y = np.array([[t in i.expected_tags for t in ll.TAGS] for i in items], dtype=float)
    n, d = x.shape
    w, b = np.zeros((d, y.shape[1])), np.zeros(y.shape[1])
    n_tags = len(ll.TAGS)
    # the clause block's first row: the last n_tags of the extra inputs (after the first stage's n_tags and the
    # dense inputs), before the form's
    at = ll.N_TAG_DENSE + mlp.shape[1] if clause and mlp is not None else None
    if clause and at is None:
        raise ValueError("the pooled clause scores are the last columns of `mlp`")
    clause_pos, clause_zero = ll.clause_stack_bounds()
    ba = np.zeros((authors.n_groups if authors is not None else 0, y.shape[1]))
    state = [(np.zeros_like(q), np.zeros_like(q)) for q in (w, b, ba)]
    for it in range(1, iters + 1):
        z = x @ w + b
        if authors is not None:
            z = z + ba[authors.group]
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        g = (p - y) / n
        gba = authors.grads(g, x, ba, np.zeros((0, d, y.shape[1])), n)[0] if authors is not None else ba
        for param, grad, (m, v) in zip((w, b, ba), (x.T @ g + l2 * w / n, g.sum(0), gba), state, strict=True):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= 0.05 * (m / (1 - 0.9**it)) / (np.sqrt(v / (1 - 0.999**it)) + 1e-8)
        if signed:  # the first stage's guarantees (learned_layer.stack_sign_bounds)
            np.maximum(w[:n_tags], 0.0, out=w[:n_tags], where=nonneg)
            np.minimum(w[:n_tags], 0.0, out=w[:n_tags], where=nonpos)
        if at is not None:  # always bounded: a tag reads only its own pooled score, >= 0
            block = w[at : at + n_tags]
            np.maximum(block, 0.0, out=block, where=clause_pos)
            block[clause_zero] = 0.0
    return w, b


def stack_apply(stack: tuple[Matrix, Matrix], items: Sequence[Item], first: Matrix, mlp: Matrix | None = None,
                form: bool = False) -> Matrix:
    x = stack_rows(items, first, mlp, form)
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x @ stack[0] + stack[1], -30, 30))))


def per_tag_thresholds(probs: Matrix, items: Sequence[Item]) -> Matrix:
    """Per tag, the grid threshold with the fewest errors on out-of-fold probabilities; ties: nearest 0.5."""
    y = np.array([[t in i.expected_tags for t in ll.TAGS] for i in items], dtype=bool)
    thresholds = np.zeros(len(ll.TAGS))
    for j in range(len(ll.TAGS)):
        errors = np.array([((probs[:, j] >= th) != y[:, j]).sum() for th in THRESHOLD_GRID])
        best = THRESHOLD_GRID[errors == errors.min()]
        thresholds[j] = best[np.argmin(np.abs(best - 0.5))]
    return thresholds


def per_form_thresholds(probs: Matrix, items: Sequence[Item]) -> Matrix:
    """Round 16: per form (learned_layer.FORMS) and tag, per_tag_thresholds on that form's records (0.5 for a form
    without any)."""
    forms = [ll.message_form(i.tag_input) for i in items]
    out = np.full((len(ll.FORMS), len(ll.TAGS)), 0.5)
    for f, form in enumerate(ll.FORMS):
        rows = [k for k, m in enumerate(forms) if m == form]
        if rows:
            out[f] = per_tag_thresholds(probs[rows], [items[k] for k in rows])
    return out


def stacked_oof(items: Sequence[Item], first: Matrix, cfg: Config, mlp: Matrix | None = None) -> Matrix:
    """The second stage's own out-of-fold output over the author groups (fitted without each group)."""
    group = author_groups(items, cfg.folds)
    stacked = np.zeros_like(first)
    for g in range(cfg.folds):
        fit_rows = [k for k, i in enumerate(items) if group[i.author] != g]
        rows = [k for k, i in enumerate(items) if group[i.author] == g]
        s = fit_stack([items[k] for k in fit_rows], first[fit_rows], cfg.l2_stack, author_l2=cfg.author_l2_stack,
                      mlp=None if mlp is None else mlp[fit_rows], form=cfg.form,
                      clause=cfg.clause_max is not None)
        stacked[rows] = stack_apply(s, [items[k] for k in rows], first[rows], None if mlp is None else mlp[rows],
                                    cfg.form)
    return stacked


def second_stage(items: Sequence[Item], first: Matrix, cfg: Config, mlp: Matrix | None = None,
                 stacked: Matrix | None = None) -> tuple[tuple[Matrix, Matrix], Matrix]:
    """The stacker fitted on `first` (out-of-fold probabilities of `items`; `mlp`: the hidden layer's out-of-fold
    log-odds, round 11) and the tags' thresholds: 0.5, or with `stack_thresholds` chosen per tag on the stacker's
    own out-of-fold output over the same author groups (`stacked`: that output, if the caller has it already)."""
    stack = fit_stack(items, first, cfg.l2_stack, author_l2=cfg.author_l2_stack, mlp=mlp, form=cfg.form,
                      clause=cfg.clause_max is not None)
    if not cfg.stack_thresholds:
        return stack, np.full(len(ll.TAGS), 0.5)
    if stacked is None:
        stacked = stacked_oof(items, first, cfg, mlp)
    return stack, per_tag_thresholds(stacked, items)


def choose_thresholds(items: Sequence[Item], cfg: Config) -> tuple[Matrix, float]:
    """Per-tag thresholds and the stage margin from an inner leave-one-author-out over `items`."""
    authors = sorted({i.author for i in items})
    probs = np.zeros((len(items), len(ll.TAGS)))
    stage_right = np.zeros((len(items), len(MARGIN_GRID)))
    for author in authors:
        train = [i for i in items if i.author != author]
        held = [k for k, i in enumerate(items) if i.author == author]
        w = weights(fit_tags(train, cfg), fit_stage(train, cfg), np.full(len(ll.TAGS), 0.5), 0.0)
        for k in held:
            item = items[k]
            p = ll.tag_probabilities(w, item.tag_input, item.rule_tags)
            probs[k] = [p[t] for t in ll.TAGS]
            sp = ll.stage_probabilities(w, item.stage_input)
            best, rule = int(np.argmax(sp)), ll.STAGES.index(item.stage_input.rule_stage)
            for m, margin in enumerate(MARGIN_GRID):
                chosen = ll.STAGES[best] if sp[best] - sp[rule] > margin else item.stage_input.rule_stage
                stage_right[k, m] = chosen == item.expected_stage
    y = np.array([[t in i.expected_tags for t in ll.TAGS] for i in items], dtype=bool)
    thresholds = np.zeros(len(ll.TAGS))
    for j in range(len(ll.TAGS)):
        errors = [((probs[:, j] >= th) != y[:, j]).sum() for th in THRESHOLD_GRID]
        thresholds[j] = THRESHOLD_GRID[int(np.argmin(errors))]  # ties: the lowest threshold with fewest errors
    margin = MARGIN_GRID[int(np.argmax(stage_right.sum(0)))]
    return thresholds, float(margin)


# ---------------------------------------------------------------- round 9: the stage head reads learned tags


def oof_learned_tags(items: Sequence[Item], cfg: Config, first: Matrix) -> list[tuple[str, ...]]:
    """Each record's tags as the learned tag head gives them when its author group was left out: the first
    stage's out-of-fold probabilities (`first`, first_stage_oof), a second stage and thresholds fitted on the
    other groups' rows (none without cfg.folds), and learned_layer.learned_tags' decision rule."""
    folds = cfg.folds or STAGE_INPUT_FOLDS
    group = author_groups(items, folds)
    chosen: list[tuple[str, ...]] = [()] * len(items)
    hidden = extra_oof(items, cfg, folds)
    for g in range(folds):
        fit_rows = [k for k, i in enumerate(items) if group[i.author] != g]
        rows = [k for k, i in enumerate(items) if group[i.author] == g]
        probs, thresholds = first[rows], np.full(len(ll.TAGS), cfg.threshold)
        if cfg.folds:
            stack, thresholds = (second_stage([items[k] for k in fit_rows], first[fit_rows], cfg) if hidden is None
                                 else second_stage([items[k] for k in fit_rows], first[fit_rows], cfg,
                                                   hidden[fit_rows]))
            probs = stack_apply(stack, [items[k] for k in rows], first[rows],
                                None if hidden is None else hidden[rows], cfg.form)
        for k, p in zip(rows, probs, strict=True):
            tags = {t for j, t in enumerate(ll.TAGS) if p[j] >= thresholds[j]}
            if not items[k].tag_input.has_future_date:
                tags -= ll.DATED_TAGS
            chosen[k] = tuple(sorted(tags))
    return chosen


def stage_inputs_with_tags(items: Sequence[Item], tags: Sequence[tuple[str, ...]]) -> list[StageInput]:
    """Each record's StageInput as extract() builds it when the tagger returns `tags`: the final tags, and the
    rules' stage and evidence that read them, are what a stager sees in production."""
    inputs = []
    for item, given in zip(items, tags, strict=True):
        seen: dict[str, StageInput] = {}

        def stager(data: StageInput, seen: dict[str, StageInput] = seen) -> Stage | None:
            seen["stage"] = data
            return data.rule_stage

        extract(item.sample["text"], ref_time=datetime.fromisoformat(item.sample["ref_time"]),
                tagger=lambda _data, given=given: given, stager=stager)
        inputs.append(seen["stage"])
    return inputs


STAGE_INPUT_FOLDS = 4  # author groups of the cross-fitted tags when the tag head has no second stage
STAGE_INPUTS_CACHE: Path | None = None  # --stage-inputs: reuse the cross-fitted StageInputs (unchanged rules/config)


def cross_fitted_stage_inputs(items: Sequence[Item], cfg: Config) -> list[StageInput]:
    """Each record's StageInput as serving builds it (round 9): in production the stage head reads the LEARNED tag
    head's tags (and the rules' stage computed from them); here each record's tags come from a tag head fitted
    without its author group (cross-fitted, so they are as wrong as an unseen author's). For measuring the stage
    head as it serves (stage_loao --score-tags learned) and a fit on them (--train-tags learned, not shipped)."""
    key = ("stage-inputs", len(items), cfg.folds, cfg.l2_hash, cfg.l2_dense, cfg.iters, cfg.l2_pool, cfg.tag_bits,
           cfg.l2_tag_hash, cfg.l2_stack, cfg.stack_thresholds, cfg.threshold, tuple(i.sample["id"] for i in items))
    if STAGE_INPUTS_CACHE is not None and STAGE_INPUTS_CACHE.exists():
        cached_key, cached_inputs = pickle.loads(STAGE_INPUTS_CACHE.read_bytes())  # noqa: S301 (written here)
        if cached_key == key:
            return list(cached_inputs)
    first = first_stage_oof(items, cfg, cfg.folds or STAGE_INPUT_FOLDS)
    inputs = stage_inputs_with_tags(items, oof_learned_tags(items, cfg, first))
    if STAGE_INPUTS_CACHE is not None:
        STAGE_INPUTS_CACHE.write_bytes(pickle.dumps((key, inputs)))
    return inputs

# ---------------------------------------------------------------- scoring with the full extractor


@dataclass
class Tally:
    n: int = 0
    tags: int = 0
    stage: int = 0

    def add(self, tags_ok: bool, stage_ok: bool) -> None:
        self.n, self.tags, self.stage = self.n + 1, self.tags + tags_ok, self.stage + stage_ok


def run_learned(w: ll.Weights, sample: dict[str, Any]) -> tuple[set[str], Stage | None]:
    rules_tagger = make_tagger(learned=False)

    def tagger(data: TagInput) -> tuple[str, ...]:
        return ll.learned_tags(w, data, rules_tagger(data))

    def stager(data: StageInput) -> Stage | None:
        return ll.learned_stage(w, data)

    result = extract(sample["text"], ref_time=datetime.fromisoformat(sample["ref_time"]), tagger=tagger,
                     stager=stager)
    return set(result.tags), result.stage_hint


def loao(items: Sequence[Item], cfg: Config, *, inner: bool, only: Sequence[str] = (),
         nested: bool = False) -> dict[str, Any]:
    authors = sorted({i.author for i in items} & set(only or {i.author for i in items}))
    shared = first_stage_oof(items, cfg, cfg.folds) if cfg.folds and not nested else None
    shared_mlp = extra_oof(items, cfg, cfg.folds) if not nested else None
    rows: dict[str, tuple[Tally, Tally]] = {}
    counts = {t: np.zeros((2, 3), dtype=int) for t in ll.TAGS}  # rules / learned: tp, fp, fn
    chosen: dict[str, Any] = {}
    # The same comparison by text length and by input format, over all held-out authors together: where the
    # layer helps and where it does not (a long multi-topic memo is its known weak spot).
    groups: dict[str, tuple[Tally, Tally]] = defaultdict(lambda: (Tally(), Tally()))
    for author in authors:
        train = [i for i in items if i.author != author]
        held = [i for i in items if i.author == author]
        thresholds, margin = (choose_thresholds(train, cfg) if inner
                              else (np.full(len(ll.TAGS), cfg.threshold), 0.0))
        stack, mlp, cnn = None, None, None
        if cfg.folds:
            train_rows = [k for k, i in enumerate(items) if i.author != author]
            first = shared[train_rows] if shared is not None else first_stage_oof(train, cfg, cfg.folds)
            hidden = shared_mlp[train_rows] if shared_mlp is not None else extra_oof(train, cfg, cfg.folds)
            mlp = fit_mlp(train, cfg.hidden) if cfg.hidden is not None else None
            cnn = fit_cnn(train, cfg.conv) if cfg.conv is not None else None
            stack, thresholds = second_stage(train, first, cfg, hidden)
        chosen[author] = (thresholds.tolist(), margin)
        w = weights(fit_tags(train, cfg), fit_stage(train, cfg), thresholds, margin, stack=stack, mlp=mlp,
                    cnn=cnn)
        rules, learned = Tally(), Tally()
        for item in held:
            tags, stage = run_learned(w, item.sample)
            rules.add(item.rules_final_tags == item.expected_tags, item.rules_stage == item.expected_stage)
            learned.add(tags == item.expected_tags, stage == item.expected_stage)
            rules_ok = (item.rules_final_tags == item.expected_tags, item.rules_stage == item.expected_stage)
            for group in (_length_group(item.sample["text"]), f"format {item.sample['format']}"):
                groups[group][0].add(*rules_ok)
                groups[group][1].add(tags == item.expected_tags, stage == item.expected_stage)
            for t in ll.TAGS:
                for r, got in enumerate((item.rules_final_tags, tags)):
                    counts[t][r] += (t in got and t in item.expected_tags, t in got and t not in item.expected_tags,
                                     t in item.expected_tags and t not in got)
        rows[author] = (rules, learned)
        print(f"  {author}: n={rules.n} tags {rules.tags / rules.n:.1%} -> {learned.tags / learned.n:.1%}, "
              f"stage {rules.stage / rules.n:.1%} -> {learned.stage / learned.n:.1%}", flush=True)
    return {"rows": rows, "counts": counts, "chosen": chosen, "groups": dict(sorted(groups.items()))}


def _length_group(text: str) -> str:
    n = len(text)
    return "length < 60" if n < 60 else "length 60-149" if n < 150 else "length >= 150"


def report(name: str, result: dict[str, Any]) -> None:
    rows = result["rows"]
    print(f"\n### {name}\n\n| author | records | rules tags | learned tags | rules stage | learned stage |")
    print("|---|---|---|---|---|---|")
    for author, (r, lrn) in rows.items():
        print(f"| {author} | {r.n} | {r.tags / r.n:.1%} | {lrn.tags / lrn.n:.1%} | {r.stage / r.n:.1%} | "
              f"{lrn.stage / lrn.n:.1%} |")
    for label, pick in (("mean over authors", lambda t: t), ):
        _ = pick
        means = [np.mean([getattr(rows[a][k], f) / rows[a][k].n for a in rows]) for f in ("tags", "stage")
                 for k in (0, 1)]
        worst = [min(getattr(rows[a][k], f) / rows[a][k].n for a in rows) for f in ("tags", "stage")
                 for k in (0, 1)]
        print(f"| {label} | | {means[0]:.1%} | {means[1]:.1%} | {means[2]:.1%} | {means[3]:.1%} |")
        print(f"| worst author | | {worst[0]:.1%} | {worst[1]:.1%} | {worst[2]:.1%} | {worst[3]:.1%} |")
    print("\n| group (all held-out authors) | records | rules tags | learned tags | rules stage | learned stage |")
    print("|---|---|---|---|---|---|")
    for group, (r, lrn) in result["groups"].items():
        print(f"| {group} | {r.n} | {r.tags / r.n:.1%} | {lrn.tags / lrn.n:.1%} | {r.stage / r.n:.1%} | "
              f"{lrn.stage / lrn.n:.1%} |")
    print("\n| tag | rules P | rules R | learned P | learned R |\n|---|---|---|---|---|")
    for t, c in result["counts"].items():
        cells = []
        for r in range(2):
            tp, fp, fn = c[r]
            cells += [f"{tp / (tp + fp):.1%}" if tp + fp else "—", f"{tp / (tp + fn):.1%}" if tp + fn else "—"]
        print(f"| {t} | " + " | ".join(cells) + " |")


def write(items: Sequence[Item], cfg: Config, *, inner: bool) -> Path:
    thresholds, margin = choose_thresholds(items, cfg) if inner else (np.full(len(ll.TAGS), cfg.threshold), 0.0)
    meta: dict[str, Any] = {"trained_on": sorted({repo_path(p) for p in TRAINING_POOL}), "records": len(items),
            "l2_hash": cfg.l2_hash, "l2_pool": cfg.l2_pool, "l2_dense": cfg.l2_dense, "iters": cfg.iters,
            "stage": {"l2_hash": SHIPPED_STAGE.l2_hash, "class_power": SHIPPED_STAGE.class_power,
                      "smooth": SHIPPED_STAGE.smooth, "aspect": SHIPPED_STAGE.aspect},
            **({"stage_context": list(SHIPPED_STAGE.context)} if SHIPPED_STAGE.context else {}),
            "hash_bits": ll.HASH_BITS, "tag_hash_bits": cfg.tag_bits, "l2_tag_hash": cfg.l2_tag_hash,
            "author_l2": cfg.author_l2, "author_dense": cfg.author_dense, "author_l2_stack": cfg.author_l2_stack,
            "tags": list(ll.TAGS), "stages": [s.value if s else None for s in ll.STAGES]}
    stack, mlp, cnn, form_th = None, None, None, None
    if cfg.folds:
        hidden = extra_oof(items, cfg, cfg.folds)
        first = first_stage_oof(items, cfg, cfg.folds)
        # The second stage's own out-of-fold output serves both threshold options: fitted once.
        stacked = stacked_oof(items, first, cfg, hidden) if cfg.stack_thresholds or cfg.form_thresholds else None
        stack, thresholds = second_stage(items, first, cfg, hidden, stacked)
        meta.update(folds=cfg.folds, l2_stack=cfg.l2_stack)
        if stacked is not None and cfg.form_thresholds:
            form_th = per_form_thresholds(stacked, items)
    if cfg.hidden is not None:
        mlp = fit_mlp(items, cfg.hidden)
        meta.update(mlp=dataclasses.asdict(cfg.hidden))
    if cfg.conv is not None:
        cnn = fit_cnn(items, cfg.conv)
        meta.update(cnn=dataclasses.asdict(cfg.conv))
    if cfg.dialogue:
        meta.update(dialogue=True)
    if cfg.entities:
        meta.update(entities=True)
    if cfg.form:
        meta.update(form=True)
    if cfg.spoken:
        meta.update(spoken=True)
    if cfg.clause_max is not None and cfg.folds:
        meta.update(clause_max=cfg.clause_max)
    w = weights(fit_tags(items, cfg), fit_stage(items, cfg), thresholds, margin, meta, stack, mlp, cnn)
    arrays: dict[str, Any] = {"tag_w": w.tag_w.astype(np.float16), "tag_b": w.tag_b, "thresholds": w.thresholds,
                              "stage_w": w.stage_w.astype(np.float16), "stage_b": w.stage_b}
    if form_th is not None:
        arrays["form_thresholds"] = form_th.astype(np.float32)
    if w.tag_pool_w is not None:
        arrays["tag_pool_w"] = w.tag_pool_w.astype(np.float16)
    if w.stack_w is not None and w.stack_b is not None:
        arrays["stack_w"], arrays["stack_b"] = w.stack_w, w.stack_b
    if w.mlp is not None:
        arrays.update(zip(ll.MLP_KEYS, (w.mlp.e.astype(np.float16), w.mlp.wd, w.mlp.b1, w.mlp.w2, w.mlp.b2),
                          strict=True))
    if w.cnn is not None:
        arrays.update(zip(ll.CNN_KEYS, (w.cnn.e.astype(np.float16), w.cnn.k.astype(np.float16), w.cnn.kb,
                                        w.cnn.w2, w.cnn.b2), strict=True))
    if w.tag_vec_w is not None and w.table is not None:
        arrays["tag_vec_w"] = w.tag_vec_w.astype(np.float16)
        meta.update(vec_pooling=w.vec_pooling, word_vectors=w.table.fingerprint, l2_vec=cfg.l2_vec)
    arrays["meta"] = np.array(json.dumps({**meta, "stage_margin": margin}, ensure_ascii=False))
    np.savez_compressed(ll.WEIGHTS_FILE, **arrays)
    print(f"wrote {ll.WEIGHTS_FILE.relative_to(ROOT)} ({ll.WEIGHTS_FILE.stat().st_size / 1e6:.2f} MB): "
          f"thresholds {dict(zip(ll.TAGS, thresholds.tolist(), strict=True))}, stage margin {margin}")
    return ll.WEIGHTS_FILE


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def speed(items: Sequence[Item]) -> None:
    """Per message wall time of understand_text() with and without the learned layer, and its RSS."""
    from bot.understanding.text import understand_text

    before = rss_mb()
    ll.shipped_weights()
    print(f"\nweights loaded: RSS {before:.0f} -> {rss_mb():.0f} MB")
    for learned in (False, True, False, True):  # the first pass also warms the caches
        times = []
        for item in items[::3]:  # every third message bounds the run on a shared machine
            ll._features.cache_clear()
            start = time.perf_counter()
            understand_text(item.sample["text"], sent_at=datetime.fromisoformat(item.sample["ref_time"]),
                            learned=learned)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        print(f"understand_text, learned={learned}: p50 {np.median(times):.1f} ms, "
              f"p99 {times[int(len(times) * 0.99)]:.1f} ms over {len(times)} messages; RSS {rss_mb():.0f} MB")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help="fit on the whole pool and write the weights")
    parser.add_argument("--l2", type=float, nargs="*", default=[30.0],
                        help="L2 on the hashed text features (the stage model's; the tag model's with --l2-tags -1)")
    parser.add_argument("--l2-tags", type=float, default=4.0,
                        help="L2 on the tag model's hashed features (default 4, what ships since round 8 with "
                             "2^16 rows; negative: the --l2 value, as before)")
    parser.add_argument("--pool", type=float, default=-1.0,
                        help="L2 on the clause-level (max-pooled) tag weights; negative (default, what ships): "
                             "no clause-level part (measured no better by LOAO, round 6)")
    parser.add_argument("--threshold", type=float, default=0.5, help="every tag's threshold (without --inner)")
    parser.add_argument("--no-text", action="store_true", help="also measure the rule features alone")
    parser.add_argument("--inner", action="store_true",
                        help="per-tag thresholds and the stage margin by inner leave-one-author-out (else 0.5, 0)")
    parser.add_argument("--folds", type=int, default=4,
                        help="a second tag stage and per-tag thresholds from this many author-group folds "
                             "(default 4, what ships since round 7; 0: none, the round-6 model)")
    parser.add_argument("--l2-stack", type=float, default=1.0, help="L2 of the second tag stage")
    parser.add_argument("--tag-bits", type=int, default=ll.TAG_HASH_BITS,
                        help=f"the tag model's hashed rows per scope, 2^bits (default {ll.TAG_HASH_BITS}, what ships "
                             f"since round 8; 14: the round-7 model; at most {ll.FEATURE_BITS})")
    parser.add_argument("--stack-thresholds", action="store_true",
                        help="with --folds: per-tag thresholds on the second stage's out-of-fold output (else 0.5)")
    parser.add_argument("--nested", action="store_true",
                        help="with --folds: refit the folds for every held-out author (strictly nested LOAO)")
    parser.add_argument("--oof", type=Path, help="with --folds: reuse the pool's out-of-fold first-stage output")
    parser.add_argument("--no-loao", action="store_true", help="skip the leave-one-author-out report")
    parser.add_argument("--authors", nargs="*", default=[], help="hold out only these authors (a quicker look)")
    parser.add_argument("--cache", type=Path, help="reuse the pool's rule features (experiments on unchanged rules)")
    parser.add_argument("--vectors", choices=ll.VEC_POOLINGS,
                        help="round 9: add the pooled static word vectors to the tag model (off by default)")
    parser.add_argument("--l2-vec", type=float, default=10.0, help="L2 of the word-vector block (with --vectors)")
    parser.add_argument("--author-l2", type=float, default=AUTHOR_L2,
                        help="round 10: L2 of per-author offsets fitted with the first stage and dropped after "
                             f"(annotator modelling; default {AUTHOR_L2}; negative: none)")
    parser.add_argument("--author-dense", action=argparse.BooleanOptionalAction, default=AUTHOR_DENSE,
                        help="the author offsets also cover the rules' evidence weights, not only the bias")
    parser.add_argument("--stack-author-l2", type=float, default=AUTHOR_L2_STACK,
                        help=f"L2 of per-author bias offsets in the second stage (default {AUTHOR_L2_STACK}; "
                             "negative: none)")
    parser.add_argument("--mlp-hidden", type=int, default=SHIPPED_MLP.hidden,
                        help=f"round 11: hidden units of the hidden layer the second stage reads (default "
                             f"{SHIPPED_MLP.hidden}; 0: none)")
    parser.add_argument("--mlp-epochs", type=int, default=SHIPPED_MLP.epochs)
    parser.add_argument("--mlp-l2", type=float, default=SHIPPED_MLP.l2)
    parser.add_argument("--mlp-dropout", type=float, default=SHIPPED_MLP.dropout)
    parser.add_argument("--mlp-bits", type=int, default=SHIPPED_MLP.bits, help="embedding rows 2^bits")
    parser.add_argument("--mlp-oof", type=Path, help="reuse the pool's out-of-fold hidden-layer log-odds")
    parser.add_argument("--cnn-filters", type=int, default=SHIPPED_CNN.filters,
                        help=f"round 12: filters per width of the character convolution the second stage reads "
                             f"(default {SHIPPED_CNN.filters}; 0: none)")
    parser.add_argument("--cnn-widths", type=int, nargs="+", default=list(SHIPPED_CNN.widths))
    parser.add_argument("--cnn-dims", type=int, default=SHIPPED_CNN.dims, help="character embedding dims")
    parser.add_argument("--cnn-epochs", type=int, default=SHIPPED_CNN.epochs, help="at most (early stop)")
    parser.add_argument("--cnn-l2", type=float, default=SHIPPED_CNN.l2)
    parser.add_argument("--cnn-dropout", type=float, default=SHIPPED_CNN.dropout)
    parser.add_argument("--cnn-bits", type=int, default=SHIPPED_CNN.bits, help="hashed character rows 2^bits")
    parser.add_argument("--cnn-oof", type=Path, help="reuse the pool's out-of-fold convolution log-odds")
    parser.add_argument("--dialogue", action=argparse.BooleanOptionalAction, default=SHIPPED_DIALOGUE,
                        help="round 13: rep turns the customer answered with a short assent are read as the "
                             "customer's, declined ones as the customer's negated clauses (tag model and "
                             f"convolution; default {SHIPPED_DIALOGUE})")
    parser.add_argument("--entities", action=argparse.BooleanOptionalAction, default=SHIPPED_ENTITIES,
                        help="round 14: each clause's entity keys (another firm, a person, a role, a change of "
                             f"person, a comparison ...; entity_keys.py) in the tag model (default {SHIPPED_ENTITIES})")
    parser.add_argument("--form", action=argparse.BooleanOptionalAction, default=SHIPPED_FORM,
                        help="round 16: the message's form (chat, one speaker, note; short) as inputs of the second "
                             f"stage (default {SHIPPED_FORM})")
    parser.add_argument("--form-thresholds", action=argparse.BooleanOptionalAction, default=SHIPPED_FORM_THRESHOLDS,
                        help="round 16: a threshold per tag and per form on the second stage's out-of-fold output "
                             f"(default {SHIPPED_FORM_THRESHOLDS})")
    parser.add_argument("--spoken", action=argparse.BooleanOptionalAction, default=SHIPPED_SPOKEN,
                        help="round 17: the tag model and the convolution read clauses of speech (split before a "
                             f"discourse connective and at a filler; default {SHIPPED_SPOKEN})")
    parser.add_argument("--clause-max", choices=(*ll.CLAUSE_POOLINGS, "none"), default=SHIPPED_CLAUSE_MAX or "none",
                        help="round 18: per tag, the plain customer clauses' first-stage scores pooled (max or "
                             f"soft max) as a second-stage input (default {SHIPPED_CLAUSE_MAX or 'none'})")
    parser.add_argument("--clause-oof", type=Path, help="reuse the pool's out-of-fold pooled clause scores")
    parser.add_argument("--speed", action="store_true", help="time understand_text() with the shipped weights")
    args = parser.parse_args(argv[1:])
    global OOF_CACHE, MLP_OOF_CACHE, CNN_OOF_CACHE, CLAUSE_OOF_CACHE
    OOF_CACHE, MLP_OOF_CACHE, CNN_OOF_CACHE = args.oof, args.mlp_oof, args.cnn_oof
    CLAUSE_OOF_CACHE = args.clause_oof
    cnn = dataclasses.replace(SHIPPED_CNN, filters=args.cnn_filters, widths=tuple(args.cnn_widths),
                              dims=args.cnn_dims, epochs=args.cnn_epochs, l2=args.cnn_l2, dropout=args.cnn_dropout,
                              bits=args.cnn_bits)
    mlp = dataclasses.replace(SHIPPED_MLP, hidden=args.mlp_hidden, epochs=args.mlp_epochs, l2=args.mlp_l2,
                              dropout=args.mlp_dropout, bits=args.mlp_bits)
    start = time.perf_counter()
    items = cached(args.cache, load_items)
    check_features(items)
    authors = sorted({i.author for i in items})
    print(f"pool: {len(items)} records by {len(authors)} authors ({', '.join(authors)}); "
          f"loaded in {time.perf_counter() - start:.0f} s")
    configs: dict[str, Config] = {}
    if args.no_text:
        configs["rule features only"] = Config(l2_hash=1.0, use_text=False)
    l2_tags = args.l2_tags if args.l2_tags >= 0 else None
    for l2 in args.l2:
        configs[f"rules + text n-grams/words, L2 {l2:g}"] = Config(l2_hash=l2,
                                                                   l2_pool=args.pool if args.pool >= 0 else None,
                                                                   threshold=args.threshold, folds=args.folds,
                                                                   l2_stack=args.l2_stack,
                                                                   stack_thresholds=args.stack_thresholds,
                                                                   tag_bits=args.tag_bits,
                                                                   l2_tag_hash=l2_tags, vectors=args.vectors,
                                                                   l2_vec=args.l2_vec,
                                                                   author_l2=args.author_l2
                                                                   if args.author_l2 >= 0 else None,
                                                                   author_dense=args.author_dense,
                                                                   mlp=mlp, cnn=cnn, dialogue=args.dialogue,
                                                                   entities=args.entities, form=args.form,
                                                                   form_thresholds=args.form_thresholds,
                                                                   spoken=args.spoken,
                                                                   clause_max=None if args.clause_max == "none"
                                                                   else args.clause_max,
                                                                   author_l2_stack=args.stack_author_l2
                                                                   if args.stack_author_l2 >= 0 else None)
    for name, cfg in configs.items():
        if args.no_loao:
            break
        print(f"\n{name}", flush=True)
        report(name, loao(items, cfg, inner=args.inner, only=args.authors, nested=args.nested))
    if args.write:
        write(items, configs[f"rules + text n-grams/words, L2 {args.l2[0]:g}"], inner=args.inner)
    if args.speed:
        speed(items)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
