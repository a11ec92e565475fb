"""A learned layer over the rules: per-tag logistic regression and a stage classifier (issue #13, round 5).

Both models read the rules layer's decision as evidence and add what many authors' phrasings teach:
hashed character 1–3-grams and jieba words of each clause. Every feature is scoped: the customer's side
or the rep's chat turns, and a clause that declines or denies (semantic_tags.negated) gets its own
feature space, so a negated "演示" is a different feature from a plain one. Training
(benchmarks/train_learned_layer.py) keeps the weights of negated-clause features <= 0 for the tags that
are not negative by nature, and of rep-turn features <= 0 for request tags: a negation or a rep's offer
can only lower those tags, never raise them.

Round 6 added an optional clause-level part to the tag model (used when the weights file has `tag_pool_w`):
every plain (not negated) customer-side clause gets its own score from a second weight table, and a message's
tags read the soft maximum of those scores (log-sum-exp, with a zero that stands for "no clause says it"), so
a tag said in one clause of a long memo is not diluted by the other topics' n-grams. Negated and rep clauses
stay out of that pool, so they can still only lower a request or an objection. By leave-one-author-out it did
not beat the message-level model, so the shipped weights do not have it (tests/data/FINAL_TAGS.md).

Round 7 added an optional second stage (used when the weights file has `stack_w`): a small logistic regression
per tag over the first stage's log-odds of all ten tags and the rules' evidence, fitted on out-of-fold
probabilities (inner folds over author groups), so one tag's probability can read the others' (tags that come
together or exclude each other) and the first stage's over- or under-confidence is recalibrated per tag.
Weights without it load and decide as before.

Round 8: the tag model hashes into 2^16 rows per scope instead of 2^14 (TAG_HASH_BITS): the pool's 260k distinct
customer-side keys shared 16k rows, so unrelated n-grams summed into one weight. The stage model keeps 2^14
(HASH_BITS). Both read the same crc32 values: the features are hashed once at FEATURE_BITS and folded (the low bits
kept, `fold`), which is exactly hashing at the smaller size, so weights of either size load and decide as they were
trained (a tag model's size is read from its weights' shape).

Round 9 adds an optional dense block to the tag model (used when the weights file has `tag_vec_w`): the static word
vectors of the plain customer-side clauses' words (word_vectors.py, distilled once from the bundled e5 model), pooled
per message, so a synonym of a trained word moves the tag a little even when no training n-gram covers it. Only plain
customer clauses are pooled: a negated clause or a rep's turn adds nothing to it, so those keep only lowering the tags
they may lower. Weights without the block load and decide as before; weights with it need the table they were trained
on (its fingerprint is in their meta), else they are refused and the rules decide.

Round 11 adds an optional hidden layer (used when the weights file has `mlp_e`): a fastText-style embedding bag of the
plain customer-side clauses' hashed features (folded to 2^`mlp_bits` rows), scaled by 1/sqrt(count), plus the rules'
evidence, through a ReLU layer to ten tag log-odds. Its log-odds are ten more inputs of the second stage (after the
rules' evidence), so the second stage weighs the linear and the non-linear reading per tag. It reads only plain
customer clauses: a negated clause or a rep's turn never changes its output, so the guarantees above still hold
whatever sign the second stage gives it. Weights without it load and decide as before.

Round 12 adds an optional character convolution (used when the weights file has `cnn_e`): each plain customer-side
clause (lower-cased, digits read as 0, at most `CNN_MAX_CHARS` characters, between a start and an end mark) is a
sequence of hashed character embeddings; filters of a few widths slide over it, ReLU, max over the clause's positions
and over the message's plain customer clauses, then ten tag log-odds. It reads characters in order, which a bag of
n-grams cannot. Its log-odds are ten more inputs of the second stage (after the hidden layer's, when both are there).
Like the hidden layer it reads no negated clause and no rep turn. Weights without it load and decide as before.

Round 13 adds an optional reading of the chat's turns (weights whose meta has `"dialogue": true`): a rep's turn that
the customer's next turn answers with a short assent ("好的", "行", "嗯", "可以", "对") is read as the customer's own
words (its clauses in the customer-side scopes, and in the convolution), and one the customer turns down ("先不用",
"再说吧", "算了", or a short negated answer) as a customer's negated clause. A declined offer thus still only lowers
what a negation lowers, and an accepted one counts as what the customer asked for (as the extractor's accepted offers
already do for the answers it knows). Weights without the flag read the text exactly as before.

Round 16 adds an optional reading of the message's form (weights whose meta has `"form": true`): a chat copy (turns
of the customer and of another speaker), a single speaker's message (a forwarded single message: turns of one side
only), a note without any speaker, and whether the customer side says at most two plain clauses. These four inputs
(`form_dense`) come after the others in the second stage, so each tag's log-odds gets a bias per form: a short message
of one speaker carries less evidence than a chat, and a decision rule calibrated on the mix of forms can be off on one
of them. They read no clause's words: a negated clause is not counted, so it still only lowers what a negation
lowers. Weights without the flag decide as before. The same round's other lever: a threshold per tag and per form
(optional block `form_thresholds`, FORMS × tags), chosen on the second stage's out-of-fold output; weights without it
decide every form at `thresholds`.

Round 17 adds an optional reading of spoken text (weights whose meta has `"spoken": true`): a clause
is also split before a discourse connective that opens a new clause in speech (然后 / 但是 / 不过 /
可是 / 所以 / 因为 / 而且 / 另外 / 还有 / 其实 / 只是 / 而是 / 对了 …) and at a hesitation filler (嗯 /
呃), so a transcript without punctuation or pauses is read in clauses as written text is, and a
negation's scope (semantic_tags.negated) ends at the connective instead of covering the whole run
("价格没问题但是老板要换供应商" reads "但是老板要换供应商" as a plain clause). The split applies to the
tag model's scopes and the convolution's clauses; the rules and the stage head read the text as
before. Weights without the flag read the text exactly as before.

Round 18 adds an optional reading of the single clause that says a tag (weights whose meta has `"clause_max"`: "max"
or "softmax"): each plain customer-side clause is scored per tag by the first stage's own weights (the sum of its
hashed keys' rows in the plain customer scope), and per tag the clauses' scores are pooled with a zero that stands
for "no clause says it" (their maximum, or their soft maximum, log-sum-exp), clipped as the first stage's log-odds.
The message-level sum adds every clause's keys, so a long message's other features can outweigh the one clause that
decides a tag; the pooled score is that clause's evidence alone. It is one more input per tag of the second stage
(after the convolution's log-odds, before the form's inputs), and a tag's second-stage weight reads only its own
pooled score, kept >= 0. Negated clauses and rep turns are not pooled: a negation only takes a clause out of the
pool and a rep's offer never enters it, so they still only lower what they lowered. Weights without the flag decide
as before.

Inference is numpy only: a sum of weight rows at the hashed indices. The weights (learned_layer.npz,
float16, a few MB) load once per process; the same text always gives the same decision.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.extract.model import StageInput, TagInput
from bot.extract.segment import tokens
from bot.extract.stage import said_to_be_new, stage_evidence
from bot.extract.textnorm import clauses
from bot.extract.weights_file import ShippedWeights
from store.stages import Stage

from . import word_vectors
from .entity_keys import clause_entity_keys
from .semantic_tags import CUSTOMER_REQUEST_TAGS, NEGATIVE_BY_NATURE, negated
from .stage_features import N_ASPECT, aspect_indices

WEIGHTS_FILE = Path(__file__).with_name("learned_layer.npz")
TAGS = ("竞品对比", "价格异议", "决策链变更", "要报价", "要演示", "预约拜访", "合同法务", "付款回款", "技术问题",
        "流失风险")
STAGES: tuple[Stage | None, ...] = (None, *Stage)
# Hashed features per scope; four scopes (customer, customer negated, rep, rep negated). HASH_BITS: the stage
# model and the clause pool; TAG_HASH_BITS: the tag model the trainer writes (round 8, tests/data/FINAL_TAGS.md).
HASH_BITS = 14
TAG_HASH_BITS = 16
FEATURE_BITS = max(HASH_BITS, TAG_HASH_BITS)
SCOPES = ("C", "CN", "R", "RN")
MAX_CLAUSES = 40  # bounds the cost of a very long paste
_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
# Tags that need a date or deadline in the text (README: a visit is booked with a date).
DATED_TAGS = frozenset({"预约拜访"})


def _has_word_char(gram: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or ch in _WORD for ch in gram)


def _clause_keys(clause: str) -> set[str]:
    text = clause.strip().lower()
    keys = {"c" + text[i : i + n] for n in (1, 2, 3) for i in range(len(text) - n + 1)
            if _has_word_char(text[i : i + n])}
    keys.update("w" + word for word in _clause_words(text))
    return keys


def _hash(key: str) -> int:
    return zlib.crc32(key.encode("utf-8")) & ((1 << FEATURE_BITS) - 1)


def fold(indices: npt.NDArray[np.int64], bits: int) -> npt.NDArray[np.int64]:
    """Scoped indices hashed at FEATURE_BITS as if hashed at `bits`: a crc32 masked to fewer bits is its low bits,
    so this is exactly the smaller hashing (sorted and unique, like the features of one message)."""
    if bits == FEATURE_BITS:
        return indices
    low = (indices >> FEATURE_BITS << bits) | (indices & ((1 << bits) - 1))
    return np.unique(low)


def text_indices(customer_text: str, rep_text: str) -> npt.NDArray[np.int64]:
    """The hashed feature indices at FEATURE_BITS (offset past the dense block is added by the caller) of one
    message; `fold` them to a model's size."""
    return _text_indices(customer_text, rep_text)


