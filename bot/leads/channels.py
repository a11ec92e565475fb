"""UTM parameters from a landing URL and the channel table (dy -> 抖音).

An unknown channel is never guessed: it is kept raw and flagged, so marketing can add it to the table.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

# A scheme ("javascript:", "ftp:"), not a host with a port ("www.x.cn:8080").
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:(?!\d)", re.IGNORECASE)
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


class UrlError(ValueError):
    """The landing URL cannot be a web page address."""


def parse_utm(url: str) -> dict[str, str]:
    """utm_* parameters of a landing URL, lower-case keys, decoded values, first non-empty value wins.

    Single-page sites often carry the query after the fragment (https://x.cn/#/form?utm_source=dy),
    so both the query and a query inside the fragment are read; the real query wins on conflict."""
    text = unicodedata.normalize("NFKC", url).strip()
    if not text:
        return {}
    if not _SCHEME.match(text):
        text = "https://" + text.lstrip("/")  # "www.x.cn/?utm_source=dy" as pasted from an ad console
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # e.g. an unbalanced IPv6 bracket
        raise UrlError(str(exc)) from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise UrlError("not an http(s) address")
    found: dict[str, str] = {}
    fragment_query = parts.fragment.split("?", 1)[1] if "?" in parts.fragment else ""
    for query in (parts.query, fragment_query):
        for key, value in parse_qsl(query, keep_blank_values=True):
            key, value = key.strip().lower(), value.strip()
            if key in UTM_KEYS and value and key not in found:
                found[key] = value[:200]
    return found


@dataclass(frozen=True)
class Channel:
    name: str  # what people see: 抖音; the raw code itself when unknown
    raw: str  # as received: dy
    known: bool


@dataclass
class ChannelTable:
    """Codes and names, matched case- and width-insensitively; each name also maps to itself."""

    codes: dict[str, str]
    _index: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {_key(name): name for name in self.codes.values()}
        self._index.update({_key(code): name for code, name in self.codes.items()})

    def resolve(self, raw: str) -> Channel:
        raw = raw.strip()
        name = self._index.get(_key(raw))
        return Channel(name=name, raw=raw, known=True) if name else Channel(name=raw[:64], raw=raw, known=False)

    def is_known(self, value: str) -> bool:
        return _key(value) in self._index

    def names(self) -> set[str]:
        return set(self.codes.values())


def _key(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().lower()


def channel_of(*, explicit: str | None, utm: dict[str, str], table: ChannelTable) -> Channel | None:
    """The explicit channel field wins (marketing set it on purpose); otherwise utm_source; None if
    neither is there: the caller must refuse the lead rather than guess."""
    raw = (explicit or "").strip() or utm.get("utm_source", "")
    return table.resolve(raw) if raw else None
