"""The conditional-logit fit shared by the candidate rankers' trainers (customer name, next contact), and the
two steps around it that are the same in both: the pool summary line and writing the weights file.

Each record contributes a group of candidate rows (dense features plus hashed feature indices); a softmax over
the group's scores is fitted to the row holding the labelled answer. Full-batch Adam on the mean log-loss plus
L2 / n, from zero weights, so the same records always give the same weights.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]


class RankerRecord(Protocol):
    """What both trainers' records carry: the author, the candidates' features, the right row and the time."""

    author: str
    dense: npt.NDArray[np.float32]
    hashed: list[list[int]]
    seconds: float  # candidates + features for this record

    @property
    def target(self) -> int | None: ...


def fit_conditional_logit(dense_rows: Sequence[npt.NDArray[np.float32]], hashed_rows: Sequence[Sequence[list[int]]],
                          targets: Sequence[int], *, n_hashed: int, l2_dense: float, l2_hashed: float,
                          iters: int) -> tuple[Matrix, Matrix]:
    """Per record: its candidates' dense rows (one matrix), their hashed indices (one list per row) and the index
    of the right row. Returns (dense weights, hashed weights)."""
    dense = np.vstack(list(dense_rows)).astype(np.float64)
    sizes = np.array([len(h) for h in hashed_rows])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    y = np.zeros(len(dense))
    y[starts + np.array(targets)] = 1.0
    flat = [h for rows in hashed_rows for h in rows]
    lengths = np.array([len(h) for h in flat])
    indices = np.concatenate([np.asarray(h, dtype=np.int64) for h in flat]) if lengths.sum() else np.zeros(0, np.int64)
    row_of = np.repeat(np.arange(len(flat)), lengths)
    group = np.repeat(np.arange(len(targets)), sizes)
    n = len(targets)
    wd, wh = np.zeros(dense.shape[1]), np.zeros(n_hashed)
    state = [[np.zeros_like(wd), np.zeros_like(wd)], [np.zeros_like(wh), np.zeros_like(wh)]]
    lr = 0.05
    for it in range(1, iters + 1):
        s = dense @ wd + np.bincount(row_of, weights=wh[indices], minlength=len(dense))
        top = np.maximum.reduceat(s, starts)
        e = np.exp(s - top[group])
        p = e / np.add.reduceat(e, starts)[group]
        g = (p - y) / n
        gd = dense.T @ g + l2_dense * wd / n
        gh = np.bincount(indices, weights=g[row_of], minlength=n_hashed) + l2_hashed * wh / n
        for param, grad, (m, v) in zip((wd, wh), (gd, gh), state, strict=True):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= lr * (m / (1 - 0.9**it)) / (np.sqrt(v / (1 - 0.999**it)) + 1e-8)
    return wd, wh


def fit_records(records: Sequence[RankerRecord], *, n_hashed: int, l2_dense: float, l2_hashed: float,
                iters: int) -> tuple[Matrix, Matrix]:
    """The fit over the records whose answer is among their candidates (the others teach nothing)."""
    usable = [(r, r.target) for r in records if r.target is not None]
    return fit_conditional_logit([r.dense for r, _ in usable], [r.hashed for r, _ in usable],
                                 [target for _, target in usable], n_hashed=n_hashed, l2_dense=l2_dense,
                                 l2_hashed=l2_hashed, iters=iters)


def print_pool_summary(records: Sequence[RankerRecord]) -> None:
    """Records, authors, and the time the ranker's candidates and features took per message."""
    ms = sorted(r.seconds * 1000 for r in records)
    authors = Counter(r.author for r in records)
    print(f"{len(records)} records by {len(authors)} authors; candidates+features per message "
          f"p50 {ms[len(ms) // 2]:.2f} ms, p99 {ms[int(len(ms) * 0.99)]:.2f} ms")


def write_weights(path: Path, wd: Matrix, wh: Matrix, *, dense_names: Sequence[str], training_files: Sequence[Path],
                  root: Path, n_records: int) -> None:
    """The .npz the rankers read (bot/extract/ranker_scores.read_ranker_weights), with the files it was fitted on."""
    trained_on = np.array([p.resolve().relative_to(root).as_posix() for p in training_files])
    np.savez_compressed(path, dense=wd.astype(np.float32), hashed=wh.astype(np.float32),
                        dense_names=np.array(dense_names), trained_on=trained_on)
    print(f"wrote {path.relative_to(root)} ({path.stat().st_size // 1024} kB) from {n_records} records")
