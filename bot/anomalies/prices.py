"""Where the amount rule gets "the expected price" of a product.

`ExpectedPrice` is the whole interface: given a team and a product name, a price in yuan or None.
The product catalog (issue #16 part 1, built in parallel) plugs in here: pass its lookup as
`prices=` to scheduler.anomalies.sweep_anomalies (bot/app.py builds the scheduler). Until then, and
for any product the catalog does not know, the sweep falls back to the team's median amount for the
product (store.anomalies.team_product_amounts, bot.anomalies.rules.median_price).
"""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session

from bot.catalog.entries import catalog_entries
from bot.config import Settings


class ExpectedPrice(Protocol):
    def __call__(self, *, session: Session, team_id: int, product: str) -> int | None: ...


def no_catalog(*, session: Session, team_id: int, product: str) -> int | None:
    """No catalog configured: every product falls back to the team median."""
    return None


def catalog_prices(settings: Settings) -> ExpectedPrice:
    """The product catalog's unit price for a customer's product, when the name (or an alias, or
    name + edition) names exactly one catalog price; otherwise None, and the team median decides."""

    def lookup(*, session: Session, team_id: int, product: str) -> int | None:
        wanted = product.strip().casefold()
        prices = {
            entry.unit_price_cny
            for entry in catalog_entries(session=session, settings=settings)
            if wanted in {entry.name.casefold(), entry.label.casefold(), *(a.casefold() for a in entry.aliases)}
        }
        return prices.pop() if len(prices) == 1 else None

    return lookup
