"""Signed, expiring tokens for the console's cookies (session and OAuth state).

A token is `base64url(json payload).base64url(HMAC-SHA256)`; the payload carries its expiry as a
Unix time from the injected clock, so a test moves the clock and the session ends. Anything altered,
expired or signed with another key reads as None."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.config import Settings

KEY_FILE = "console_session.key"


def load_or_create_key(settings: Settings) -> bytes:
    """The configured key, or one generated on first start and kept under data_dir (mode 0600), so a
    restart keeps everyone logged in and two instances on one data_dir agree."""
    configured = settings.console.session_key
    if configured is not None:
        return configured.get_secret_value().encode()
    path = Path(settings.data_dir) / KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, key: bytes, clock: Clock) -> None:
        self.key = key
        self.clock = clock

    def _mac(self, purpose: str, body: str) -> str:
        return _b64(hmac.new(self.key, f"{purpose}:{body}".encode(), hashlib.sha256).digest())

    def dumps(self, purpose: str, payload: dict[str, Any], *, ttl_seconds: float) -> str:
        """`purpose` separates token kinds: a state token is never accepted as a session."""
        body = _b64(json.dumps({**payload, "exp": self.clock().timestamp() + ttl_seconds},
                               separators=(",", ":")).encode())
        return f"{body}.{self._mac(purpose, body)}"

    def loads(self, purpose: str, token: str | None) -> dict[str, Any] | None:
        if not token or token.count(".") != 1 or len(token) > 4096:
            return None
        body, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(purpose, body)):
            return None
        try:
            payload = json.loads(_unb64(body))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int | float):
            return None
        if payload["exp"] <= self.clock().timestamp():
            return None
        return payload

    def tag(self, purpose: str, value: str) -> str:
        """A keyed digest of `value` (e.g. the form token tied to one session)."""
        return self._mac(purpose, value)
