"""The conditional-logit fit shared by the candidate rankers' trainers (customer name, next contact).

Each record contributes a group of candidate rows (dense features plus hashed feature indices); a softmax over
the group's scores is fitted to the row holding the labelled answer. Full-batch Adam on the mean log-loss plus
L2 / n, from zero weights, so the same records always give the same weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]


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
