"""INSERT ... ON CONFLICT DO NOTHING for both SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def insert_ignore(session: Session, model: Any, values: dict[str, Any], conflict: list[str]) -> int | None:
    """Insert a row unless it conflicts on `conflict`; return the new primary key or None."""
    dialect = session.get_bind().dialect.name
    table = model.__table__
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    else:
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    result = session.execute(stmt.returning(table.c.id))
    row = result.first()
    return None if row is None else int(row[0])
