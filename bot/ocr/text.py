"""Tidy OCR lines into the text a rep would paste, so a chat screenshot reads like a pasted chat.

OCR drops the spaces a chat copy has between a sender's name, the date and the time
("许志强11/1609：15" for "许志强 11/16 09:15") and reads some colons full-width; the chat splitter
(bot/extract/chat.py) needs them to see a speaker header. Only that shape is touched: the other lines
are kept as read.
"""

from __future__ import annotations

import re

_HEADER = re.compile(
    r"^(?P<name>\S.{0,38}?[^\d\s/:-])\s*(?P<date>(?:\d{4}[/-])?\d{1,2}[/-]\d{1,2})\s*"
    r"(?P<time>\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)$"
)


def tidy_lines(text: str) -> str:
    out = []
    for line in text.splitlines():
        line = line.strip()
        m = _HEADER.match(line)
        if m:
            line = f"{m.group('name')} {m.group('date')} {m.group('time').replace('：', ':')}"
        out.append(line)
    return "\n".join(line for line in out if line)
