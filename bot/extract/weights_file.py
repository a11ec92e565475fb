"""Learned weights shipped inside the package, read once per process.

The learned tag/stage layer and the two rankers each ship a small .npz file (trained by a script in
benchmarks/ with --write). Each is read at most once per process, under a lock so that concurrent first
messages do not read it twice. A missing, damaged or foreign file means "no weights": the rules decide, one
warning is logged, and the file is not read again (otherwise every message would re-read it and log again).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a parser may raise for a file it cannot use: unreadable, not an archive, a missing array, or arrays that
# do not match this code (it raises ValueError for those).
UNUSABLE = (OSError, ValueError, KeyError)


class ShippedWeights(Generic[T]):
    """One weights file: `get()` parses it on first use and returns the same object (or None) ever after."""

    def __init__(self, path: Path, parse: Callable[[Path], T], *, name: str) -> None:
        self.path = path
        self._parse = parse
        self._name = name  # the log event prefix, e.g. "company_ranker"
        self._lock = threading.Lock()
        self._loaded = False
        self._value: T | None = None
        self.loads = 0  # how many times the file was parsed successfully (tests check it is once per process)

    def get(self) -> T | None:
        if self._loaded:
            return self._value
        with self._lock:
            if not self._loaded:
                self._value = self._read()
                self._loaded = True
        return self._value

    def _read(self) -> T | None:
        if not self.path.exists():
            log.warning(f"{self._name}.weights_missing")
            return None
        try:
            value = self._parse(self.path)
        except UNUSABLE:
            # Retrain with the benchmark's --write; meanwhile the rules decide.
            log.warning(f"{self._name}.weights_unusable")
            return None
        self.loads += 1
        return value
