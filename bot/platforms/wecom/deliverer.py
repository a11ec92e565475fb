"""Outbox deliverer for WeCom: text, markdown and template cards through the active message API.

The sender (bot/pipeline/outbox.py) already keeps each member under WeCom's 30/min and 1000/h (WeCom drops
the excess without an error) and retries what we raise. Here we only decide what a WeCom error
means: refusals about the recipient or the payload are permanent (retrying sends the same thing);
everything else — busy, frequency limits, an untrusted IP, a wrong secret while the admin fixes
it — is retried with backoff and ends as a failed row with the error kept if it never recovers.

A card sent in answer to a click on another card of the same record (a tag toggle) replaces that
card in place with the click's ResponseCode (message/update_template_card, usable once within 72 h)
instead of stacking a new card under it; if WeCom refuses the code, the card is sent as new.
A tap that ends a card (确认, 丢弃) greys the tapped card out in place: the first reply to that tap
spends the tap's ResponseCode on update_template_card with `button.replace_name` 「已确认」/「已丢弃」
(document/path/94888, 更新按钮为不可点击状态: only interaction cards, one call per code, 72 h), so a
rep with ten cards sees which are done and cannot tap a finished one again. The reply is found by
the one clock: a handler's replies are stored with created_at equal to its click's processed_at.

Sent once, even when a sender dies between WeCom's answer and marking the row (the row is re-sent
after its lease): every message/send carries WeCom's duplicate check (bot/platforms/wecom/api.py), so the very
same request within the window is answered ok and not shown again; and a card's task_id is fixed
per row, so a card re-sent after the window is refused with 40058 — which for a re-send means the
first one got through (document/path/90236: task_id "同一个应用任务id不能重复").
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.models import Card, InboundKind, Platform
from bot.pipeline.outbox import PermanentDeliveryError, RateLimit
from bot.platforms.finish import ending_click
from bot.platforms.wecom.api import TOKEN_ERRORS, WeComApi, WeComError
from bot.platforms.wecom.callback import click_fields
from bot.platforms.wecom.render import card_actions, final_label, render_markdown, render_wecom
from bot.platforms.wecom.xml import Rejected
from store.models import InboundMessage, OutboxMessage

log = structlog.get_logger("genjin.wecom_delivery")

# https://developer.work.weixin.qq.com/document/path/90313 (全局错误码)
PERMANENT_ERRORS = frozenset({
    40003,  # invalid UserID
    40008,  # invalid message type
    40058,  # invalid parameter (payload)
    40063,  # a required parameter is empty
    44004,  # empty text content
    45002,  # content too long
    60111,  # UserID not found
    81013,  # recipient invalid or outside the app's visible range
    82001,  # no valid recipient
})
TASK_ID_TAKEN = 40058  # "invalid parameter"; on a card re-sent with its own task_id: already delivered
TEXT_LIMIT_BYTES = 2048  # WeCom cuts longer text: split it instead of losing the tail
RESPONSE_CODE_TTL = timedelta(hours=72)
SPENT_KEPT = 10_000
ZERO_WIDTH = "\u200b"
DUPLICATE_MARGIN = timedelta(minutes=5)  # our clock and WeCom's need not agree to the second
RATE_HOLD = timedelta(hours=1)  # the longest a row waits for the 1000/hour limit


def _hard_wrap(line: str, limit: int) -> list[str]:
    pieces, current, size = [], "", 0
    for ch in line:
        n = len(ch.encode())
        if size + n > limit:
            pieces.append(current)
            current, size = "", 0
        current += ch
        size += n
    pieces.append(current)
    return pieces


DISTINCT_RESERVE = 48  # bytes kept free in each piece for `distinct`'s zero-width marks


def distinct(pieces: list[str], earlier: int) -> list[str]:
    """The pieces, each made unlike any identical message sent before within WeCom's duplicate
    window: `earlier` identical rows went out, and a piece may repeat within this row. Zero-width
    spaces are invisible, and the same row always gets the same marks, so a re-send of *this* row
    is still recognised as a duplicate."""
    out: list[str] = []
    for i, piece in enumerate(pieces):
        repeats = sum(p == piece for p in pieces[:i])
        out.append(piece + ZERO_WIDTH * min(earlier * len(pieces) + repeats, DISTINCT_RESERVE // 3))
    return out


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes, broken at line ends where possible."""
    if len(text.encode()) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        for piece in _hard_wrap(line, limit):
            if current and len((current + piece).encode()) > limit:
                parts.append(current)
                current = ""
            current += piece
    parts.append(current)
    return [p.rstrip("\n") for p in parts if p.strip()]