def pooled_indices(customer_text: str, rep_text: str) -> tuple[npt.NDArray[np.int64], ...]:
    """The hashed indices of each plain customer-side clause (the clause-level part of the tag model)."""
    return _features(customer_text, rep_text)[1]


def _text_indices(customer_text: str, rep_text: str) -> npt.NDArray[np.int64]:
    return _features(customer_text, rep_text)[0]


# Round 17: where a clause of speech ends without punctuation: before a discourse connective that opens a clause (at
# least two characters into the clause, so a clause that starts with one is not split), and at a hesitation filler
# (dropped). A closed class of Chinese function words, not strings of records.
_SPOKEN_BOUNDARY = re.compile(
    r"(?<=[^\s，,；;。！？!?]{2})(?=但是|不过|可是|然后|而且|所以|因为|另外|还有就是|还有|其实|只是|而是|对了|就是说|反正|接着|后来)"
    r"|[嗯呃]+")


def spoken_clauses(text: str) -> list[str]:
    """`clauses(text)`, each further split where a clause of speech ends (_SPOKEN_BOUNDARY)."""
    return [part for clause in clauses(text) for part in _SPOKEN_BOUNDARY.split(clause) if part.strip()]


def reading_clauses(text: str, spoken: bool = False) -> list[str]:
    """The clauses the tag model and the convolution read: `clauses`, or with `spoken` (round 17) spoken_clauses."""
    return spoken_clauses(text) if spoken else clauses(text)


def plain_customer_words(customer_text: str, rep_text: str) -> tuple[str, ...]:
    """The words (two characters or more, as the hashed word features) of the plain customer-side clauses. The
    rep's turns never add a word (the argument mirrors the other feature functions). Computed only when the
    word-vector block is in the weights, so the usual path does not collect words it never reads."""
    return tuple(word for clause in clauses(customer_text)[:MAX_CLAUSES] if not negated(clause)
                 for word in _clause_words(clause))


@lru_cache(maxsize=16)
def _scoped_clauses(customer_text: str, rep_text: str, accepted: str = "", declined: str = "", spoken: bool = False
                    ) -> tuple[tuple[int, str], ...]:
    """Each clause with its scope (an index into SCOPES): the customer's side or the rep's turns, plain or negated;
    `spoken` (round 17): clauses of speech (reading_clauses)."""
    customer = reading_clauses(customer_text, spoken)[:MAX_CLAUSES]
    seen = set(customer)
    # Round 13 (dialogue weights): rep clauses the customer accepted are read as the customer's, declined ones as the
    # customer's negated clauses; both leave the rep's scope.
    customer += [c for c in dict.fromkeys(reading_clauses(accepted, spoken)[:MAX_CLAUSES]) if c not in seen]
    seen = set(customer)
    declined_clauses = [c for c in dict.fromkeys(reading_clauses(declined, spoken)[:MAX_CLAUSES]) if c not in seen]
    turned_down = set(declined_clauses)
    customer += declined_clauses
    seen = set(customer)
    rep = [c for c in reading_clauses(rep_text, spoken)[:MAX_CLAUSES] if c not in seen]
    return tuple((side + (negated(clause) or (side == 0 and clause in turned_down)), clause)
                 for side, side_clauses in ((0, customer), (2, rep)) for clause in side_clauses)


