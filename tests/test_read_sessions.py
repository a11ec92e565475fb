"""Read-only sessions (store.db.read_only, the console's pages): on SQLite they begin DEFERRED and
read a snapshot while a writer holds the write lock, instead of queueing behind it; a write in one
fails at once; the pooled connection writes normally again afterwards."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select

from store.customers import create_customer
from store.db import make_engine, read_only, session_scope
from store.models import Customer
from tests.factories import T0, make_org


def test_reader_does_not_queue_behind_a_writer(sqlite_url):
    engine = make_engine(sqlite_url)
    org = make_org(engine)
    with session_scope(engine) as s:
        create_customer(session=s, actor=org.rep_a, name="张伟", at=T0)
    writer = Session(engine)
    create_customer(session=writer, actor=org.rep_a, name="李娜", at=T0)
    writer.flush()  # BEGIN IMMEDIATE: the write lock is held until commit
    try:
        started = time.perf_counter()
        with Session(read_only(engine)) as reader:
            count = reader.exec(select(func.count()).select_from(Customer)).one()
        assert time.perf_counter() - started < 2  # BEGIN IMMEDIATE would wait out the 10 s busy timeout
        assert count == 1  # the committed snapshot, not the writer's row
    finally:
        writer.rollback()
        writer.close()
    engine.dispose()


def test_a_write_in_a_read_only_session_fails_and_the_connection_writes_again(sqlite_url):
    engine = make_engine(sqlite_url, pool_size=1, max_overflow=0)  # one connection: the same one is reused
    org = make_org(engine)
    with Session(read_only(engine)) as reader, pytest.raises(OperationalError, match="readonly"):
        create_customer(session=reader, actor=org.rep_a, name="张伟", at=T0)
    with session_scope(engine) as s:
        create_customer(session=s, actor=org.rep_a, name="李娜", at=T0)
    with Session(read_only(engine)) as reader:
        assert reader.exec(select(func.count()).select_from(Customer)).one() == 1
    engine.dispose()
