"""Tags from a semantic signal plus rules: clause embeddings against exemplar phrasings, keyword
evidence, and clause-scoped negation, combined per tag by a small calibrated logistic layer.

For each tag and message, the features are (see `FEATURES`):
- sim: the best cosine similarity of any eligible clause to the tag's exemplars;
- margin: at that clause, how much closer it is to this tag than to any other tag or to neutral talk
  (e5 similarities are compressed into 0.8–0.95, so the margin carries most of the signal);
- keyword: the rule-based tagger (bot/extract/tags.py, with its negations) fired the tag;
- pattern: a sentence construction of the tag appears (bot/extract/tag_patterns.py);
- dated: the message names a future day (a visit is only "booked" with one).
The weights per tag come from tag_calibration.json, fitted on the dev corpus with k-fold
cross-validation (benchmarks/calibrate_tags.py); without it a fixed fallback is used.

A clause that negates or declines ("没提降价的事", "演示以后再说", "价格你先别报") gives no semantic
evidence for the request- and objection-like tags, whatever it resembles: embeddings do not see "not".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.extract.model import TagInput
from bot.extract.textnorm import clauses

from . import embedder
from .exemplars import EXEMPLARS, NEUTRAL

FEATURES = ("sim", "margin", "keyword", "pattern", "dated")
CALIBRATION_FILE = Path(__file__).with_name("tag_calibration.json")
# Request tags come from what the customer says; a rep offering a demo is no request.
CUSTOMER_REQUEST_TAGS = frozenset({"要演示", "要报价"})
# Tags whose own phrasings are negative ("不续约", "打不开", "付不了"): a negation word is their
# content, not a cancellation.
NEGATIVE_BY_NATURE = frozenset({"流失风险", "技术问题", "付款回款"})
# Declines and denials, scoped to one clause. 没(有) negates the act of asking as well as saying: "没(有)要报价"
# (did not ask for a quote), "没让我们报价" (did not have us quote) deny the request the verb after them names.
_NEGATION = re.compile(
    r"没(?:有)?(?:提|说|问|要求|要|让|再提|讲|打算)|不(?:需要|用|必|要求|考虑|着急|急)|无需|别(?:报|发|来|急)|先别|先不|"
    r"暂(?:时)?不|以后再说|回头再说|再说吧|不贵|没问题|还行|可以接受|不是问题"
)
_MIN_CJK = 3  # shorter clauses ("好的", "嗯") carry no tag
_CJK = re.compile(r"[\u4e00-\u9fff]")
# (sim, margin) of a tag with no eligible clause: as unlike the tag as a typical unrelated clause.
NO_CLAUSE = (0.8, -0.1)
MAX_CLAUSES = 16  # bounds the cost of a very long paste: the first clauses are embedded


@dataclass(frozen=True)
class Calibration:
    weights: Mapping[str, tuple[float, ...]]  # tag -> one weight per feature, then the bias
    threshold: float = 0.5
    # The same layer fitted without the embedding features: used when clauses are not embedded.
    rules_only: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


# Used only when no calibration file ships: keyword evidence fires alone, a clear semantic margin too.
_FALLBACK = (1.0, 6.0, 4.0, 1.0, 0.0, -2.0)


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    try:
        data = json.loads(CALIBRATION_FILE.read_text("utf-8"))
    except (OSError, ValueError):
        return Calibration({})
    return Calibration({k: tuple(float(x) for x in v) for k, v in data["weights"].items()},
                       float(data.get("threshold", 0.5)),
                       {k: tuple(float(x) for x in v) for k, v in data.get("weights_rules_only", {}).items()})


def eligible_clauses(text: str) -> list[str]:
    found = [c.strip() for c in clauses(text) if len(_CJK.findall(c)) >= _MIN_CJK]
    return list(dict.fromkeys(found))[:MAX_CLAUSES]


def negated(clause: str) -> bool:
    return bool(_NEGATION.search(clause))


@lru_cache(maxsize=64)
def _exemplar_matrix(phrases: tuple[str, ...]) -> npt.NDArray[np.float32]:
    return embedder.embed(phrases)


def _tag_sims(vectors: npt.NDArray[np.float32], exemplars: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
    """Per tag (and "" for neutral talk): each clause's best similarity to that tag's exemplars."""
    sims: dict[str, np.ndarray] = {}
    for tag, phrases in (*exemplars.items(), ("", NEUTRAL)):
        matrix = _exemplar_matrix(tuple(phrases))
        sims[tag] = (vectors @ matrix.T).max(axis=1) if len(vectors) else np.zeros(0)
    return sims


def tag_features(
    data: TagInput, exemplars: Mapping[str, Sequence[str]] = EXEMPLARS
) -> dict[str, tuple[float, ...]]:
    """The feature vector (FEATURES order) of every tag for one message."""
    customer = eligible_clauses(data.customer_text)
    rep = [c for c in eligible_clauses(data.rep_text) if c not in customer]
    all_clauses = customer + rep
    vectors = embedder.embed(all_clauses) if all_clauses else np.zeros((0, 384), dtype=np.float32)
    sims = _tag_sims(vectors, exemplars)
    negations = [negated(c) for c in all_clauses]
    features: dict[str, tuple[float, ...]] = {}
    for tag in exemplars:
        best_sim, best_margin = NO_CLAUSE
        found = False
        for i in range(len(all_clauses)):
            if i >= len(customer) and tag in CUSTOMER_REQUEST_TAGS:
                continue
            if negations[i] and tag not in NEGATIVE_BY_NATURE:
                continue
            others = max(float(sims[t][i]) for t in sims if t != tag)
            sim = float(sims[tag][i])
            margin = sim - others
            if not found or margin > best_margin:
                best_sim, best_margin, found = sim, margin, True
        features[tag] = (best_sim, best_margin, float(tag in data.keyword_tags), float(tag in data.pattern_tags),
                         float(data.has_future_date))
    return features


def _probability(weights: Sequence[float], features: Sequence[float]) -> float:
    z = weights[-1] + sum(w * x for w, x in zip(weights[:-1], scaled(features), strict=True))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def scaled(features: Sequence[float]) -> tuple[float, ...]:
    """Put the compressed similarities on a usable scale (sim around 0.85, margins within ±0.1)."""
    sim, margin, *rest = features
    # Clipped: a clause unlike anything (or no clause at all) must not count as strong evidence
    # through a negative weight.
    return (max(-1.0, min(1.5, (sim - 0.85) * 10.0)), max(-1.5, min(1.5, margin * 10.0)), *rest)


def rule_features(data: TagInput, tags: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """The feature vectors without embedding anything (sim and margin at their no-evidence values)."""
    return {tag: (*NO_CLAUSE, float(tag in data.keyword_tags), float(tag in data.pattern_tags),
                  float(data.has_future_date)) for tag in tags}


def semantic_tags(
    data: TagInput,
    *,
    exemplars: Mapping[str, Sequence[str]] = EXEMPLARS,
    calibration: Calibration | None = None,
    embed_clauses: bool = True,
) -> tuple[str, ...]:
    """The tags whose calibrated probability reaches the threshold, sorted. With `embed_clauses`
    False the layer fitted without the embedding features decides (no model call)."""
    calibration = calibration or default_calibration()
    use_rules_layer = not embed_clauses and bool(calibration.rules_only)
    if not use_rules_layer and not eligible_clauses(data.customer_text) and not eligible_clauses(data.rep_text):
        return data.keyword_tags  # nothing to compare: the keyword rules alone decide
    features_by_tag = rule_features(data, list(exemplars)) if use_rules_layer else tag_features(data, exemplars)
    chosen = []
    for tag, features in features_by_tag.items():
        table = calibration.rules_only if use_rules_layer else calibration.weights
        weights = table.get(tag, _FALLBACK)
        if _probability(weights, features) >= calibration.threshold:
            chosen.append(tag)
    return tuple(sorted(chosen))


# A clause this close to a clause the team confirmed for a tag (paraphrases measure 0.92–0.96 with
# e5-small, unrelated sales talk 0.83–0.89), and closer to it than to any other tag, says that tag.
LEARNED_MATCH = 0.915
LEARNED_MARGIN = 0.015


# Embedding costs ~1.5 ms per character on this 2-core machine, so only the clauses that share a
# two-character word with a team's learned clauses are embedded, at most this many per message (the most
# overlapping first): per message p50 stays within the 50 ms budget with a team that has learned.
MAX_LEARNED_CLAUSES = 2
_FUNCTION_CHARS = frozenset("的了是我们你他她它在有和就都也还又吗呢吧啊这那个一不说要会")


def _bigrams(text: str) -> set[str]:
    cjk = [c if _CJK.match(c) else " " for c in text]
    return {a + b for a, b in zip(cjk, cjk[1:], strict=False)
            if a != " " and b != " " and not (a in _FUNCTION_CHARS and b in _FUNCTION_CHARS)}


def learned_matches(
    data: TagInput, learned: Mapping[str, Sequence[str]], exemplars: Mapping[str, Sequence[str]] = EXEMPLARS,
    *, already: frozenset[str] = frozenset(),
) -> set[str]:
    """Tags a team taught by example that a clause of this message paraphrases (`already` decided tags
    are not looked for again)."""
    teach = {t: tuple(c for c in cs if c) for t, cs in learned.items() if t in exemplars and cs and t not in already}
    teach = {t: cs for t, cs in teach.items() if cs}
    if not teach:
        return set()
    customer = eligible_clauses(data.customer_text)
    rep = [c for c in eligible_clauses(data.rep_text) if c not in customer]
    taught = {t: set().union(*map(_bigrams, cs)) for t, cs in teach.items()}
    overlap: dict[str, int] = {}
    for i, clause in enumerate(customer + rep):
        if negated(clause):
            continue  # checked again per tag below; a clause that declines is no evidence for a request
        grams = _bigrams(clause)
        best = max((len(grams & taught[t]) for t in teach
                    if not (i >= len(customer) and t in CUSTOMER_REQUEST_TAGS)), default=0)
        if best:
            overlap[clause] = best
    candidates = sorted(overlap, key=overlap.__getitem__, reverse=True)[:MAX_LEARNED_CLAUSES]
    # Negation-bearing clauses of tags negative by nature ("打不开") are candidates too.
    for clause in customer + rep:
        if len(candidates) >= MAX_LEARNED_CLAUSES:
            break
        if clause not in candidates and negated(clause) and any(
                t in NEGATIVE_BY_NATURE and _bigrams(clause) & taught[t] for t in teach):
            candidates.append(clause)
    if not candidates:
        return set()
    vectors = embedder.embed(candidates)
    base = _tag_sims(vectors, exemplars)
    found: set[str] = set()
    for tag, clauses_ in teach.items():
        sims = (vectors @ _exemplar_matrix(clauses_).T).max(axis=1)
        for i, clause in enumerate(candidates):
            if tag in CUSTOMER_REQUEST_TAGS and clause not in customer:
                continue
            if negated(clause) and tag not in NEGATIVE_BY_NATURE:
                continue
            others = max(float(base[t][i]) for t in base if t != tag)
            if sims[i] >= LEARNED_MATCH and sims[i] - others >= LEARNED_MARGIN:
                found.add(tag)
    return found


def merged_exemplars(extra: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """The built-in exemplars plus a team's learned clauses (only for tags the taxonomy knows)."""
    return {tag: tuple(dict.fromkeys((*phrases, *extra.get(tag, ())))) for tag, phrases in EXEMPLARS.items()}


def best_clause_for(text: str, tag: str, exemplars: Mapping[str, Sequence[str]] = EXEMPLARS) -> str | None:
    """The clause of ``text`` that says ``tag`` most clearly (largest margin over the other tags and
    neutral talk), skipping clauses that decline or deny; None when the text has no usable clause."""
    candidates = [c for c in eligible_clauses(text) if tag in NEGATIVE_BY_NATURE or not negated(c)]
    if not candidates or tag not in exemplars:
        return None
    sims = _tag_sims(embedder.embed(candidates), exemplars)
    margins = [float(sims[tag][i]) - max(float(sims[t][i]) for t in sims if t != tag) for i in range(len(candidates))]
    return candidates[max(range(len(candidates)), key=margins.__getitem__)]
