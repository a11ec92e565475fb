"""A candidate ranker's conditional logit, shared by the customer and next-contact rankers: its weights file
and its scores.

Each candidate row has dense features and a list of hashed feature indices; its score is the dense features
dotted with the dense weights plus the hashed indices' weights. The highest score wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Weights:
    dense: npt.NDArray[np.float32]
    hashed: npt.NDArray[np.float32]
    trained_on: tuple[str, ...] = ()


def read_ranker_weights(path: Path, *, dense_names: tuple[str, ...], n_hashed: int, ranker: str) -> Weights:
    """A ranker's .npz (dense, dense_names, hashed, trained_on); ValueError when it was written for other features
    (weights_file.ShippedWeights then logs it once and the rules decide)."""
    with np.load(path) as npz:
        names = tuple(str(n) for n in npz["dense_names"])
        if names != dense_names or npz["hashed"].shape != (n_hashed,):
            raise ValueError(f"{ranker} weights do not match this code's features")
        return Weights(npz["dense"].astype(np.float32), npz["hashed"].astype(np.float32),
                       tuple(str(p) for p in npz["trained_on"]))


def scores(
    weights: Weights, dense: npt.NDArray[np.float32], hashed: Sequence[Sequence[int]]
) -> npt.NDArray[np.float32]:
    out = dense @ weights.dense
    for i, idx in enumerate(hashed):
        if idx:
            out[i] += float(weights.hashed[list(idx)].sum())
    return out
