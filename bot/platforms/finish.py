"""Which taps end a card, and the words the finished card shows instead of its buttons.

Shared by every platform's deliverer: a tap on 确认 or 丢弃 turns the tapped card itself into its final
state (WeCom: a grey button; DingTalk: the template's final banner; the sandbox: a closed card), so a
rep with ten cards sees which are done and cannot tap a finished one again.
"""

from __future__ import annotations

FINAL_LABELS = {"confirm": "已确认", "discard": "已丢弃"}
FINAL_STATES = {"confirm": "confirmed", "discard": "discarded"}


def final_label(action: str | None) -> str | None:
    """The text a tap on `action` leaves on its card, or None if the card stays live."""
    return FINAL_LABELS.get((action or "").partition(":")[0])


def final_state(action: str | None) -> str | None:
    """confirmed | discarded for a tap that ends its card, else None."""
    return FINAL_STATES.get((action or "").partition(":")[0])
