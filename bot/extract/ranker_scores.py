"""A candidate ranker's scores: the conditional logit shared by the customer and next-contact rankers.

Each candidate row has dense features and a list of hashed feature indices; its score is the dense features
dotted with the dense weights plus the hashed indices' weights. The highest score wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt


class RankerWeights(Protocol):
    @property
    def dense(self) -> npt.NDArray[np.float32]: ...

    @property
    def hashed(self) -> npt.NDArray[np.float32]: ...


def scores(
    weights: RankerWeights, dense: npt.NDArray[np.float32], hashed: Sequence[Sequence[int]]
) -> npt.NDArray[np.float32]:
    out = dense @ weights.dense
    for i, idx in enumerate(hashed):
        if idx:
            out[i] += float(weights.hashed[list(idx)].sum())
    return out
