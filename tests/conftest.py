"""Shared fixtures: real databases from the migrations (SQLite always, PostgreSQL from initdb)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings
from store.db import make_engine, migrate
from tests.pg_server import PgServer, find_pg_bin

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    if find_pg_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries are required in CI (.ci/run installs them)")
        pytest.skip("PostgreSQL server binaries not installed")
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/genjin.db"
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        url = server.create_database(f"t{os.getpid()}_{next(_db_counter)}")
    migrate(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/genjin.db"
    migrate(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "var")


class Clock:
    """An injected clock for time-travel tests."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    # Monday 2026-11-16 10:00 Asia/Shanghai
    return Clock(datetime(2026, 11, 16, 2, 0, tzinfo=UTC))