@lru_cache(maxsize=16)  # the tagger and the stager of one message share the work
def _features(customer_text: str, rep_text: str, accepted: str = "", declined: str = "", spoken: bool = False
              ) -> tuple[npt.NDArray[np.int64], tuple[npt.NDArray[np.int64], ...]]:
    found: set[int] = set()
    pooled: dict[frozenset[int], None] = {}  # each distinct plain clause once, in order
    size, pool_mask = 1 << FEATURE_BITS, (1 << HASH_BITS) - 1
    for scope, clause in _scoped_clauses(customer_text, rep_text, accepted, declined, spoken):
        hashes = frozenset(_hash(k) for k in _clause_keys(clause))
        found.update(scope * size + h for h in hashes)
        if scope == 0 and hashes:
            pooled[frozenset(h & pool_mask for h in hashes)] = None
    return (np.array(sorted(found), dtype=np.int64),
            tuple(np.array(sorted(h), dtype=np.int64) for h in pooled))


@lru_cache(maxsize=16)
def _entity_indices(customer_text: str, rep_text: str, accepted: str = "", declined: str = "", spoken: bool = False
                    ) -> npt.NDArray[np.int64]:
    """Round 14: the entity keys of each clause (entity_keys.clause_entity_keys) in the clause's scope, hashed as the
    n-grams are (the keys' prefixes keep them apart from the n-gram and word keys)."""
    size = 1 << FEATURE_BITS
    found = {scope * size + _hash(k)
             for scope, clause in _scoped_clauses(customer_text, rep_text, accepted, declined, spoken)
             for k in clause_entity_keys(clause)}
    return np.array(sorted(found), dtype=np.int64)


def _clause_words(clause: str) -> list[str]:
    """A clause's jieba words of two characters or more: the word features, and the words the vectors pool."""
    return [t.word for t in tokens(clause.strip().lower()) if len(t.word) >= 2 and _has_word_char(t.word)]


# Round 13: how a customer answers a rep's turn in one short clause. Assent: the whole first clause is assent words and
# sentence particles ("好的", "行吧", "嗯嗯", "可以的", "对", "没问题", "OK"); a refusal starts the answer ("不用了",
# "先不用", "暂时不需要", "再说吧", "算了"). A short first clause that negates (semantic_tags.negated) declines too.
_ASSENT_ANSWER = re.compile(
    r"^(?:好|行|可以|没问题|嗯|恩|对|是|没错|同意|要|需要|可|收到|麻烦|辛苦|发我|发来|发过来|当然|必须|ok|okay|yes|sure)+"
    r"[啊吧呀的了哈呢嘛哦噢喔滴啦呗咯嗯\s~～…]*$")
_REFUSAL_ANSWER = re.compile(
    r"^(?:不用|不需要|不必|不了|算了|先不|暂时不|暂不|没必要|再说|以后再说|回头再说|不考虑|免了|no\b)")
SHORT_ANSWER = 6  # characters of a first clause that can be a bare answer


def answer_act(reply: str) -> str | None:
    """"accepted", "declined" or None (content, not a bare answer) for the customer's reply to a rep's turn."""
    first = next((c.strip().lower() for c in clauses(reply) if c.strip()), "")
    if not first:
        return None
    if _REFUSAL_ANSWER.search(first):
        return "declined"
    if _ASSENT_ANSWER.search(first):
        return "accepted"
    if len(first) <= SHORT_ANSWER and negated(first):
        return "declined"
    return None


