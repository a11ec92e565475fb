"""WeCom's callback XML, parsed safely in one expat pass.

A DOCTYPE or any entity declaration (XXE, billion laughs) stops the parser the moment it is seen,
before anything is expanded; WeCom never sends one. The tree has the shape xmltodict (and so
wechatpy) gives: text leaves stripped (None when empty), child elements as dicts, repeated
elements as lists. Attributes are ignored: WeCom's callbacks have none.
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat


class Rejected(Exception):
    """A callback we refuse with `status`, storing nothing."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Forbidden(Exception):
    pass


def _forbid(*_args: object) -> None:
    raise _Forbidden


class _Tree:
    def __init__(self) -> None:
        self.stack: list[tuple[dict[str, Any], list[str]]] = [({}, [])]

    def start(self, _name: str, _attrs: object) -> None:
        self.stack.append(({}, []))

    def chars(self, data: str) -> None:
        self.stack[-1][1].append(data)

    def end(self, name: str) -> None:
        children, parts = self.stack.pop()
        value: Any = children or ("".join(parts).strip() or None)
        parent = self.stack[-1][0]
        if name not in parent:
            parent[name] = value
        elif isinstance(parent[name], list):
            parent[name].append(value)
        else:
            parent[name] = [parent[name], value]


def parse_xml(data: bytes | str) -> dict[str, Any]:
    """The children of the root <xml> element; Rejected(400) for anything else."""
    raw = data.encode() if isinstance(data, str) else data
    parser = expat.ParserCreate("UTF-8")  # the bytes are UTF-8 whatever the XML declaration claims
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    parser.UnparsedEntityDeclHandler = _forbid
    parser.ExternalEntityRefHandler = _forbid  # type: ignore[assignment]
    tree = _Tree()
    parser.StartElementHandler = tree.start
    parser.EndElementHandler = tree.end
    parser.CharacterDataHandler = tree.chars
    try:
        parser.Parse(raw, True)
    except _Forbidden:
        raise Rejected(400, "xml_entities_forbidden") from None
    except expat.ExpatError:
        raise Rejected(400, "malformed_xml") from None
    root = tree.stack[0][0].get("xml")
    if not isinstance(root, dict):
        raise Rejected(400, "not_wecom_xml")
    return root


def text_of(fields: dict[str, Any], key: str) -> str | None:
    value = fields.get(key)
    return value if isinstance(value, str) else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def selected_options(fields: dict[str, Any]) -> dict[str, list[str]]:
    """SelectedItems of a template_card_event: question key -> chosen option ids. WeCom sends one
    SelectedItem or several, and one OptionId or several, in the same shape."""
    items = fields.get("SelectedItems")
    out: dict[str, list[str]] = {}
    if not isinstance(items, dict):
        return out
    for item in _as_list(items.get("SelectedItem")):
        if not isinstance(item, dict) or not isinstance(item.get("QuestionKey"), str):
            continue
        ids = item.get("OptionIds")
        options = _as_list(ids.get("OptionId")) if isinstance(ids, dict) else []
        out[item["QuestionKey"]] = [o for o in options if isinstance(o, str)]
    return out
