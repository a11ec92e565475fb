"""One after-flush hook for what must follow any customer write, whichever code path made it:

- a customer created, or given a phone or e-mail, gets the marketing events waiting for that contact;
  a lead touch with an external id gets the events its source sent under that id (late matching);
- anything that can move a lead score marks the customer's score dirty (store/scores.py).

It runs inside the flush on the same connection and transaction (Core statements only: the ORM may
not be used mid-flush), so it commits or rolls back with the write that caused it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from store.marketing import match_waiting_events
from store.models import Customer, FollowUp, LeadTouch
from store.scores import mark_score_dirty

CONTACT_FIELDS = ("phone", "email")
# What the scorer reads from the customer row (bot/scoring): a change re-scores it.
PROFILE_FIELDS = ("industry", "region", "company", "grade", "source_channel", "latest_channel", "stage",
                  "merged_into_id")


def _changed(obj: Any, fields: tuple[str, ...]) -> list[str]:
    state = inspect(obj)
    return [f for f in fields if state.attrs[f].history.has_changes()]


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    # new / dirty and attribute history still show the state before this flush (SQLAlchemy docs,
    # SessionEvents.after_flush), which is what tells a change from an unchanged row.
    dirty: set[int] = set()
    matches: list[dict[str, Any]] = []
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Customer) and obj.id is not None:
            is_new = obj in session.new
            contact = is_new or bool(_changed(obj, CONTACT_FIELDS))
            if is_new or contact or _changed(obj, PROFILE_FIELDS):
                dirty.add(obj.id)
            if contact and obj.merged_into_id is None and (obj.phone or obj.email):
                matches.append({"customer_id": obj.id, "phone": obj.phone, "email": obj.email})
        elif isinstance(obj, FollowUp) and obj in session.new:
            dirty.add(obj.customer_id)
        elif isinstance(obj, LeadTouch) and obj in session.new:
            dirty.add(obj.customer_id)
            prefix = f"api:{obj.source}:"
            if obj.dedupe_key and obj.dedupe_key.startswith(prefix):
                matches.append({"customer_id": obj.customer_id, "source": obj.source,
                                "external_id": obj.dedupe_key[len(prefix):]})
    if not dirty and not matches:
        return
    conn = session.connection()
    for match in matches:
        if match_waiting_events(conn, **match):
            dirty.add(match["customer_id"])
    mark_score_dirty(conn, customer_ids=dirty)
