"""Outbox deliverer for DingTalk: answers in the conversation, proactive pushes, interactive cards.

- Text and markdown: a reply goes through the conversation's sessionWebhook while it is valid
  (sessionWebhookExpiredTime, kept in the raw payload of the member's latest message there); after
  that, or for a push, the robot batch-send API (1:1) or group-send API (a group conversation).
- Cards: with dingtalk.card_template_id set, card instances of our card-builder template
  (card/instances/createAndDeliver, callbackType STREAM, 1:1 in the robot chat or to the group); a
  card sent in answer to a click on a card of the same record (a tag toggle) updates the clicked
  instance in place (PUT card/instances by the outTrackId that came back in the click), and the first
  reply to a tap that ends the card (确认, 丢弃) turns the clicked instance into its final state
  (status/final_text by key: no buttons left). Without a template id, the older robot interactive
  cards (StandardCard), updated in place on tag toggles only.
The sender (bot/pipeline/outbox.py) keeps each recipient under DingTalk's ~20 robot messages a minute and
retries what we raise; here we only decide what is permanent (bad recipient, bad payload).

Exactly once: DingTalk's text/markdown APIs (sessionWebhook, oToMessages/batchSend,
groupMessages/send) have no idempotency key and no duplicate check, so a sender that dies between
DingTalk's answer and marking the row sent will send the text again once its lease runs out. All we
can do is keep that window small: the sender marks the row in its own short transaction on its own
thread right after this returns. Cards are different: cardBizId ("genjin-<row id>") is DingTalk's
idempotency key, so a re-sent card is never shown twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.models import Card, InboundKind, Platform
from bot.pipeline.outbox import PermanentDeliveryError, RateLimit
from bot.platforms.dingtalk.api import DingTalkApi, DingTalkError, DingTalkHTTPError
from bot.platforms.dingtalk.render import (
    card_actions,
    final_params,
    param_actions,
    render_card_params,
    render_dingtalk,
    render_markdown,
)
from bot.platforms.finish import ending_click, final_label, final_state
from store.models import InboundMessage, OutboxMessage

log = structlog.get_logger("genjin.dingtalk_delivery")

WEBHOOK_MARGIN_MS = 60_000  # do not start a reply on a webhook that expires within the minute
CARD_UPDATE_WINDOW = timedelta(days=1)


class FlowControlled(Exception):
    """DingTalk accepted the call but held this recipient back (flow control): try again later."""


def _raw(row: InboundMessage) -> dict[str, Any]:
    try:
        data = json.loads(row.raw or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class DingTalkDeliverer:
    platform = Platform.DINGTALK
    limit = RateLimit(per_minute=20)

    def __init__(self, api: DingTalkApi, engine: Engine, clock: Clock, *, card_template_id: str | None = None) -> None:
        self.api = api
        self.engine = engine
        self.clock = clock
        self.card_template_id = card_template_id

    async def deliver(self, row: OutboxMessage) -> None:
        try:
            if self.card_template_id:
                await self._finish_clicked_card(row)
            if row.kind == "card" and self.card_template_id:
                await self._instance_card(row, Card.model_validate(row.payload["card"]), self.card_template_id)
            elif row.kind == "card":
                await self._card(row, Card.model_validate(row.payload["card"]))
            else:
                await self._message(row, "text", {"content": str(row.payload.get("text", ""))})
        except DingTalkError as exc:
            if exc.status in (400, 404) and "throttl" not in exc.code.lower():
                raise PermanentDeliveryError(str(exc)) from exc
            raise

    async def _message(self, row: OutboxMessage, kind: str, param: dict[str, Any]) -> None:
        """kind text ({"content"}) or markdown ({"title", "text"})."""
        webhook = await asyncio.to_thread(self._session_webhook, row)
        if webhook is not None:
            body: dict[str, Any] = {"msgtype": kind, kind: param}
            if row.chat:  # in a group, point the answer at the person who asked
                body["at"] = {"atUserIds": [row.recipient]}
            try:
                await self.api.reply_webhook(webhook, body)
                return
            except (DingTalkError, DingTalkHTTPError) as exc:  # expired early or refused: the API still works
                log.info("dingtalk_webhook_refused", outbox_id=row.id, error=str(exc))
        msg_key = "sampleText" if kind == "text" else "sampleMarkdown"
        if row.chat:
            await self.api.send_to_group(row.chat, msg_key, param)
            return
        answer = await self.api.send_to_users([row.recipient], msg_key, param)
        if row.recipient in (answer.get("invalidStaffIdList") or []):
            raise PermanentDeliveryError(f"DingTalk: {row.recipient} is not a valid user for this robot")
        if row.recipient in (answer.get("flowControlledStaffIdList") or []):
            raise FlowControlled(f"DingTalk flow control held back {row.recipient}")

    async def _card(self, row: OutboxMessage, card: Card) -> None:
        """StandardCard robot cards (no template configured); cardBizId is DingTalk's idempotency key."""
        data = render_dingtalk(card)

        async def send() -> None:
            await self.api.send_card(f"genjin-{row.id}", data, user_id=row.recipient, open_conversation_id=row.chat)

        await self._card_or_update(row, card, card_actions(data), lambda clicked: self.api.update_card(clicked, data),
                                   send)

    async def _instance_card(self, row: OutboxMessage, card: Card, template_id: str) -> None:
        """A card instance of our card-builder template, its clicks on the Stream card topic."""
        params = render_card_params(card)

        async def send() -> None:
            await self.api.create_and_deliver_card(template_id=template_id, out_track_id=f"genjin-{row.id}",
                                                   params=params, user_id=row.recipient,
                                                   open_conversation_id=row.chat)

        await self._card_or_update(row, card, param_actions(params),
                                   lambda clicked: self.api.update_card_instance(clicked, params), send)

    async def _card_or_update(self, row: OutboxMessage, card: Card, actions: set[str],
                              update: Callable[[str], Awaitable[object]], send: Callable[[], Awaitable[None]]) -> None:
        """Nothing to click: markdown (it may use the session webhook). The answer to a tap on a card of
        the same record: that card updated in place. Otherwise a new card, keyed by the row so a re-send
        after a crash names the same card."""
        if not actions:
            title, text = render_markdown(card)
            await self._message(row, "markdown", {"title": title, "text": text})
            return
        clicked = await asyncio.to_thread(self._clicked_card, row, actions)
        if clicked is not None:
            try:
                await update(clicked)
                log.info("dingtalk_card_updated", outbox_id=row.id, card=clicked)
                return
            except DingTalkError as exc:
                if exc.status == 401:
                    raise
                log.info("dingtalk_card_update_refused", outbox_id=row.id, error=str(exc))
        await send()

    async def _finish_clicked_card(self, row: OutboxMessage) -> None:
        """The reply to a tap on 确认 / 丢弃 first turns the tapped card into its final state. Found by the
        one clock: a handler's replies are stored with created_at equal to its click's processed_at.
        Idempotent (the same keys again), so a re-sent reply may repeat it."""
        click = await asyncio.to_thread(self._answered_click, row)
        if click is None:
            return
        state, label, out_track = final_state(click.text), final_label(click.text), _raw(click).get("outTrackId")
        if not state or not label or not isinstance(out_track, str) or not out_track:
            return
        try:
            await self.api.update_card_instance(out_track, final_params(state, label), by_key=True)
            log.info("dingtalk_card_finished", outbox_id=row.id, card=out_track)
        except DingTalkError as exc:
            if exc.status == 401:
                raise
            log.info("dingtalk_card_finish_refused", outbox_id=row.id, error=str(exc))

    def _answered_click(self, row: OutboxMessage) -> InboundMessage | None:
        """The tap `row` answers, if that tap ended its card (the record really confirmed/discarded)."""
        with Session(self.engine) as session:
            return ending_click(session, platform=Platform.DINGTALK, row=row)

    def _latest(self, row: OutboxMessage, *, clicks: bool, limit: int) -> list[InboundMessage]:
        kind_filter = (col(InboundMessage.kind) == InboundKind.CARD_ACTION if clicks
                       else col(InboundMessage.kind) != InboundKind.CARD_ACTION)
        with Session(self.engine) as session:
            return list(session.exec(
                select(InboundMessage).where(
                    col(InboundMessage.platform) == Platform.DINGTALK,
                    col(InboundMessage.sender) == row.recipient,
                    kind_filter,
                ).order_by(col(InboundMessage.id).desc()).limit(limit)
            ).all())

    def _session_webhook(self, row: OutboxMessage) -> str | None:
        """The valid sessionWebhook of the recipient's latest message in this conversation, if any."""
        now_ms = self.clock().timestamp() * 1000  # sessionWebhookExpiredTime is epoch milliseconds
        for inbound in self._latest(row, clicks=False, limit=5):
            if inbound.chat != row.chat:
                continue
            data = _raw(inbound)
            url = data.get("sessionWebhook")
            try:
                expires = int(data.get("sessionWebhookExpiredTime") or 0)
            except (TypeError, ValueError):
                expires = 0
            fresh = isinstance(url, str) and bool(url) and expires > now_ms + WEBHOOK_MARGIN_MS
            return url if fresh else None  # only the latest message of this conversation counts
        return None

    def _clicked_card(self, row: OutboxMessage, actions: set[str]) -> str | None:
        """cardBizId of the card the recipient last clicked, if that click belongs to this card's record."""
        now = self.clock()
        created = row.created_at
        for click in self._latest(row, clicks=True, limit=1):
            if click.received_at > created or click.received_at < now - CARD_UPDATE_WINDOW:
                return None
            if click.text not in actions:
                return None
            out_track = _raw(click).get("outTrackId")
            return out_track if isinstance(out_track, str) and out_track else None
        return None
