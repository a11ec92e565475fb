"""Result type of the extraction pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store.stages import Stage


@dataclass(frozen=True)
class Extraction:
    customer_name: str | None
    company: str | None
    phone: str | None
    email: str | None
    tags: tuple[str, ...]
    next_contact: datetime | None
    next_contact_has_time: bool
    amount_cny: int | None
    stage_hint: Stage | None
    product: str | None

    def is_empty(self) -> bool:
        """True when nothing actionable was found (a stage or product alone cannot be filed)."""
        return not any(
            (
                self.customer_name,
                self.company,
                self.phone,
                self.email,
                self.tags,
                self.amount_cny is not None,
                self.next_contact is not None,
            )
        )
