"""Several bot instances on one database, for the exactly-once tests.

Each instance is a thread with its own engine (its own connection pool, as a separate process would
have); they start together at a barrier so their claims and conditional writes really race.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar, cast

from sqlalchemy.engine import Engine

from store.db import make_engine

T = TypeVar("T")


def on_instances(db_url: str, run: Callable[[Engine], T], *, count: int = 2) -> list[T]:
    """Run `run(engine)` on `count` fresh engines concurrently and return the results in order.

    Any exception raised in an instance is raised here (all of them, as an exception group), after
    every thread has finished; the engines are disposed either way.
    """
    engines = [make_engine(db_url) for _ in range(count)]
    start = threading.Barrier(count)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def instance(index: int) -> None:
        try:
            start.wait()
            results[index] = run(engines[index])
        except BaseException as exc:  # surfaced below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=instance, args=(i,), name=f"instance-{i}") for i in range(count)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for e in engines:
            e.dispose()
    if errors:
        raise BaseExceptionGroup(f"{len(errors)} of {count} instances failed", errors)
    return cast(list[T], results)  # every slot is set when no instance failed
