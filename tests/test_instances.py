"""The several-instances helper (tests/instances.py) itself: a failure in one instance fails the test."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.instances import on_instances


def test_each_instance_runs_on_its_own_engine_and_results_come_back_in_order(db_url):
    seen: list[Engine] = []
    names: list[str] = []

    def run(engine: Engine) -> int:
        seen.append(engine)
        names.append(threading.current_thread().name)
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar_one()

    assert on_instances(db_url, run, count=3) == [1, 1, 1]
    assert len({id(e) for e in seen}) == 3 and sorted(names) == ["instance-0", "instance-1", "instance-2"]


def test_an_exception_in_any_instance_is_raised_on_the_test_thread(db_url):
    def run(engine: Engine) -> None:
        if threading.current_thread().name == "instance-1":
            raise RuntimeError("boom")

    with pytest.raises(BaseExceptionGroup) as raised:
        on_instances(db_url, run)
    assert [str(e) for e in raised.value.exceptions] == ["boom"]
