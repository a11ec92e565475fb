"""understand_text(): the extraction of one chat copy, note or transcript with the semantic tagger.

bot/extract does the deterministic parsing and the rule evidence; this adds the embedding signal and
the team's learned exemplars (semantic_tags.py), and falls back to the keyword tags alone when the
bundled model cannot load (the card is still useful; the log says why).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.extract import DEFAULT_TAGS, Extraction, TagRule, extract
from bot.extract.model import TagInput, Tagger

from . import embedder
from .semantic_tags import EXEMPLARS, learned_matches, merged_exemplars, semantic_tags

log = logging.getLogger(__name__)


def make_tagger(
    tag_rules: Sequence[TagRule] = DEFAULT_TAGS, team_exemplars: Mapping[str, Sequence[str]] | None = None
) -> Tagger:
    """A tagger for extract(): the built-in exemplars plus a team's learned ones. A team taxonomy's
    own tags (no exemplars) keep their keyword decision; tags the taxonomy dropped are never given."""
    exemplars = merged_exemplars(team_exemplars) if team_exemplars else EXEMPLARS
    names = {r.name for r in tag_rules}

    def tagger(data: TagInput) -> tuple[str, ...]:
        semantic = set(semantic_tags(data, exemplars=exemplars))
        if team_exemplars:
            semantic |= learned_matches(data, team_exemplars)
        semantic &= names
        own = {t for t in data.keyword_tags if t not in exemplars}
        return tuple(sorted(semantic | own))

    return tagger


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
) -> Extraction:
    """Structured fields of one message; relative dates resolve against `sent_at` (when it was sent)."""
    tagger = make_tagger(tag_rules, team_exemplars) if embedder.available() else None
    if tagger is None:
        log.warning("understanding.semantic_tagger_unavailable")
    return extract(text, ref_time=sent_at, tag_rules=tag_rules, rep_names=rep_names, products=products,
                   tag_weights=tag_weights, known=known, tagger=tagger)
