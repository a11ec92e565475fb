"""A pickle of a trainer's loaded records, reused across experiments while the rules and features are unchanged."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def cached(path: Path | None, build: Callable[[], T]) -> T:
    """`build()`'s result, read from `path` when it exists, else built and (with a path) written there.

    Only for files this script wrote: stale after any change to the rules or the features (delete it)."""
    if path is not None and path.exists():
        value: T = pickle.loads(path.read_bytes())  # noqa: S301 (a file a trainer wrote)
        return value
    value = build()
    if path is not None:
        path.write_bytes(pickle.dumps(value))
    return value
