"""Engine, sessions and migrations.

SQLite (default) runs in WAL mode with a busy timeout so the web handler, the worker and the
scheduler can write concurrently; PostgreSQL is used when the URL says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, create_engine

import store.contact_hooks  # noqa: F401  registers the after-flush hook (late matching, dirty scores)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "genjin_read_only"  # execution option of read_only(engine)


def normalize_url(url: str) -> str:
    # psycopg 3 is the driver we ship; plain postgresql:// would mean psycopg2.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def display_url(url: str) -> str:
    """The database URL as it may be printed or logged: the password replaced by ***."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable database URL)"


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    # A database error's text would otherwise quote its bound parameters ("[parameters: ...]"):
    # message text, phone numbers, names, into logs and the inbox's error column.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit BEGIN IMMEDIATE ourselves so a
        # read-then-write transaction takes the write lock up front instead of failing mid-way.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def read_only(engine: Engine) -> Engine:
    """The same engine (and pool) for sessions that only read, such as the console's pages. On SQLite
    their transactions begin DEFERRED, so a page reads a WAL snapshot without queueing behind writers
    for the write lock (BEGIN IMMEDIATE would); the connection is `query_only` meanwhile, so a write
    slipped into such a session fails at once instead of upgrading the lock mid-transaction. On
    PostgreSQL reads never wait for writers anyway; nothing changes there."""
    return engine.execution_options(**{READ_ONLY: True})


def _sqlite_begin(conn: Connection) -> None:
    reading = bool(conn.get_execution_options().get(READ_ONLY))
    if conn.info.get(READ_ONLY, False) != reading:  # the pragma stays with the pooled connection
        conn.exec_driver_sql(f"PRAGMA query_only={int(reading)}")
        conn.info[READ_ONLY] = reading
    conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let the "begin" listener own transactions
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
