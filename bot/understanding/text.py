"""understand_text(): the extraction of one chat copy, note or transcript with the semantic tagger.

bot/extract does the deterministic parsing and the rule evidence; this combines it in the calibrated
tag layer, with the embedding signal and the team's learned exemplars (semantic_tags.py), and
works without the model when the bundled model cannot load (the log says why).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.extract import DEFAULT_TAGS, Extraction, TagRule, extract
from bot.extract.model import StageInput, Stager, Tagger, TagInput
from store.stages import Stage

from . import embedder, learned_layer
from .semantic_tags import EXEMPLARS, learned_matches, merged_exemplars, semantic_tags

log = logging.getLogger(__name__)


# Whether every clause of every message is embedded for the calibrated layer. Off, by measurement
# (benchmarks/train_tag_model.py, tests/data/FINAL_TAGS.md): over the 311-record training pool, 5-fold CV
# grouped by record, the rules layer (keyword, construction, date) scores 76.2% tags exact-set and no
# learned model with e5 features beats it (similarity/margin to exemplars 75.4%, mean clause embedding
# 75.4-76.2%, nearest tagged training clauses 75.9%, character n-grams 67-74%); on corpus v2's held-out
# split both score 56.0%; and embedding a message's clauses costs ~150-350 ms on this shared 2-core
# machine against a 50 ms p50 budget. The
# model is used where it adds what rules cannot: a team's learned phrasings (learned_matches).
EMBED_CLAUSES = False
# Whether the learned layer (learned_layer.py) decides tags and stage, with the rules' decision as its
# strongest evidence; False keeps the rules alone (for comparison: Settings.learned_layer).
LEARNED_LAYER = True


def make_tagger(
    tag_rules: Sequence[TagRule] = DEFAULT_TAGS, team_exemplars: Mapping[str, Sequence[str]] | None = None,
    *, embed_clauses: bool = EMBED_CLAUSES, learned: bool = LEARNED_LAYER,
) -> Tagger:
    """A tagger for extract(): the built-in exemplars plus a team's learned ones. A team taxonomy's
    own tags (no exemplars) keep their keyword decision; tags the taxonomy dropped are never given."""
    exemplars = merged_exemplars(team_exemplars) if team_exemplars else EXEMPLARS
    names = {r.name for r in tag_rules}
    weights = learned_layer.shipped_weights() if learned else None

    def tagger(data: TagInput) -> tuple[str, ...]:
        semantic = set(semantic_tags(data, exemplars=exemplars, embed_clauses=embed_clauses))
        if weights is not None:
            semantic = set(learned_layer.learned_tags(weights, data, semantic))
        if team_exemplars:
            semantic |= learned_matches(data, team_exemplars, already=frozenset(semantic))
        semantic &= names
        own = {t for t in data.keyword_tags if t not in exemplars}
        return tuple(sorted(semantic | own))

    return tagger


def make_stager(*, learned: bool = LEARNED_LAYER) -> Stager | None:
    """The learned stage decision over the stage rules, or None (the rules alone) when it is off."""
    weights = learned_layer.shipped_weights() if learned else None
    if weights is None:
        return None

    def stager(data: StageInput) -> Stage | None:
        return learned_layer.learned_stage(weights, data)

    return stager


def understand_text(
    text: str,
    *,
    sent_at: datetime,
    tag_rules: Sequence[TagRule] = DEFAULT_TAGS,
    rep_names: Sequence[str] = (),
    products: Sequence[str] = (),
    tag_weights: Mapping[tuple[str, str], float] | None = None,
    known: Sequence[tuple[str, str | None]] = (),
    team_exemplars: Mapping[str, Sequence[str]] | None = None,
    embed_clauses: bool = EMBED_CLAUSES,
    learned: bool = LEARNED_LAYER,
) -> Extraction:
    """Structured fields of one message; relative dates resolve against `sent_at` (when it was sent)."""
    needs_model = embed_clauses or bool(team_exemplars)
    if needs_model and not embedder.available():
        log.warning("understanding.semantic_tagger_unavailable")
        embed_clauses, team_exemplars = False, None
    tagger = make_tagger(tag_rules, team_exemplars, embed_clauses=embed_clauses, learned=learned)
    return extract(text, ref_time=sent_at, tag_rules=tag_rules, rep_names=rep_names, products=products,
                   tag_weights=tag_weights, known=known, tagger=tagger, stager=make_stager(learned=learned))
