"""Result type of the extraction pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from store.stages import Stage


@dataclass(frozen=True)
class Extraction:
    customer_name: str | None
    company: str | None
    phone: str | None
    email: str | None
    tags: tuple[str, ...]
    next_contact: datetime | None
    next_contact_has_time: bool
    amount_cny: int | None
    stage_hint: Stage | None
    product: str | None

    def is_empty(self) -> bool:
        """True when nothing actionable was found (a stage or product alone cannot be filed)."""
        return not any(
            (
                self.customer_name,
                self.company,
                self.phone,
                self.email,
                self.tags,
                self.amount_cny is not None,
                self.next_contact is not None,
            )
        )


@dataclass(frozen=True)
class TagInput:
    """What a pluggable tagger sees of one message (bot/understanding/semantic_tags.py is one)."""

    customer_text: str  # the customer's turns and the rep's own notes
    rep_text: str  # the rep's chat turns (offers the customer did not decline)
    keyword_tags: tuple[str, ...]  # what the keyword rules proposed
    pattern_tags: tuple[str, ...]  # tags whose sentence constructions appear (tag_patterns.py)
    has_future_date: bool  # a future day or time is named somewhere in the text
    # Round 13: the chat's turns in order as (side, text), side "C" the customer, "R" any other speaker (the rep's
    # side), "N" a note without a speaker; () for a caller that does not split turns. A tagger may read who answered
    # whom (a rep's offer the customer took up or turned down); the rules do not use it.
    turns: tuple[tuple[str, str], ...] = ()


# A tagger takes the message and returns the final tags (sorted); bot/extract never imports one.
Tagger = Callable[[TagInput], tuple[str, ...]]


@dataclass(frozen=True)
class StageInput:
    """What a pluggable stage classifier sees (bot/understanding/learned_layer.py is one)."""

    customer_text: str  # as in TagInput
    rep_text: str
    tags: tuple[str, ...]  # the final tags
    rule_stage: Stage | None  # what the stage rules (stage.py) decided
    lost: bool  # the deal was lost to a competitor
    has_customer: bool  # a customer name, company, phone or e-mail was found
    # The rules' stage evidence (stage.stage_evidence, stage_hint's candidates) and whether the text calls the
    # contact new (stage.said_to_be_new), carried from the extractor so a stager need not run the rules again;
    # None: not computed by the caller (a stager then computes them from the text).
    evidence: frozenset[Stage] | None = None
    new_contact: bool | None = None
    # Round 17: the chat's turns by side, as TagInput.turns (a stager reads the message's form from them: a chat copy,
    # one speaker's message, a note without a speaker); () when the caller does not give them (read as a note).
    turns: tuple[tuple[str, str], ...] = ()


# A stager takes the rules' stage and its evidence and returns the final stage.
Stager = Callable[[StageInput], Stage | None]
