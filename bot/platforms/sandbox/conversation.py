"""One member's sandbox conversation as the page shows it, with the same card semantics as WeCom and
DingTalk: a card answered by the refreshed card of the same record is re-rendered in place (the item
says which card it `replaces`), a tap on 确认/丢弃 finishes the tapped card (`final`: 「已确认」/「已丢弃」,
nothing left to tap), and a tap shows as what the rep tapped (「确认」, 「标签：要报价」), not as its
action key. Pure over the rows it is given (tested without a browser).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from bot.models import Card
from bot.platforms.finish import final_label
from bot.platforms.sandbox.render import render_sandbox
from store.models import InboundMessage, OutboxMessage


def _actions(card: Card) -> set[str]:
    return {t.action for t in card.tags} | {b.action for b in card.buttons}


def tap_label(action: str, card: Card | None) -> str:
    """「确认」, 「标签：要报价」 (「取消标签：要报价」 when it was on): what the rep tapped, in their words."""
    if card is not None:
        for tag in card.tags:
            if tag.action == action:
                return f"「{'取消标签' if tag.selected else '标签'}：{tag.name}」"
        for button in card.buttons:
            if button.action == action:
                return f"「{button.label}」"
    verb, _, rest = action.partition(":")
    if verb == "tag":
        return f"「标签：{rest.partition(':')[2]}」"
    return "「" + ({"confirm": "确认", "discard": "丢弃"}.get(verb) or "点击") + "」"


def _clicked_card(click: InboundMessage, cards: Sequence[tuple[OutboxMessage, Card]]) -> OutboxMessage | None:
    """The card the tap was on: the one the page named, else the latest earlier card offering it."""
    try:
        named = json.loads(click.raw or "{}").get("card")
    except (ValueError, AttributeError):
        named = None
    for row, card in cards:
        if named == f"out-{row.id}" and click.text in _actions(card):
            return row
    earlier = [row for row, card in cards if row.created_at <= click.received_at and click.text in _actions(card)]
    return earlier[-1] if earlier else None


def conversation_items(inbound: Sequence[InboundMessage], outbound: Sequence[OutboxMessage],
                       limit: int, took_effect: Callable[[str], bool] = lambda _action: True) -> list[dict[str, Any]]:
    """Items oldest first. `inbound` and `outbound` may come in any order. `took_effect` says whether a
    tap on 确认/丢弃 really ended its record (bot/platforms/finish.py tap_took_effect)."""
    cards = sorted(((o, Card.model_validate(o.payload["card"])) for o in outbound if o.kind == "card"),
                   key=lambda pair: pair[0].id or 0)
    card_of = {row.id: card for row, card in cards}
    replaces: dict[int, int] = {}  # card row id -> the card row it re-renders in place
    final: dict[int, str] = {}  # card row id -> 已确认 / 已丢弃
    labels: dict[int, str] = {}  # inbound id -> tap label
    for click in inbound:
        if click.kind != "card_action" or not click.text:
            continue
        clicked = _clicked_card(click, cards)
        labels[click.id or 0] = tap_label(click.text, card_of.get(clicked.id) if clicked else None)
        if clicked is None or click.processed_at is None:
            continue
        # The handler's replies are stored at the moment it finished the tap (the one clock).
        answers = [row for row, card in cards
                   if row.created_at == click.processed_at and row.id != clicked.id and click.text in _actions(card)]
        if answers:
            replaces[answers[0].id or 0] = clicked.id or 0
        if (label := final_label(click.text)) is not None and took_effect(click.text):
            final[clicked.id or 0] = label
    items: list[dict[str, Any]] = []
    for m in inbound:
        if m.kind == "card_action":
            shown = labels.get(m.id or 0) or tap_label(m.text or "", None)
        else:
            shown = (m.text or "") if m.kind == "text" else ("[语音]" if m.kind == "voice" else f"[{m.kind}]")
        items.append({"id": f"in-{m.id}", "dir": "in", "kind": m.kind, "text": shown,
                      "at": m.received_at.isoformat(), "status": m.status})
    for o in outbound:
        item: dict[str, Any] = {"id": f"out-{o.id}", "dir": "out", "kind": o.kind,
                                "at": (o.sent_at or o.created_at).isoformat()}
        if o.kind == "card":
            item["card"] = render_sandbox(card_of[o.id])
            item["final"] = final.get(o.id or 0)
            item["replaces"] = f"out-{replaces[o.id or 0]}" if (o.id or 0) in replaces else None
        else:
            item["text"] = o.payload.get("text", "")
        items.append(item)
    items.sort(key=lambda i: (i["at"], i["id"]))
    return items[-limit:]
