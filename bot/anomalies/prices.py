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


class ExpectedPrice(Protocol):
    def __call__(self, *, session: Session, team_id: int, product: str) -> int | None: ...


def no_catalog(*, session: Session, team_id: int, product: str) -> int | None:
    """No catalog configured: every product falls back to the team median."""
    return None
