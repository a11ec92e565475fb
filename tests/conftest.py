"""Shared fixtures: real databases from the migrations (SQLite always, PostgreSQL from initdb)."""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings
from store.db import make_engine, migrate
from tests.pg_server import PgServer, find_pg_bin

_db_counter = itertools.count()

# One clock (ARCHITECTURE.md #7): the product reads time only from the clock it is given. CI runs the
# suite a second time with the process wall clock moved years ahead (GENJIN_TEST_WALL_CLOCK, e.g.
# 2031-06-18T03:00:00+00:00) so any test or product path that reads the real clock fails there.
WALL_CLOCK_ENV = "GENJIN_TEST_WALL_CLOCK"


def pytest_configure(config: pytest.Config) -> None:
    moved_to = os.environ.get(WALL_CLOCK_ENV)
    if moved_to:
        import time_machine

        traveller = time_machine.travel(datetime.fromisoformat(moved_to), tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


def pytest_report_header(config: pytest.Config) -> str | None:
    moved_to = os.environ.get(WALL_CLOCK_ENV)
    return f"wall clock moved to {moved_to} (time-machine)" if moved_to else None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    if find_pg_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries are required in CI (.ci/run installs them)")
        pytest.skip("PostgreSQL server binaries not installed")
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrations run once per session; each test gets a copy of the result."""
    path = tmp_path_factory.mktemp("template") / "genjin.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> str:
    name = f"template_{os.getpid()}"
    migrate(pg_server.create_database(name))  # alembic's engine uses NullPool: no connection stays open
    return name


def copy_sqlite(template: Path, target: Path) -> str:
    """A consistent copy of a WAL-mode database (the backup API, not a file copy)."""
    with sqlite3.connect(template) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database, SQLite or PostgreSQL, fresh for this test (copied from a template)."""
    if request.param == "sqlite":
        return copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "genjin.db")
    server: PgServer = request.getfixturevalue("pg_server")
    return server.create_database(f"t{os.getpid()}_{next(_db_counter)}",
                                  template=request.getfixturevalue("pg_template"))


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    return copy_sqlite(sqlite_template, tmp_path / "genjin.db")


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
