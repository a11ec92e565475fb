"""Pure builder for the daily top-leads card: a rep's highest-scored leads and why."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.models import Button, Card, CardField, CardLink
from store.models import Customer


def reason_lines(reasons: Sequence[dict[str, Any]] | None, limit: int = 3) -> list[str]:
    """"近3天看了2次价格页 +22" lines, strongest first (as stored by bot/scoring)."""
    out = []
    for r in (reasons or [])[:limit]:
        points = int(r.get("points", 0))
        out.append(f"{r.get('text', '')} {'+' if points >= 0 else '−'}{abs(points)}")
    return out


def build_top_leads_card(*, leads: Sequence[Customer], console_url: str | None) -> Card:
    fields = [CardField(label=f"{c.lead_score}分",
                        value=c.name + (f"（{c.company}）" if c.company else "") + f" · {c.stage}")
              for c in leads]
    notes: list[str] = []
    for c in leads:
        lines = reason_lines(c.lead_score_reasons, 2)
        if lines:
            notes.append(f"{c.name}：" + "；".join(lines))
    links = ([CardLink(label=f"查看 {c.name}", url=f"{console_url}/console/customers/{c.id}") for c in leads[:3]]
             if console_url is not None else [])
    return Card(title="今日优先跟进的线索", subtitle=f"按线索评分排序，共 {len(leads)} 条", fields=fields, notes=notes,
                buttons=[Button(label=f"查看 {c.name}", action=f"view:{c.id}") for c in leads[:3]], links=links)
