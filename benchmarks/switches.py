"""`--switch NAME=0|1` for the rankers' trainers: set a module switch of the ranker before featurizing (with
--refeaturize on a cache, or on a fresh pass), so a variant is measured from the command line and the shipped default
is left alone."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType


def apply_switches(module: ModuleType, names: Sequence[str], pairs: Sequence[str]) -> None:
    """Each `NAME=1` / `NAME=0` sets `module.NAME`; a name outside `names` or another value exits with a message."""
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in names or value not in ("0", "1"):
            raise SystemExit(f"--switch takes NAME=0|1 with NAME one of {', '.join(names)}: {pair!r}")
        setattr(module, name, value == "1")