@lru_cache(maxsize=16)
def dialogue_texts(turns: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    """The rep's turns the customer accepted and those declined (TagInput.turns), each joined by newlines: a rep
    turn ("R") is answered by the next turn of another side when that is the customer's ("C"), so the rep's messages
    since the customer last spoke share the answer (as the extractor's accepted offers do)."""
    accepted: list[str] = []
    declined: list[str] = []
    for i, (side, text) in enumerate(turns):
        if side != "R":
            continue
        reply = next(((s, t) for s, t in turns[i + 1 :] if s != "R"), None)
        if reply is None or reply[0] != "C":
            continue
        act = answer_act(reply[1])
        if act == "accepted":
            accepted.append(text)
        elif act == "declined":
            declined.append(text)
    return "\n".join(accepted), "\n".join(declined)


def tag_text_indices(data: TagInput, dialogue: bool, entities: bool = False, spoken: bool = False
                     ) -> npt.NDArray[np.int64]:
    """The tag model's hashed indices at FEATURE_BITS: `text_indices`, or with `dialogue` (round 13 weights) the
    answered rep turns moved into the customer's scopes; with `entities` (round 14 weights) also each clause's entity
    keys in its scope; with `spoken` (round 17 weights) read in clauses of speech (spoken_clauses)."""
    moved = dialogue_texts(data.turns) if dialogue and data.turns else ("", "")
    # The stage head reads text_indices of the same text: one cache entry when nothing is moved.
    base = _features(data.customer_text, data.rep_text, *moved, spoken)[0] if any(moved) or spoken \
        else text_indices(data.customer_text, data.rep_text)
    if not entities:
        return base
    return np.union1d(base, _entity_indices(data.customer_text, data.rep_text, *moved, spoken))


def cnn_text(data: TagInput, dialogue: bool) -> str:
    """What the convolution reads: the customer-side text, with `dialogue` also the rep turns the customer accepted."""
    accepted = dialogue_texts(data.turns)[0] if dialogue and data.turns else ""
    return f"{data.customer_text}\n{accepted}" if accepted else data.customer_text


VEC_POOLINGS = ("mean", "mean+max")


# Round 16: the message's form, read from TagInput.turns (the extractor's split of the chat by speaker).
FORMS = ("chat", "single", "note")
SHORT_CLAUSES = 2  # a customer side of at most this many plain clauses is "short"
N_FORM = len(FORMS) + 1


def message_form(data: TagInput | StageInput) -> str:
    """"chat" when the turns have the customer's side and another speaker's, "single" when they have one speaker's
    side only (a forwarded message, a monologue), "note" without any speaker's turn (or without turns)."""
    sides = {side for side, _ in data.turns if side in ("C", "R")}
    return "chat" if len(sides) == 2 else "single" if sides else "note"


def form_dense(data: TagInput) -> list[float]:
    """The round-16 inputs of the second stage: the form, one-hot in FORMS order, then whether the customer side says
    at most SHORT_CLAUSES plain (not negated) clauses."""
    form = message_form(data)
    short = len(plain_customer_clauses(data.customer_text)) <= SHORT_CLAUSES
    return [float(form == f) for f in FORMS] + [float(short)]


def vector_features(table: word_vectors.Table, pooling: str, customer_text: str, rep_text: str
                    ) -> npt.NDArray[np.float64]:
    """The round-9 dense block: the plain customer-side words' static vectors, pooled (word_vectors.pool)."""
    return word_vectors.pool(table, plain_customer_words(customer_text, rep_text), pooling)


def tag_dense(data: TagInput, rule_tags: Iterable[str]) -> list[float]:
    """Rule evidence per tag (the rules layer's decision, keyword hit, construction hit), then structure."""
    rules = set(rule_tags)
    dense = [float(t in rules) for t in TAGS]
    dense += [float(t in data.keyword_tags) for t in TAGS]
    dense += [float(t in data.pattern_tags) for t in TAGS]
    dense += [float(data.has_future_date), float(bool(data.rep_text.strip()))]
    return dense


def stage_dense(data: StageInput) -> list[float]:
    """The rule stage (one-hot incl. none), the final tags, a lost deal, whether a customer was found."""
    dense = [float(data.rule_stage == s) for s in STAGES]
    dense += [float(t in data.tags) for t in TAGS]
    dense += [float(data.lost), float(data.has_customer)]
    return dense


def _stage_text(data: StageInput) -> str:
    return f"{data.customer_text}\n{data.rep_text}" if data.rep_text else data.customer_text


# Round 7 also tried the rules' evidence per stage and the new-contact flag as dense features: by
# leave-one-author-out on ten authors they did not help (84.0% vs 84.5%, tests/data/FINAL_FIELDS.md), so
# the evidence only bounds the decision (stage_allowed).
@lru_cache(maxsize=16)
def _evidence(data: StageInput, *, always: bool = False) -> tuple[frozenset[Stage], bool]:
    """The rules' evidence per stage and whether the text calls the contact new. The evidence matters to the
    new-contact bound only when the contact is called new, so the common message (not called new) skips the rules'
    stage pass unless `always` (round 17's context block reads the evidence of every message)."""
    if data.new_contact is not None and (data.evidence is not None or not always):
        # carried from the extractor (round 8): the rules ran once
        return (data.evidence or frozenset()) if data.new_contact or always else frozenset(), data.new_contact
    text = _stage_text(data)
    new = said_to_be_new(text)
    if not new and not always:
        return frozenset(), False
    return stage_evidence(text, data.tags, lost=data.lost) or frozenset(), new


N_TAG_DENSE = 3 * len(TAGS) + 2
N_STAGE_DENSE = len(STAGES) + len(TAGS) + 2
N_HASHED = len(SCOPES) << HASH_BITS  # the stage model's hashed rows


# Round 17: the stage head's context block (weights whose meta "stage_context" names its parts), binary inputs read
# as hashed indices past the text's (and the event-aspect block's) rows, so older weights load and decide as before.
# "form": the message's form (message_form: a chat copy, one speaker's forwarded message, a note without a speaker),
# alone and crossed with the rules' stage: how far the rules' stage can be trusted differs by form (a chat shows both
# sides' words, a forwarded single only the customer's, a note only the rep's summary of what happened).
# "evidence": every stage the rules found evidence for (stage.stage_evidence; the rule stage keeps only the most
# advanced) and whether the text calls the contact new, each crossed with the form; the new-contact bound
# (stage_allowed) still applies.
STAGE_CONTEXTS = ("form", "evidence")
N_CONTEXT = {"form": len(FORMS) * (1 + len(STAGES)), "evidence": len(FORMS) * (len(Stage) + 1)}


def stage_context_indices(data: StageInput, parts: Sequence[str]) -> list[int]:
    """The context block's active inputs (offsets within the block, parts in STAGE_CONTEXTS order)."""
    form = FORMS.index(message_form(data))
    found: list[int] = []
    offset = 0
    for part in STAGE_CONTEXTS:
        if part not in parts:
            continue
        if part == "form":
            found += [offset + form, offset + len(FORMS) + form * len(STAGES) + STAGES.index(data.rule_stage)]
        else:
            evidence, new = _evidence(data, always=True)
            width = len(Stage) + 1
            found += [offset + form * width + list(Stage).index(e) for e in sorted(evidence, key=list(Stage).index)]
            if new:
                found.append(offset + form * width + len(Stage))
        offset += N_CONTEXT[part]
    return found

N_TAG_HASHED = len(SCOPES) << TAG_HASH_BITS  # the tag model's, as the trainer writes it


def tag_hash_bits(tag_w: npt.NDArray[np.float32]) -> int:
    """The hashing size of a tag weight table, from its shape; ValueError when no size up to FEATURE_BITS fits."""
    for bits in range(1, FEATURE_BITS + 1):
        if tag_w.shape[0] == N_TAG_DENSE + (len(SCOPES) << bits):
            return bits
    raise ValueError("learned layer tag weights do not match this code's features")


@dataclass(frozen=True)
class Weights:
    tag_w: npt.NDArray[np.float32]  # (N_TAG_DENSE + N_HASHED, tags)
    tag_b: npt.NDArray[np.float32]
    thresholds: npt.NDArray[np.float32]
    stage_w: npt.NDArray[np.float32]  # (N_STAGE_DENSE + N_HASHED, stages)
    stage_b: npt.NDArray[np.float32]
    stage_margin: float  # the model overrides the rule stage only when this much more probable
    meta: dict[str, object]
    tag_pool_w: npt.NDArray[np.float32] | None = None  # (1 << HASH_BITS, tags): the clause-level part
    stack_w: npt.NDArray[np.float32] | None = None  # (tags + N_TAG_DENSE, tags): the second stage
    stack_b: npt.NDArray[np.float32] | None = None
    tag_vec_w: npt.NDArray[np.float32] | None = None  # (pooled vector dims, tags): the round-9 dense block
    vec_pooling: str = "mean"
    table: word_vectors.Table | None = None  # the word vectors tag_vec_w was trained on
    mlp: Mlp | None = None  # round 11: the hidden layer whose log-odds the second stage also reads
    cnn: CharCnn | None = None  # round 12: the character convolution whose log-odds the second stage also reads
    dialogue: bool = False  # round 13: answered rep turns read as the customer's (meta "dialogue")
    entities: bool = False  # round 14: each clause's entity keys (entity_keys.py) in the tag model (meta "entities")
    form: bool = False  # round 16: the message's form (form_dense) as the second stage's last inputs (meta "form")
    form_thresholds: npt.NDArray[np.float32] | None = None  # round 16: (FORMS, tags) thresholds per message_form
    stage_context: tuple[str, ...] = ()  # round 17: the stage head's context block parts (meta "stage_context")
    spoken: bool = False  # round 17: the tag model and the convolution read clauses of speech (meta "spoken")
    clause_max: str | None = None  # round 18: the pooled clause scores' pooling (CLAUSE_POOLINGS; meta "clause_max")


@dataclass(frozen=True)
class Mlp:
    """Round 11: an embedding bag of the plain customer-side hashed features and the rules' evidence, a ReLU layer,
    then ten tag log-odds (mlp_logodds)."""

    e: npt.NDArray[np.float32]  # (1 << bits, hidden): one embedding row per folded plain-customer feature
    wd: npt.NDArray[np.float32]  # (N_TAG_DENSE, hidden): the rules' evidence into the hidden layer
    b1: npt.NDArray[np.float32]  # (hidden,)
    w2: npt.NDArray[np.float32]  # (hidden, tags)
    b2: npt.NDArray[np.float32]  # (tags,)

    @property
    def bits(self) -> int:
        return int(self.e.shape[0]).bit_length() - 1


MLP_KEYS = ("mlp_e", "mlp_wd", "mlp_b1", "mlp_w2", "mlp_b2")


def _mlp_block(data: np.lib.npyio.NpzFile) -> Mlp | None:
    """The round-11 hidden layer, or None in weights without it; a block of the wrong shapes is refused."""
    if "mlp_e" not in data.files:
        return None
    e, wd, b1, w2, b2 = (data[k].astype(np.float32) for k in MLP_KEYS)
    rows, hidden = e.shape
    if (rows & (rows - 1) or rows > 1 << FEATURE_BITS or wd.shape != (N_TAG_DENSE, hidden)
            or b1.shape != (hidden,) or w2.shape != (hidden, len(TAGS)) or b2.shape != (len(TAGS),)):
        raise ValueError("learned layer hidden-layer weights do not match this code's features")
    return Mlp(e, wd, b1, w2, b2)


def mlp_indices(hashed: npt.NDArray[np.int64], bits: int) -> npt.NDArray[np.int64]:
    """The hidden layer's input: the plain customer-side features (scope C) of `text_indices`, folded to `bits`."""
    plain = hashed[hashed < (1 << FEATURE_BITS)]
    return np.unique(plain & ((1 << bits) - 1))


def mlp_hidden_input(mlp: Mlp, indices: npt.NDArray[np.int64], dense: Sequence[float]) -> npt.NDArray[np.float64]:
    """The hidden layer's pre-activation: the embedding bag (sum / sqrt(count)) plus the rules' evidence."""
    z = np.asarray(dense, dtype=np.float64) @ mlp.wd.astype(np.float64) + mlp.b1.astype(np.float64)
    if len(indices):
        z = z + mlp.e[indices].astype(np.float64).sum(axis=0) / np.sqrt(len(indices))
    return np.asarray(z, dtype=np.float64)


def mlp_logodds(mlp: Mlp, data: TagInput, rule_tags: Iterable[str], dialogue: bool = False
                ) -> npt.NDArray[np.float64]:
    """Per tag (in TAGS order), the hidden layer's log-odds."""
    indices = mlp_indices(tag_text_indices(data, dialogue), mlp.bits)
    h = np.maximum(mlp_hidden_input(mlp, indices, tag_dense(data, rule_tags)), 0.0)
    return np.asarray(h @ mlp.w2.astype(np.float64) + mlp.b2.astype(np.float64), dtype=np.float64)


@dataclass(frozen=True)
class CharCnn:
    """Round 12: a convolution over the characters of each plain customer-side clause (cnn_logodds). The filters of
    every width share one kernel matrix over windows of the widest width: a filter of width w has zero weights past
    its first w characters (kept zero in training), so one product gives every width."""

    e: npt.NDArray[np.float32]  # ((1 << bits) + 3, dims): hashed characters, then the start, end and padding marks
    k: npt.NDArray[np.float32]  # (window * dims, filters): the kernels, a window of `window` characters
    kb: npt.NDArray[np.float32]  # (filters,)
    w2: npt.NDArray[np.float32]  # (filters, tags)
    b2: npt.NDArray[np.float32]  # (tags,)

    @property
    def bits(self) -> int:
        return int(self.e.shape[0] - 3).bit_length() - 1

    @property
    def window(self) -> int:
        return int(self.k.shape[0]) // int(self.e.shape[1])


CNN_KEYS = ("cnn_e", "cnn_k", "cnn_kb", "cnn_w2", "cnn_b2")
CNN_MAX_CHARS = 40  # a clause's characters the convolution reads (bounds the cost of a run-on memo)


def _cnn_block(data: np.lib.npyio.NpzFile) -> CharCnn | None:
    """The round-12 convolution, or None in weights without it; a block of the wrong shapes is refused."""
    if "cnn_e" not in data.files:
        return None
    e, k, kb, w2, b2 = (data[key].astype(np.float32) for key in CNN_KEYS)
    rows, dims = e.shape
    chars = rows - 3
    if (chars < 1 or chars & (chars - 1) or chars > 1 << FEATURE_BITS or k.shape[0] % dims
            or k.shape[0] == 0 or kb.shape != (k.shape[1],) or w2.shape != (k.shape[1], len(TAGS))
            or b2.shape != (len(TAGS),)):
        raise ValueError("learned layer convolution weights do not match this code's features")
    return CharCnn(e, k, kb, w2, b2)


@lru_cache(maxsize=8192)
def _char_id(ch: str, bits: int) -> int:
    return zlib.crc32(ch.encode("utf-8")) & ((1 << bits) - 1)


def plain_customer_clauses(customer_text: str, spoken: bool = False) -> tuple[str, ...]:
    """The distinct plain (not negated) customer-side clauses, in order: all the convolution reads (`spoken`, round
    17: clauses of speech)."""
    return tuple(dict.fromkeys(c for c in reading_clauses(customer_text, spoken)[:MAX_CLAUSES]
                               if c.strip() and not negated(c)))


@lru_cache(maxsize=16)
def cnn_windows(customer_text: str, bits: int, window: int, spoken: bool = False) -> npt.NDArray[np.int64]:
    """(positions, window) character ids of the plain customer-side clauses: per clause a window starting at the
    start mark and at each character and at the end mark (padded past the end), so a window never spans two
    clauses. Ids 2^bits, +1, +2: the start, end and padding marks (the padding row is zero)."""
    start, end, pad = (1 << bits), (1 << bits) + 1, (1 << bits) + 2
    rows: list[npt.NDArray[np.int64]] = []
    for clause in plain_customer_clauses(customer_text, spoken):
        text = clause.strip().lower()[:CNN_MAX_CHARS]
        ids = [start, *(_char_id("0" if ch.isdigit() else ch, bits) for ch in text), end]
        padded = np.array(ids + [pad] * (window - 1), dtype=np.int64)
        rows.append(np.lib.stride_tricks.sliding_window_view(padded, window)[: len(ids)])
    return np.concatenate(rows) if rows else np.zeros((0, window), dtype=np.int64)


def cnn_logodds(cnn: CharCnn, data: TagInput, dialogue: bool = False, spoken: bool = False
                ) -> npt.NDArray[np.float64]:
    """Per tag (in TAGS order), the convolution's log-odds: the filters' maxima over every window of the plain
    customer-side clauses (0 without any: ReLU), then a linear layer; `dialogue` (round 13 weights): also the rep
    turns the customer accepted; `spoken` (round 17 weights): clauses of speech."""
    ids = cnn_windows(cnn_text(data, dialogue), cnn.bits, cnn.window, spoken)
    h = np.zeros(cnn.k.shape[1])
    if len(ids):
        x = cnn.e[ids].reshape(len(ids), -1).astype(np.float64)
        h = np.maximum((x @ cnn.k.astype(np.float64)).max(axis=0) + cnn.kb.astype(np.float64), 0.0)
    return np.asarray(h @ cnn.w2.astype(np.float64) + cnn.b2.astype(np.float64), dtype=np.float64)


def _vector_block(data: np.lib.npyio.NpzFile, meta: dict[str, object]
                  ) -> tuple[npt.NDArray[np.float32] | None, str, word_vectors.Table | None]:
    """The round-9 dense block and its table; weights trained on another table (or without one) are refused."""
    if "tag_vec_w" not in data.files:
        return None, "mean", None
    table = word_vectors.shipped_table()
    pooling = str(meta.get("vec_pooling"))
    if table is None or meta.get("word_vectors") != table.fingerprint or pooling not in VEC_POOLINGS:
        raise ValueError("learned layer weights need the word vector table they were trained on")
    vec_w = data["tag_vec_w"].astype(np.float32)
    if vec_w.shape != ((1 + (pooling == "mean+max")) * table.dims, len(TAGS)):
        raise ValueError("learned layer word vector weights do not match the table")
    return vec_w, pooling, table


def load_weights(path: Path) -> Weights:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("tags") != list(TAGS) or meta.get("hash_bits") != HASH_BITS:
            raise ValueError("learned layer weights do not match this code's tags or hashing")
        pool = data["tag_pool_w"].astype(np.float32) if "tag_pool_w" in data.files else None
        stack_w = data["stack_w"].astype(np.float32) if "stack_w" in data.files else None
        stack_b = data["stack_b"].astype(np.float32) if "stack_w" in data.files else None
        mlp, cnn = _mlp_block(data), _cnn_block(data)
        form = bool(meta.get("form", False))
        clause_max = meta.get("clause_max")
        if clause_max is not None and clause_max not in CLAUSE_POOLINGS:
            raise ValueError("learned layer weights pool clause scores in a way this code does not know")
        n_stack = (len(TAGS) * (1 + (mlp is not None) + (cnn is not None) + (clause_max is not None)) + N_TAG_DENSE
                   + N_FORM * form)
        if stack_w is not None and stack_w.shape != (n_stack, len(TAGS)):
            raise ValueError("learned layer second stage does not match this code's features")
        if (mlp is not None or cnn is not None or clause_max is not None) and stack_w is None:
            raise ValueError("learned layer hidden layer, convolution or clause scores without a second stage")
        tag_w, stage_w = data["tag_w"].astype(np.float32), data["stage_w"].astype(np.float32)
        tag_hash_bits(tag_w)  # a 2^14 table (before round 8) or a 2^16 one: both load
        context = tuple(str(p) for p in meta.get("stage_context", ()))
        if any(p not in STAGE_CONTEXTS for p in context):
            raise ValueError("learned layer stage head reads a context this code does not know")
        n_context = sum(N_CONTEXT[p] for p in context)
        if stage_w.shape[0] - n_context not in (N_STAGE_DENSE + N_HASHED, N_STAGE_DENSE + N_HASHED + N_ASPECT):
            raise ValueError("learned layer stage head does not match this code's features")
        vec_w, pooling, table = _vector_block(data, meta)
        form_th = data["form_thresholds"].astype(np.float32) if "form_thresholds" in data.files else None
        if form_th is not None and form_th.shape != (len(FORMS), len(TAGS)):
            raise ValueError("learned layer per-form thresholds do not match this code's forms or tags")
        return Weights(tag_w, data["tag_b"].astype(np.float32),
                       data["thresholds"].astype(np.float32), stage_w,
                       data["stage_b"].astype(np.float32), float(meta["stage_margin"]), meta, pool,
                       stack_w, stack_b, vec_w, pooling, table, mlp, cnn, bool(meta.get("dialogue", False)),
                       bool(meta.get("entities", False)), form, form_th, context,
                       bool(meta.get("spoken", False)), None if clause_max is None else str(clause_max))


# Read once per process; a damaged or foreign file: the rules decide (retrain with train_learned_layer.py --write).
SHIPPED = ShippedWeights(WEIGHTS_FILE, load_weights, name="understanding.learned_layer")


def shipped_weights() -> Weights | None:
    """The shipped weights, read once per process; None when no usable weights file ships."""
    return SHIPPED.get()


def _scores(w: npt.NDArray[np.float32], b: npt.NDArray[np.float32], dense: Sequence[float],
            hashed: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    n_dense = len(dense)
    z = np.asarray(dense, dtype=np.float64) @ w[:n_dense].astype(np.float64) + b.astype(np.float64)
    if len(hashed):
        z = z + w[n_dense + hashed].astype(np.float64).sum(axis=0)
    return np.asarray(z, dtype=np.float64)


def pool_scores(pool_w: npt.NDArray[np.float32], clause_indices: Sequence[npt.NDArray[np.int64]]
                ) -> npt.NDArray[np.float64]:
    """Per tag, the soft maximum (log-sum-exp) of the clauses' scores and of 0, so a clause can only add."""
    scores = np.zeros((len(clause_indices) + 1, pool_w.shape[1]))
    for row, indices in enumerate(clause_indices, start=1):
        scores[row] = pool_w[indices].astype(np.float64).sum(axis=0)
    top = scores.max(axis=0)
    return np.asarray(top + np.log(np.exp(scores - top).sum(axis=0)), dtype=np.float64)


def first_stage_probabilities(weights: Weights, data: TagInput, rule_tags: Iterable[str]
                              ) -> npt.NDArray[np.float64]:
    """Per tag (in TAGS order), the first stage's probability: rules' evidence plus the text's n-grams."""
    hashed = fold(tag_text_indices(data, weights.dialogue, weights.entities, weights.spoken),
                  tag_hash_bits(weights.tag_w))
    z = _scores(weights.tag_w, weights.tag_b, tag_dense(data, rule_tags), hashed)
    if weights.tag_pool_w is not None:
        z = z + pool_scores(weights.tag_pool_w, pooled_indices(data.customer_text, data.rep_text))
    if weights.tag_vec_w is not None and weights.table is not None:
        vec = vector_features(weights.table, weights.vec_pooling, data.customer_text, data.rep_text)
        z = z + vec @ weights.tag_vec_w.astype(np.float64)
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))), dtype=np.float64)


