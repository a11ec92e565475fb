"""Which corpora the trainers may read (benchmarks/corpora.py, issue #13): the round's blind corpus never."""

from __future__ import annotations

from benchmarks.corpora import BLIND_CORPUS, BLIND_THIS_ROUND, DATA, TRAINING_POOL, is_blind, is_trainable


def test_every_pool_file_is_trainable_and_exists() -> None:
    assert TRAINING_POOL and all(p.is_file() and is_trainable(p) for p in TRAINING_POOL)


def test_this_rounds_blind_corpus_is_out_of_the_pool_in_both_splits() -> None:
    folder = BLIND_CORPUS[0].resolve().parent
    assert [p.name for p in BLIND_CORPUS] == ["dev.jsonl", "held_out.jsonl"]
    assert all(p.is_file() and not is_trainable(p) for p in BLIND_CORPUS)
    assert all(is_blind(p) for p in BLIND_CORPUS)  # dev: unseen this round; held-out: blind by name
    assert set(BLIND_THIS_ROUND) <= set(BLIND_CORPUS)
    assert not any(p.resolve().parent == folder for p in TRAINING_POOL)
    # any other file beside them (a re-split, an author's raw file) is refused too
    assert not is_trainable(folder / "v99A.jsonl")


def test_a_held_out_file_that_was_never_retired_is_not_trainable() -> None:
    assert not is_trainable(DATA / "corpus_v99" / "held_out.jsonl")
    assert is_trainable(DATA / "corpus_v99" / "dev.jsonl")
