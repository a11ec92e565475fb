"""The customer ranker's input for a test sentence, built as the extractor builds it (shared by the round-9 and
round-13 ranker tests)."""

from __future__ import annotations

from bot.extract import customer_ranker as cr
from bot.extract.chat import split_chat
from bot.extract.extractor import customer_speaker
from bot.extract.textnorm import normalize_text


def customer_input(text: str) -> cr.CustomerInput:
    """The turns, the customer's speaker and the customer / rep sides of `text`, with an empty book."""
    normalized = normalize_text(text)
    turns = split_chat(normalized)
    speaker = customer_speaker(turns, [])
    customer = "\n".join(t.text for t in turns if t.speaker is None or t.speaker == speaker)
    rep = "\n".join(t.text for t in turns if t.speaker not in (None, speaker))
    return cr.CustomerInput(turns, speaker, customer, rep, [], None)