def stack_features(first: npt.NDArray[np.float64], dense: Sequence[float],
                   mlp: npt.NDArray[np.float64] | None = None) -> npt.NDArray[np.float64]:
    """The second stage's input: the first stage's log-odds of every tag, then the rules' evidence, then (round 11,
    weights with a hidden layer) the hidden layer's log-odds, clipped as the first stage's are. Round 12: `mlp` is
    the extra blocks' log-odds side by side (extra_logodds: the hidden layer's, then the convolution's)."""
    p = np.clip(first, 1e-4, 1 - 1e-4)
    parts = [np.log(p / (1 - p)), np.asarray(dense, dtype=np.float64)]
    if mlp is not None:
        parts.append(np.clip(mlp, -MLP_CLIP, MLP_CLIP))
    return np.concatenate(parts)


MLP_CLIP = float(np.log((1 - 1e-4) / 1e-4))  # the first stage's log-odds bound


def tag_probabilities(weights: Weights, data: TagInput, rule_tags: Iterable[str]) -> dict[str, float]:
    rule_tags = tuple(rule_tags)
    p = first_stage_probabilities(weights, data, rule_tags)
    if weights.stack_w is not None and weights.stack_b is not None:
        extra = extra_logodds(weights, data, rule_tags)
        x = stack_features(p, tag_dense(data, rule_tags), extra)
        if weights.form:
            x = np.concatenate([x, form_dense(data)])
        z = x @ weights.stack_w.astype(np.float64) + weights.stack_b.astype(np.float64)
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    return {t: float(p[i]) for i, t in enumerate(TAGS)}


