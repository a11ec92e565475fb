"""Renders a neutral Card for DingTalk: as cardParamMap for our card-builder template (the default once
dingtalk.card_template_id is set; see the end of this module), or as interactive-card JSON for the
built-in `StandardCard` template (only while no template id is set).

StandardCard (the layout the dingtalk_stream SDK's interactive_card.py samples use) needs no template
made in the card builder: header, markdown blocks and rows of buttons travel in the card data.
Every tag is a toggle button (highlighted when selected) and every Card button a button; all are
"request" buttons, whose click comes back over the Stream connection as a card callback naming the
clicked component's id. A component id cannot hold any text we like, so the id is the action key
hex-encoded behind a fixed prefix and `action_of` turns it back: the handler sees the same action key
("confirm:12", "tag:12:价格异议") as from any other platform. Pure: same Card, same JSON (golden-file
tested).
"""

from __future__ import annotations

import json
from typing import Any

from bot.format import dialable_phone
from bot.models import Button, Card, TagToggle

ACTION_ID_PREFIX = "gj_"
MAX_ACTION_BYTES = 200  # keeps component ids short; our keys are far below this
BUTTONS_PER_ROW = 3  # more than three tag buttons in one row wrap badly on phones
STATUS = {"primary": "primary", "default": "normal", "danger": "warning"}
SELECTED_MARK = "✓ "


def action_id(action: str) -> str:
    return ACTION_ID_PREFIX + action.encode().hex()


def action_of(component_id: str) -> str | None:
    """The action key behind a clicked component id, or None when it is not one of ours."""
    if not component_id.startswith(ACTION_ID_PREFIX):
        return None
    try:
        return bytes.fromhex(component_id[len(ACTION_ID_PREFIX):]).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _button(label: str, action: str, status: str) -> dict[str, Any]:
    bid = action_id(action)
    return {"type": "button", "label": {"type": "text", "text": label, "id": f"{bid}_label"},
            "actionType": "request", "status": status, "id": bid}


def _tag_button(tag: TagToggle) -> dict[str, Any]:
    return _button((SELECTED_MARK if tag.selected else "") + tag.name, tag.action,
                   "primary" if tag.selected else "normal")


def _card_button(button: Button) -> dict[str, Any]:
    return _button(button.label, button.action, STATUS.get(button.style, "normal"))


