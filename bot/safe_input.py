"""Untrusted input made safe at the edge: text the database can store, JSON of bounded shape, ids
that fit a column. Pure functions; the adapters and handlers turn a refusal into a 4xx or a reply.

Each guard answers one measured failure: lone surrogates (JSON allows "\\ud800", UTF-8 cannot
encode it, so the insert raised UnicodeEncodeError), deeply nested JSON (RecursionError in the
decoder, or later in json.dumps of the stored raw payload), NaN/Infinity and 1e999 (not JSON
numbers a client should send; they break arithmetic and PostgreSQL JSON), and ids past the
integer column ("#99999999999999999999" overflowed SQLite's INTEGER binding on every retry).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_JSON_DEPTH = 32  # our bodies are two levels deep; anything near the decoder's limit is an attack
MAX_ID = 2**31 - 1  # the id columns are INTEGER on PostgreSQL; larger ids cannot exist
MAX_ID_DIGITS = 10


class BadJson(ValueError):
    """A body that is not JSON we accept; `reason` is Chinese, for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def scrub_text(value: str) -> str:
    """Lone surrogates (unencodable in UTF-8) become U+FFFD; everything else is kept as sent."""
    return _SURROGATE.sub("\ufffd", value)


def _reject_constant(name: str) -> Any:
    raise BadJson(f"JSON 中不能有 {name}")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise BadJson("JSON 中的数字超出范围")
    return number


def _depth_ok(value: Any, limit: int) -> bool:
    """Iterative, so measuring a deep value cannot itself overflow the stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def _scrubbed(value: Any) -> Any:
    """Every string, keys included, without lone surrogates (depth already bounded)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    if isinstance(value, dict):
        return {scrub_text(k): _scrubbed(v) for k, v in value.items()}
    return value


def load_json(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The decoded body, or BadJson: not UTF-8, not JSON, NaN/Infinity, a non-finite number,
    an integer of thousands of digits, or nesting deeper than `max_depth`."""
    try:
        value = json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except BadJson:
        raise
    except RecursionError:
        raise BadJson("JSON 嵌套层数过多") from None
    except (ValueError, UnicodeDecodeError):  # also int() past sys.get_int_max_str_digits
        raise BadJson("请求体不是有效的 JSON") from None
    if not _depth_ok(value, max_depth):
        raise BadJson("JSON 嵌套层数过多")
    return _scrubbed(value)


def parse_id(token: str) -> int | None:
    """A record id as people write it ("12" or "#12"): ASCII digits only, 1..MAX_ID; else None.

    str.isdigit() also accepts "²" and "١٢", which int() then refuses or reads as another number."""
    token = token.strip().removeprefix("#").removeprefix("＃")
    if not token or len(token) > MAX_ID_DIGITS or not (token.isascii() and token.isdigit()):
        return None
    number = int(token)
    return number if 1 <= number <= MAX_ID else None


def parse_bounded_int(token: str, *, low: int, high: int) -> int | None:
    """A small integer from a query string ("200"), or None: no signs, exponents or huge values."""
    token = token.strip()
    if not token or len(token) > len(str(high)) or not (token.isascii() and token.isdigit()):
        return None
    number = int(token)
    return number if low <= number <= high else None
