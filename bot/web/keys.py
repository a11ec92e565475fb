"""What the auth gate (bot/web/console.py) puts on each request, and what the pages use of the
console (a Protocol, so pages and the form do not import the module that imports them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.config import Settings
from store.models import Member

MEMBER = web.RequestKey("member", Member)  # the logged-in member, loaded fresh for each request
SID = web.RequestKey("sid", str)  # the session's random id: form tokens are tied to it


class ConsoleApp(Protocol):
    engine: Engine
    read_engine: Engine  # store.db.read_only(engine): for pages that only read
    settings: Settings
    clock: Clock

    async def db(self, fn: Callable[[], Any]) -> Any: ...

    def render(self, request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response: ...

    def message(self, request: web.Request, status: int, title: str, text: str, *, link: str | None = None,
                link_label: str = "") -> web.Response: ...

    async def checked_form(self, request: web.Request) -> tuple[Any, web.Response | None]: ...