def extra_logodds(weights: Weights, data: TagInput, rule_tags: Iterable[str]) -> npt.NDArray[np.float64] | None:
    """The second stage's extra inputs: the hidden layer's log-odds, then the convolution's, then (round 18) the
    pooled clause scores (each when present)."""
    parts = []
    if weights.mlp is not None:
        parts.append(mlp_logodds(weights.mlp, data, rule_tags, weights.dialogue))
    if weights.cnn is not None:
        parts.append(cnn_logodds(weights.cnn, data, weights.dialogue, weights.spoken))
    if weights.clause_max is not None:
        parts.append(clause_logodds(weights, data))
    return np.concatenate(parts) if parts else None


# Round 18: the pooled clause scores (meta "clause_max"), one second-stage input per tag.
CLAUSE_POOLINGS = ("max", "softmax")


def clause_scores(tag_w: npt.NDArray[np.float32], data: TagInput, dialogue: bool = False, entities: bool = False,
                  spoken: bool = False) -> npt.NDArray[np.float64]:
    """(plain customer-side clauses, tags): each clause's first-stage evidence alone, the sum of `tag_w`'s rows at its
    hashed keys in the plain customer scope (no bias, no rules' evidence). Read as tag_text_indices reads the text
    (`dialogue`: the accepted rep turns are the customer's; `entities`: with the clause's entity keys; `spoken`: clauses
    of speech). Negated clauses and the rep's turns are left out, so they cannot raise a pooled score."""
    bits = tag_hash_bits(tag_w)
    moved = dialogue_texts(data.turns) if dialogue and data.turns else ("", "")
    rows = []
    for scope, clause in _scoped_clauses(data.customer_text, data.rep_text, *moved, spoken):
        if scope != 0:
            continue
        keys = _clause_keys(clause) | (clause_entity_keys(clause) if entities else set())
        if not keys:
            continue
        hashed = fold(np.array(sorted({_hash(k) for k in keys}), dtype=np.int64), bits)
        rows.append(tag_w[N_TAG_DENSE + hashed].astype(np.float64).sum(axis=0))
    return np.array(rows, dtype=np.float64).reshape(len(rows), tag_w.shape[1])


