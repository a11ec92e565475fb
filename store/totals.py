"""The pipeline totals (`pipelinetotal`): per (team, owner, stage) how many customers are in the book,
the sum of their amounts and how many are on the stale ladder. The database keeps them: row triggers
on `customer` (migration 0016) move each change's old and new cell in the change's own transaction,
with atomic upserts, whatever wrote the row. Here: reading them for the console, and rebuilding or
checking them against the customers table (`genjin totals`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, text
from sqlmodel import Session, col, select

from store.models import Customer, Member, PipelineTotal, Role

POOL = 0  # owner_id of the public pool's cells


@dataclass(frozen=True)
class Cell:
    owner_id: int | None  # None: the public pool
    stage: str
    count: int
    amount: int
    stale: int


def read_totals(*, session: Session, actor: Member, owner_id: int | None = None,
                stage: str | None = None) -> list[Cell]:
    """The cells the actor may see, summed over teams: a rep's own (any team), a supervisor's team,
    an admin's all; optionally one owner and/or one stage. Reads O(owners × stages) rows."""
    if not actor.active:
        return []
    columns: list[Any] = [PipelineTotal.owner_id, PipelineTotal.stage, func.sum(PipelineTotal.customers),
                          func.sum(PipelineTotal.amount_cny), func.sum(PipelineTotal.stale)]
    stmt: Any = select(*columns)
    if actor.role == Role.SUPERVISOR:
        stmt = stmt.where(col(PipelineTotal.team_id) == actor.team_id)
    elif actor.role != Role.ADMIN:
        stmt = stmt.where(col(PipelineTotal.owner_id) == actor.id)
    if owner_id is not None:
        stmt = stmt.where(col(PipelineTotal.owner_id) == owner_id)
    if stage is not None:
        stmt = stmt.where(col(PipelineTotal.stage) == stage)
    stmt = stmt.group_by(col(PipelineTotal.owner_id), col(PipelineTotal.stage))
    cells = []
    for owner, st, n, amount, stale in session.exec(stmt).all():
        if int(n or 0) == 0 and int(amount or 0) == 0:
            continue  # a cell everyone has left
        cells.append(Cell(owner_id=None if owner == POOL else int(owner), stage=str(st), count=int(n or 0),
                          amount=int(amount or 0), stale=int(stale or 0)))
    return cells


def _from_customers() -> Any:
    owner = func.coalesce(col(Customer.owner_id), POOL)
    columns: list[Any] = [Customer.team_id, owner, Customer.stage, func.count(),
                          func.coalesce(func.sum(col(Customer.amount_cny)), 0),
                          func.sum(case((col(Customer.stale_rung) > 0, 1), else_=0))]
    return (select(*columns).where(col(Customer.merged_into_id).is_(None), col(Customer.draft).is_(False))
            .group_by(col(Customer.team_id), owner, col(Customer.stage)))


def totals_drift(*, session: Session) -> list[tuple[tuple[int, int, str], tuple[int, int, int], tuple[int, int, int]]]:
    """Cells where the totals differ from a fresh GROUP BY of the customers: (key, kept, actual)."""
    actual = {(int(t), int(o), str(s)): (int(n), int(a), int(st or 0))
              for t, o, s, n, a, st in session.exec(_from_customers()).all()}
    kept = {(t.team_id, t.owner_id, t.stage): (t.customers, t.amount_cny, t.stale)
            for t in session.exec(select(PipelineTotal)).all()}
    zero = (0, 0, 0)
    return [(key, kept.get(key, zero), actual.get(key, zero)) for key in sorted(set(actual) | set(kept))
            if kept.get(key, zero) != actual.get(key, zero)]


def rebuild_pipeline_totals(*, session: Session) -> int:
    """Recompute every cell from the customers table, in the caller's transaction; returns the cells
    written. On PostgreSQL the customers are locked against writes (SHARE: reads go on) so no change
    slips between the count and the write; SQLite's BEGIN IMMEDIATE already holds the write lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("LOCK TABLE customer IN SHARE MODE"))  # type: ignore[call-overload]
    session.exec(delete(PipelineTotal))  # type: ignore[call-overload]
    rows = session.exec(_from_customers()).all()
    session.add_all(PipelineTotal(team_id=int(t), owner_id=int(o), stage=str(s), customers=int(n),
                                  amount_cny=int(a), stale=int(st or 0)) for t, o, s, n, a, st in rows)
    session.flush()
    return len(rows)
