"""The effective catalog: the database's active products, plus genjin.toml's products the database
has no row for (a product removed by an admin stays removed even though genjin.toml names it)."""

from __future__ import annotations

from sqlmodel import Session

from bot.config import Settings
from bot.extract.products import CatalogEntry
from store.catalog import known_keys, list_products


def catalog_entries(*, session: Session, settings: Settings) -> list[CatalogEntry]:
    entries = [
        CatalogEntry(product_id=p.id, name=p.name, edition=p.edition, unit_price_cny=p.unit_price_cny, unit=p.unit,
                     aliases=tuple(p.aliases))
        for p in list_products(session=session)
    ]
    overridden = known_keys(session=session)
    entries += [
        CatalogEntry(product_id=None, name=item.name, edition=item.edition, unit_price_cny=item.unit_price,
                     unit=item.unit, aliases=tuple(item.aliases))
        for item in settings.catalog.products
        if (item.name, item.edition) not in overridden
    ]
    return entries
