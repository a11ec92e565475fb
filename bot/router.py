"""Routes a stored inbound message to the first handler whose filter matches.

Each handler module exposes a `router` (aiogram-style); bot/handlers/__init__.py registers them in
order in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.context import HandlerContext

Handler = Callable[[HandlerContext], None]
Filter = Callable[[HandlerContext], bool]


@dataclass
class Route:
    name: str
    filter: Filter
    handler: Handler


@dataclass
class Router:
    name: str
    routes: list[Route] = field(default_factory=list)

    def on(self, filter: Filter) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(handler.__name__, filter, handler))
            return handler

        return register


@dataclass
class Dispatcher:
    routers: list[Router]
    fallback: Handler

    def dispatch(self, ctx: HandlerContext) -> str:
        """Run the first matching handler; return its name (logged)."""
        for router in self.routers:
            for route in router.routes:
                if route.filter(ctx):
                    route.handler(ctx)
                    return f"{router.name}.{route.name}"
        self.fallback(ctx)
        return "fallback"
