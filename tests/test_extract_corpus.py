"""Accuracy floor on the dev corpus, measured exactly as benchmarks/extraction_accuracy.py reports it."""

from pathlib import Path

from benchmarks.extraction_accuracy import FIELDS, evaluate, load_samples

CORPUS = Path(__file__).parent / "data" / "chats.jsonl"


def test_corpus_accuracy_floor() -> None:
    samples = load_samples(CORPUS)
    assert len(samples) >= 20
    accuracy, mismatches = evaluate(samples)
    low = {f: a for f, a in accuracy.items() if a < 0.9}
    assert not low, f"fields below 90%: {low}; mismatches: {mismatches}"
    assert set(accuracy) == set(FIELDS)
