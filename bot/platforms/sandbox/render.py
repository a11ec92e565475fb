"""Renders a neutral Card for the sandbox page (the page escapes every string it shows)."""

from __future__ import annotations

from typing import Any

from bot.models import Card


def render_sandbox(card: Card) -> dict[str, Any]:
    return {
        "title": card.title,
        "subtitle": card.subtitle,
        "fields": [{"label": f.label, "value": f.value, "warn": f.warn} for f in card.fields],
        "tags": [{"name": t.name, "selected": t.selected, "action": t.action} for t in card.tags],
        "buttons": [{"label": b.label, "action": b.action, "style": b.style} for b in card.buttons],
        "notes": list(card.notes),
        "links": [{"label": link.label, "url": link.url} for link in card.links],
    }
