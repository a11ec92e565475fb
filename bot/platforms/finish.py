"""Which taps end a card, and the words the finished card shows instead of its buttons.

Shared by every platform's deliverer: a tap on 确认 or 丢弃 turns the tapped card itself into its final
state (WeCom: a grey button; DingTalk: the template's final banner; the sandbox: a closed card), so a
rep with ten cards sees which are done and cannot tap a finished one again.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.models import InboundKind
from bot.safe_input import parse_id
from store.models import FollowUp, InboundMessage, OutboxMessage

FINAL_LABELS = {"confirm": "已确认", "discard": "已丢弃"}
FINAL_STATES = {"confirm": "confirmed", "discard": "discarded"}


def final_label(action: str | None) -> str | None:
    """The text a tap on `action` leaves on its card, or None if the card stays live."""
    return FINAL_LABELS.get((action or "").partition(":")[0])


def final_state(action: str | None) -> str | None:
    """confirmed | discarded for a tap that ends its card, else None."""
    return FINAL_STATES.get((action or "").partition(":")[0])


def tap_took_effect(session: Session, action: str | None) -> bool:
    """Whether the tap on `action` really ended its record's card: 确认 only once the record is
    confirmed (a refused confirmation — no permission, a stage check — must leave the card live so
    the rep can fix it and tap again); 丢弃 once the record is gone (store.followups.discard_followup
    deletes it; a confirmed record is never discarded). Unknown shapes count as not taken: the card
    then simply stays live."""
    verb, _, rest = (action or "").partition(":")
    followup_id = parse_id(rest.partition(":")[0])
    if verb not in FINAL_LABELS or followup_id is None:
        return False
    followup = session.get(FollowUp, followup_id)
    if verb == "confirm":
        return followup is not None and followup.confirmed
    return followup is None


def ending_click(session: Session, *, platform: str, row: OutboxMessage,
                 received_after: datetime | None = None) -> InboundMessage | None:
    """The tap that outbox `row` answers, when that tap ended its card (see tap_took_effect). The
    worker stores a reply at exactly its tap's processed time, which is how the two are linked."""
    query = select(InboundMessage).where(
        col(InboundMessage.platform) == platform,
        col(InboundMessage.sender) == row.recipient,
        col(InboundMessage.kind) == InboundKind.CARD_ACTION,
        col(InboundMessage.processed_at) == row.created_at,
    )
    if received_after is not None:
        query = query.where(col(InboundMessage.received_at) > received_after)
    click = session.exec(query.order_by(col(InboundMessage.id).desc()).limit(1)).first()
    return click if click is not None and tap_took_effect(session, click.text) else None
