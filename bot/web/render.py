"""HTML rendering: Jinja2 with autoescape on for every template (nothing reaches a page unescaped),
and the formatting people see elsewhere in genjin (Asia/Shanghai times, 万元 amounts)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.format import fmt_amount, fmt_when

TEMPLATES = Path(__file__).parent / "templates"
PREFIX = "/console"


def make_environment(tz: tzinfo) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)

    def when(value: datetime | None, with_time: bool = True) -> str:
        return fmt_when(value, tz, with_time) if value else "—"

    def short(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "—"

    env.filters.update(when=when, amount=fmt_amount, short=short)
    env.globals.update(prefix=PREFIX)
    return env


def page(env: Environment, name: str, status: int = 200, **context: Any) -> web.Response:
    html = env.get_template(name).render(**context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "same-origin",
                                 "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' "
                                                            "data:; form-action 'self' https:; frame-ancestors 'self'"})


def redirect(location: str, status: int = 303) -> web.Response:
    """A plain redirect response (cookies can be set on it; an HTTPException is not meant to be returned)."""
    return web.Response(status=status, headers={"Location": location, "Cache-Control": "no-store"})