def _rows(buttons: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [{"type": "action", "actions": buttons[i:i + BUTTONS_PER_ROW], "id": f"{name}_{i // BUTTONS_PER_ROW}"}
            for i in range(0, len(buttons), BUTTONS_PER_ROW)]


def render_dingtalk(card: Card) -> dict[str, Any]:
    """The card data of an interactiveCards/send (cardTemplateId StandardCard) or update request."""
    contents: list[dict[str, Any]] = []
    if card.subtitle:
        contents.append({"type": "text", "text": card.subtitle, "id": "subtitle"})
    if card.fields:
        lines = [f"**{f.label}**：{'⚠ ' if f.warn else ''}{f.value}" for f in card.fields]
        contents.append({"type": "markdown", "text": "\n\n".join(lines), "id": "fields"})
    tags = [t for t in card.tags if len(t.action.encode()) <= MAX_ACTION_BYTES]
    if tags:
        chosen = [t.name for t in tags if t.selected]
        contents.append({"type": "divider", "id": "tags_divider"})
        contents.append({"type": "markdown", "text": "**标签**：" + ("、".join(chosen) if chosen else "（未选）"),
                         "id": "tags_summary"})
        contents += _rows([_tag_button(t) for t in tags], "tags")
    buttons = [b for b in card.buttons if len(b.action.encode()) <= MAX_ACTION_BYTES]
    if buttons:
        contents += _rows([_card_button(b) for b in buttons], "buttons")
    if card.links:
        contents.append({"type": "markdown", "text": "　".join(f"[{link.label}]({link.url})" for link in card.links),
                         "id": "links"})
    if card.notes:
        contents.append({"type": "divider", "id": "notes_divider"})
        contents.append({"type": "markdown", "text": "\n\n".join(card.notes), "id": "notes"})
    return {
        "config": {"autoLayout": True, "enableForward": False},
        "header": {"title": {"type": "text", "text": card.title}},
        "contents": contents,
    }


def card_actions(card_data: dict[str, Any]) -> set[str]:
    """Every action key a rendered card can send back."""
    keys: set[str] = set()
    for block in card_data.get("contents", []):
        for button in block.get("actions", []) if block.get("type") == "action" else []:
            action = action_of(str(button.get("id", "")))
            if action is not None:
                keys.add(action)
    return keys


def render_markdown(card: Card) -> tuple[str, str]:
    """(title, markdown) for a card with nothing to click: it goes out as a plain markdown message."""
    lines = [f"#### {card.title}"]
    if card.subtitle:
        lines.append(f"> {card.subtitle}")
    lines += [f"- **{f.label}**：{'⚠ ' if f.warn else ''}{f.value}" for f in card.fields]
    if card.tags:
        chosen = [t.name for t in card.tags if t.selected]
        lines.append("**标签**：" + ("、".join(chosen) if chosen else "（未选）"))
    lines += list(card.notes)
    return card.title, "\n\n".join(lines)


# ---------------------------------------------------------------- card-instance template (cardParamMap)
#
# With a template made in DingTalk's card builder (bot/platforms/dingtalk/card_template.json, its id in
# the setting dingtalk.card_template_id), a card is the template plus a cardParamMap whose values must
# all be strings (https://open.dingtalk.com/document/orgapp/create-and-deliver-cards): lists travel as
# JSON text, which the template's loop components read. Each loop button sends back a callback whose
# cardPrivateData.params.action is the Card's action key ("confirm:12", "tag:12:要报价").

CARD_PARAM_KEYS = ("title", "subtitle", "fields_md", "tags_md", "tags", "buttons", "notes_md", "status",
                   "final_text")
OPEN = "open"


def render_card_params(card: Card) -> dict[str, str]:
    """The cardParamMap of a createAndDeliver or update call for the shipped template."""
    tags = [t for t in card.tags if len(t.action.encode()) <= MAX_ACTION_BYTES]
    buttons = [b for b in card.buttons if len(b.action.encode()) <= MAX_ACTION_BYTES]
    chosen = [t.name for t in tags if t.selected]
    return {
        "title": card.title,
        "subtitle": card.subtitle or "",
        "fields_md": "\n\n".join(f"**{f.label}**：{'⚠ ' if f.warn else ''}{dialable_phone(f.value)}"
                                 for f in card.fields),
        "tags_md": ("**标签**：" + ("、".join(chosen) if chosen else "（未选）")) if tags else "",
        "tags": json.dumps([{"text": (SELECTED_MARK if t.selected else "") + t.name, "action": t.action,
                             "status": "primary" if t.selected else "normal"} for t in tags], ensure_ascii=False),
        "buttons": json.dumps([{"text": b.label, "action": b.action, "status": STATUS.get(b.style, "normal")}
                               for b in buttons], ensure_ascii=False),
        "notes_md": "\n\n".join(card.notes),
        "status": OPEN,
        "final_text": "",
    }


def final_params(state: str, label: str) -> dict[str, str]:
    """The keys that turn a delivered card into its final state (sent with updateCardDataByKey): the
    template hides tags and buttons unless status is open and shows final_text instead."""
    return {"status": state, "final_text": label, "tags": "[]", "buttons": "[]"}


def param_actions(params: dict[str, str]) -> set[str]:
    """Every action key a card with these params can send back."""
    keys: set[str] = set()
    for name in ("tags", "buttons"):
        try:
            items = json.loads(params.get(name) or "[]")
        except ValueError:
            continue
        keys |= {str(i["action"]) for i in items if isinstance(i, dict) and i.get("action")}
    return keys