class WeComDeliverer:
    platform = Platform.WECOM
    limit = RateLimit(per_minute=30, per_hour=1000)

    def __init__(self, api: WeComApi, engine: Engine, clock: Clock) -> None:
        self.api = api
        self.engine = engine
        self.clock = clock
        self._spent: set[str] = set()  # ResponseCodes this process spent on finishing a card

    async def deliver(self, row: OutboxMessage) -> None:
        try:
            await self._finish_clicked_card(row)
            if row.kind == "card":
                await self._card(row)
            else:
                pieces = split_text(str(row.payload.get("text", "")), TEXT_LIMIT_BYTES - DISTINCT_RESERVE)
                earlier = await asyncio.to_thread(self._same_sent_before, row)
                for piece in distinct(pieces, earlier):
                    await self.api.send_text(row.recipient, piece)
        except WeComError as exc:
            if exc.errcode in PERMANENT_ERRORS:
                raise PermanentDeliveryError(str(exc)) from exc
            raise

    async def _card(self, row: OutboxMessage) -> None:
        card = Card.model_validate(row.payload["card"])
        # WeCom refuses a task_id the app has used before, ever. Fixed per row (a re-send of this row
        # must be recognisable as one) and per database (row ids restart in a fresh one).
        stamp = int(row.created_at.timestamp() * 1000)
        template_card = render_wecom(card, task_id=f"genjin_{row.id}_{stamp}")
        if "button_list" not in template_card:  # nothing to click: button_interaction needs a button
            earlier = await asyncio.to_thread(self._same_sent_before, row)
            [markdown] = distinct([render_markdown(card)], earlier)
            await self.api.send_markdown(row.recipient, markdown)
            return
        response_code = await asyncio.to_thread(self._clicked_code, row, card_actions(template_card))
        if response_code is not None:
            try:
                await self.api.update_template_card(row.recipient, response_code, template_card)
                log.info("wecom_card_updated", outbox_id=row.id)
                return
            except WeComError as exc:
                if exc.errcode in TOKEN_ERRORS:
                    raise
                log.info("wecom_card_update_refused", outbox_id=row.id, errcode=exc.errcode)
        try:
            await self.api.send_template_card(row.recipient, template_card)
        except WeComError as exc:
            # The first attempt of a row cannot collide with itself: there, 40058 is a bad payload.
            if exc.errcode != TASK_ID_TAKEN or row.attempts <= 1:
                raise
            log.info("wecom_card_already_delivered", outbox_id=row.id, attempt=row.attempts)

    async def _finish_clicked_card(self, row: OutboxMessage) -> None:
        found = await asyncio.to_thread(self._ending_click, row)
        if found is None:
            return
        response_code, label = found
        try:
            await self.api.finish_template_card(row.recipient, response_code, label)
            log.info("wecom_card_finished", outbox_id=row.id)
        except WeComError as exc:
            if exc.errcode in TOKEN_ERRORS:
                raise
            # Spent already (this row is a re-send) or past 72 h: the reply still goes out.
            log.info("wecom_card_finish_refused", outbox_id=row.id, errcode=exc.errcode)

    def _ending_click(self, row: OutboxMessage) -> tuple[str, str] | None:
        """(ResponseCode, grey label) when `row` answers a tap that ends its card and the tap's code is
        unspent here (another instance may have spent it: WeCom then refuses, and we log that)."""
        with Session(self.engine) as session:
            click = ending_click(session, platform=Platform.WECOM, row=row,
                                 received_after=self.clock() - RESPONSE_CODE_TTL)
        label = final_label(click.text) if click is not None else None
        if click is None or label is None:
            return None
        try:
            code = click_fields(click.raw).get("ResponseCode")
        except Rejected:
            return None
        if not code or code in self._spent:
            return None
        # Spent by the first reply to the tap; a second reply (or a re-send) would only be refused.
        if len(self._spent) > SPENT_KEPT:
            self._spent.clear()  # codes live 72 h; forgetting old ones costs one refused call each
        self._spent.add(code)
        return code, label

    def _same_sent_before(self, row: OutboxMessage) -> int:
        """How many earlier rows (lower id) with this very payload for this recipient may reach WeCom
        within its duplicate-check window of this row. WeCom would swallow this row's messages as
        repeats of theirs (the rep who asks 帮助 twice must get two answers), so `distinct` makes them
        differ.

        Counted from immutable columns only (id, created_at, payload), whatever the earlier rows'
        status: an earlier row still being delivered by another instance counts too (counting only
        sent rows let two instances send the same text at the same moment, and WeCom dropped one),
        and a re-send of this row gets the same marks as its first attempt. A row can be held back by
        the hourly rate limit, so rows created up to an hour before the window count as well;
        counting too many only adds invisible marks."""
        window = timedelta(seconds=self.api.duplicate_check_seconds) + RATE_HOLD + DUPLICATE_MARGIN
        with Session(self.engine) as session:
            payloads = session.exec(
                select(OutboxMessage.payload).where(
                    col(OutboxMessage.platform) == Platform.WECOM,
                    col(OutboxMessage.recipient) == row.recipient,
                    col(OutboxMessage.kind) == row.kind,
                    col(OutboxMessage.created_at) >= row.created_at - window,
                    col(OutboxMessage.id) < (row.id or 0),
                )
            ).all()
        return sum(p == row.payload for p in payloads)

    def _clicked_code(self, row: OutboxMessage, actions: set[str]) -> str | None:
        """ResponseCode of the recipient's latest click on a card of the same record, if any: the
        clicked action is one this card offers too (a tag toggle answered by the refreshed card)."""
        now = self.clock()
        created = row.created_at
        with Session(self.engine) as session:
            clicks = session.exec(
                select(InboundMessage).where(
                    col(InboundMessage.platform) == Platform.WECOM,
                    col(InboundMessage.sender) == row.recipient,
                    col(InboundMessage.kind) == InboundKind.CARD_ACTION,
                    col(InboundMessage.received_at) <= created,
                    col(InboundMessage.received_at) > now - RESPONSE_CODE_TTL,
                ).order_by(col(InboundMessage.id).desc()).limit(5)  # taps on other cards may interleave
            ).all()
        for click in clicks:
            if click.text in actions:
                try:
                    return click_fields(click.raw).get("ResponseCode")
                except Rejected:
                    return None
        return None