def pool_clause_scores(scores: npt.NDArray[np.float64], pooling: str) -> npt.NDArray[np.float64]:
    """Per tag, the clauses' scores pooled with a zero (no clause says it): their maximum, or ("softmax") their
    log-sum-exp; clipped as the first stage's log-odds. A clause more can only raise it."""
    rows = np.vstack([np.zeros((1, scores.shape[1])), scores])
    top = rows.max(axis=0)
    if pooling == "softmax":
        top = top + np.log(np.exp(rows - top).sum(axis=0))
    elif pooling != "max":
        raise ValueError(f"unknown clause pooling {pooling!r}")
    return np.asarray(np.clip(top, 0.0, MLP_CLIP), dtype=np.float64)


def clause_logodds(weights: Weights, data: TagInput) -> npt.NDArray[np.float64]:
    """The round-18 inputs of the second stage: per tag, the pooled first-stage score of the plain customer clauses
    (zeros in weights without the flag)."""
    if weights.clause_max is None:
        return np.zeros(len(TAGS))
    scores = clause_scores(weights.tag_w, data, weights.dialogue, weights.entities, weights.spoken)
    return pool_clause_scores(scores, weights.clause_max)


def clause_stack_bounds() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The second-stage rows of the pooled clause scores (row: an input tag's score, column: the output tag): which
    weights must stay >= 0 and which are zero. A tag reads only its own pooled score, with a weight >= 0: a negation
    only shrinks the pool, so it can only lower the tag."""
    eye = np.eye(len(TAGS), dtype=bool)
    return eye, ~eye


def learned_tags(weights: Weights, data: TagInput, rule_tags: Iterable[str]) -> tuple[str, ...]:
    """The tags whose probability reaches the tag's threshold (round 16 weights with `form_thresholds`: the
    threshold for the message's form); a visit only with a date in the text."""
    probabilities = tag_probabilities(weights, data, rule_tags)
    thresholds = weights.thresholds if weights.form_thresholds is None \
        else weights.form_thresholds[FORMS.index(message_form(data))]
    chosen = {t for i, t in enumerate(TAGS) if probabilities[t] >= thresholds[i]}
    if not data.has_future_date:
        chosen -= DATED_TAGS
    return tuple(sorted(chosen))


def stage_indices(data: StageInput) -> npt.NDArray[np.int64]:
    """The stage head's hashed indices: the shared text n-grams, then (offset past them) the stage-only
    event-aspect pairings (stage_features)."""
    extra = np.asarray(aspect_indices(data.customer_text, data.rep_text), dtype=np.int64) + N_HASHED
    return np.concatenate([fold(text_indices(data.customer_text, data.rep_text), HASH_BITS), extra])


def stage_probabilities(weights: Weights, data: StageInput) -> npt.NDArray[np.float64]:
    # Weights of round 7 and before have no rows for the stage-only block: they read the shared n-grams only,
    # and decide exactly as before.
    # Round 17: weights with a context block have its rows last (stage_context_indices).
    n_context = sum(N_CONTEXT[p] for p in weights.stage_context)
    with_aspect = weights.stage_w.shape[0] - n_context == N_STAGE_DENSE + N_HASHED + N_ASPECT
    hashed = (stage_indices(data) if with_aspect
              else fold(text_indices(data.customer_text, data.rep_text), HASH_BITS))
    if n_context:
        offset = N_HASHED + (N_ASPECT if with_aspect else 0)
        hashed = np.concatenate([hashed, np.asarray(stage_context_indices(data, weights.stage_context),
                                                    dtype=np.int64) + offset])
    z = _scores(weights.stage_w, weights.stage_b, stage_dense(data), hashed)
    e = np.exp(z - z.max())
    return np.asarray(e / e.sum(), dtype=np.float64)


def learned_stage(weights: Weights, data: StageInput) -> Stage | None:
    """The most probable stage, when it beats the rule stage by the margin; else the rule stage.

    A record about a customer always has a stage: "a new customer starts at 初步接触 unless the text shows
    more" (issue #13). So the model's "no stage" never replaces a stage the rules found for a named customer
    (short one-line notes, where the model has least to go on, were where it did). Round 7: a contact the
    text calls new is kept within the early funnel (stage_allowed)."""
    p = stage_probabilities(weights, data)
    allowed = np.array([stage_allowed(s, data) for s in STAGES])
    best = int(np.argmax(np.where(allowed, p, -1.0)))
    rule = STAGES.index(data.rule_stage)
    if p[best] - p[rule] <= weights.stage_margin:
        return data.rule_stage
    if STAGES[best] is None and data.has_customer and data.rule_stage is not None:
        return data.rule_stage
    return STAGES[best]


# The furthest a contact the text calls new can be without the rules' evidence of more: a first meeting
# can clarify needs or show a demo, but a quote bargained over or a sale needs a deal that already exists.
NEW_CONTACT_CAP = Stage.DEMO


def stage_allowed(stage: Stage | None, data: StageInput) -> bool:
    """Whether the learned model may choose `stage`: "a new customer starts at 初步接触 unless the text
    shows more" (issue #13). When the text says the contact is new, a stage past NEW_CONTACT_CAP on the
    funnel needs the rules' evidence for it (price talk at a first meeting is a reaction to a list price,
    not bargaining); 已流失 stays open (a first contact can end at once)."""
    found, new = _evidence(data)
    if not new or stage is None or stage in found or stage is Stage.LOST:
        return True
    return list(Stage).index(stage) <= list(Stage).index(NEW_CONTACT_CAP)


def stack_sign_bounds() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Which second-stage weights (row: an input tag's log-odds, column: the output tag) must stay >= 0 and
    which <= 0 (both: zero), so the second stage keeps the first stage's guarantees: a negated clause can only
    lower a tag that is not negative by nature, and a rep's offer can only lower a request. A negated clause
    may move a negative-by-nature tag's log-odds either way, a rep's turn a non-request tag's; so a tag that is
    not negative by nature reads only such tags' log-odds (weight >= 0), and a request only the requests'."""
    n = len(TAGS)
    nonneg = np.zeros((n, n), dtype=bool)
    nonpos = np.zeros((n, n), dtype=bool)
    for j, out in enumerate(TAGS):
        for k, src in enumerate(TAGS):
            if out not in NEGATIVE_BY_NATURE:  # a negation may only lower it
                nonneg[k, j] = True
                nonpos[k, j] |= src in NEGATIVE_BY_NATURE
            if out in CUSTOMER_REQUEST_TAGS:  # a rep's offer may only lower it
                nonneg[k, j] = True
                nonpos[k, j] |= src not in CUSTOMER_REQUEST_TAGS
    return nonneg, nonpos


# Which hashed blocks a tag's weights must keep <= 0 (a negation or a rep's offer cannot add the tag).
def nonpositive_blocks(tag: str) -> tuple[int, ...]:
    blocks = [] if tag in NEGATIVE_BY_NATURE else [1, 3]
    if tag in CUSTOMER_REQUEST_TAGS:
        blocks += [2]
    return tuple(sorted(set(blocks)))
