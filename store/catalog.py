"""The product catalog in the database: imported or set by an admin, removed by deactivation.

A product is keyed by (name, edition). Writes are one atomic statement each (insert-or-ignore on the
unique key, then a conditional update), so a re-import on two instances at once converges.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from store.models import CatalogProduct
from store.upsert import insert_ignore


def list_products(*, session: Session, include_inactive: bool = False) -> list[CatalogProduct]:
    query = select(CatalogProduct).order_by(col(CatalogProduct.name), col(CatalogProduct.edition))
    if not include_inactive:
        query = query.where(col(CatalogProduct.active).is_(True))
    return list(session.exec(query).all())


def upsert_product(
    *,
    session: Session,
    name: str,
    edition: str,
    unit_price_cny: int,
    unit: str,
    aliases: list[str],
    source: str,
    at: datetime,
) -> str:
    """Create or update one product. Returns "created", "updated" or "unchanged" (an idempotent
    re-import reports every row unchanged and writes nothing)."""
    values = {"name": name, "edition": edition, "unit_price_cny": unit_price_cny, "unit": unit,
              "aliases": aliases, "active": True, "source": source, "created_at": at, "updated_at": at}
    if insert_ignore(session, CatalogProduct, values, ["name", "edition"]) is not None:
        return "created"
    current = session.exec(
        select(CatalogProduct).where(col(CatalogProduct.name) == name, col(CatalogProduct.edition) == edition)
        .execution_options(populate_existing=True)
    ).one()
    if (current.unit_price_cny, current.unit, list(current.aliases), current.active) == \
            (unit_price_cny, unit, aliases, True):
        return "unchanged"
    session.execute(
        update(CatalogProduct)
        .where(col(CatalogProduct.id) == current.id)
        .values(unit_price_cny=unit_price_cny, unit=unit, aliases=aliases, active=True, source=source, updated_at=at)
    )
    session.expire(current)
    return "updated"


def deactivate_product(*, session: Session, name: str, edition: str, at: datetime) -> bool:
    """Remove a product from use; its row stays (old quotes point at it). False if there was none."""
    result = session.execute(
        update(CatalogProduct)
        .where(col(CatalogProduct.name) == name, col(CatalogProduct.edition) == edition,
               col(CatalogProduct.active).is_(True))
        .values(active=False, updated_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def known_keys(*, session: Session) -> set[tuple[str, str]]:
    """(name, edition) of every product the database has an opinion on, removed ones included: those
    override genjin.toml's entry of the same key."""
    return {(n, e) for n, e in session.exec(select(CatalogProduct.name, CatalogProduct.edition)).all()}
