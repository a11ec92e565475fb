"""What the WeCom and DingTalk API clients share: a lazily created aiohttp session and one cached
access token per app, refreshed before expiry or when the platform rejects it, one refresh at a
time (concurrent callers wait for it and reuse the result)."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

import aiohttp

REFRESH_MARGIN_SECONDS = 300.0


class TokenApiClient(ABC):
    def __init__(
        self,
        *,
        api_base: str,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.clock = clock
        self.refresh_margin = refresh_margin
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock: asyncio.Lock | None = None
        self.token_fetches = 0

    def _http(self) -> aiohttp.ClientSession:
        # Created lazily: a ClientSession must be made inside the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _fresh(self, stale: str | None) -> bool:
        return (
            self._token is not None and self._token != stale and self.clock() < self._expires_at - self.refresh_margin
        )

    async def access_token(self, *, stale: str | None = None) -> str:
        """The shared token; `stale` is one the platform just rejected, so it is never handed out again."""
        if self._fresh(stale):
            assert self._token is not None
            return self._token
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._fresh(stale):  # refreshed by whoever held the lock before us
                assert self._token is not None
                return self._token
            token, expires_in = await self._fetch_token()
            self.token_fetches += 1
            self._token = token
            self._expires_at = self.clock() + expires_in
            return token

    @abstractmethod
    async def _fetch_token(self) -> tuple[str, float]:
        """Ask the platform for a new token: (token, seconds until it expires)."""
