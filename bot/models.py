"""Platform-neutral messages and cards: everything past an adapter speaks only these."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator

from bot.safe_input import scrub_text


class Platform(StrEnum):
    SANDBOX = "sandbox"
    WECOM = "wecom"
    DINGTALK = "dingtalk"


class InboundKind(StrEnum):
    TEXT = "text"
    VOICE = "voice"
    CARD_ACTION = "card_action"
    IMAGE = "image"
    FILE = "file"  # a document (PDF, ...): read when it is a PDF, otherwise filed like a link
    LINK = "link"
    EVENT = "event"


class Inbound(BaseModel):
    """One message or card click as an adapter parsed it, before it is stored in the inbox."""

    platform: Platform
    msg_id: str = Field(min_length=1, max_length=128)
    sender: str = Field(min_length=1, max_length=64)  # platform user id
    chat: str | None = None  # conversation id (group) or None for 1:1
    kind: InboundKind
    text: str | None = None  # message text, or the action key for card_action
    media_ref: str | None = None  # platform media id or local stored path
    raw: str = ""  # the payload as received (decrypted), kept until processed

    @field_validator("msg_id", "sender", "chat", "text", "media_ref", "raw", mode="before")
    @classmethod
    def _storable(cls, value: object) -> object:
        """Every adapter's text passes here: a lone surrogate would fail the insert (UTF-8)."""
        return scrub_text(value) if isinstance(value, str) else value


class CardField(BaseModel):
    label: str
    value: str
    warn: bool = False  # the rep should check this value


class TagToggle(BaseModel):
    name: str
    selected: bool
    action: str  # action key sent back when toggled


class Button(BaseModel):
    label: str
    action: str
    style: str = "default"  # default | primary | danger


class CardLink(BaseModel):
    """A link the card opens in the app's browser (the console's pages: 编辑, 查看)."""

    label: str
    url: str


class Card(BaseModel):
    """A neutral card; each platform renders it (bot/platforms/<platform>/render.py)."""

    title: str
    subtitle: str | None = None
    fields: list[CardField] = Field(default_factory=list)
    tags: list[TagToggle] = Field(default_factory=list)
    buttons: list[Button] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # e.g. history snippet lines
    links: list[CardLink] = Field(default_factory=list)


class Reply(BaseModel):
    """What a handler wants sent; the worker turns each into an outbox row."""

    text: str | None = None
    card: Card | None = None
    to_member_id: int | None = None  # None: answer the sender
    dedupe_key: str | None = None

    def payload(self) -> dict[str, Any]:
        if self.card is not None:
            return {"card": self.card.model_dump()}
        return {"text": self.text or ""}

    @property
    def kind(self) -> str:
        return "card" if self.card is not None else "text"
