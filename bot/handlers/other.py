"""on_attachment: an image, file or link goes on a customer's timeline — the customer of the rep's
record from the last half hour, or the one the rep names when asked. Platform events need no answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from bot.context import HandlerContext
from bot.format import mask_contacts
from bot.handlers.command_words import parse_command
from bot.handlers.lookup import resolve_customer
from bot.handlers.pending import looks_like_name
from bot.router import Router
from store.conversations import clear_conversation, get_conversation, set_conversation
from store.customers import get_customer
from store.models import Customer, FollowUp
from store.permissions import PermissionDenied
from store.timeline import add_event

router = Router("other")
RECENT = timedelta(minutes=30)
SKIP = ("跳过", "不用", "/skip")


def _describe(ctx: HandlerContext) -> str:
    if ctx.inbound.kind == "image":
        return "图片"
    if ctx.inbound.kind == "file" and not ctx.inbound.text:
        return "文件"
    text = " ".join(mask_contacts(ctx.inbound.text or "链接").split())  # a timeline summary: masked, then cut
    return text[:80]


@router.on(lambda ctx: ctx.inbound.kind == "event")
def on_platform_event(ctx: HandlerContext) -> None:
    """Enter-chat, subscribe, unsupported message kinds: the raw row is kept; nothing to say."""


@router.on(lambda ctx: ctx.inbound.kind in ("image", "file", "link"))
def on_attachment(ctx: HandlerContext) -> None:
    file_attachment(ctx, _describe(ctx))


def file_attachment(ctx: HandlerContext, summary: str, text: str | None = None) -> None:
    """File the message on the customer of the rep's record from the last half hour, or ask which
    customer. `text`: what was read from an image or PDF (bot/handlers/evidence.py), kept on the event."""
    attachment = {"inbound_id": ctx.inbound.id, "summary": summary, "media_ref": ctx.inbound.media_ref,
                  "text": text}
    recent = ctx.session.exec(
        select(FollowUp.customer_id).where(col(FollowUp.rep_id) == ctx.member.id,
                                           col(FollowUp.created_at) >= ctx.now - RECENT)
        .order_by(col(FollowUp.created_at).desc()).limit(1)
    ).first()
    if recent is not None:
        try:
            _attach(ctx, get_customer(session=ctx.session, actor=ctx.member, customer_id=recent), attachment)
            return
        except PermissionDenied:
            pass
    set_conversation(session=ctx.session, member_id=ctx.member.id or 0, state="await_attachment", data=attachment,
                     at=ctx.now)
    what = "这张图片" if ctx.inbound.kind == "image" else "这个文件/链接"
    ctx.reply(f"{what}是哪位客户的？回复客户姓名（或 #编号）归档到客户档案，或回复「跳过」。")


def _awaits_attachment_customer(ctx: HandlerContext) -> bool:
    if ctx.inbound.kind != "text" or parse_command(ctx.text) is not None:
        return False
    if ctx.text not in SKIP and not looks_like_name(ctx.text):
        return False  # a chat or a note is a record of its own: capture drops the question
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    return conv is not None and conv.state == "await_attachment"


@router.on(_awaits_attachment_customer)
def on_attachment_customer(ctx: HandlerContext) -> None:
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    assert conv is not None
    if ctx.text in SKIP:
        clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
        ctx.reply("好的，已保存，未归档到客户。")
        return
    customer = resolve_customer(ctx, ctx.text)
    if customer is None:
        return  # resolve_customer said why; the question stays open
    clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    _attach(ctx, customer, conv.data)


def _attach(ctx: HandlerContext, customer: Customer, attachment: dict[str, Any]) -> None:
    add_event(session=ctx.session, at=ctx.now, customer_id=customer.id or 0, actor_id=ctx.member.id,
              kind="attachment", summary=f"附件：{attachment['summary']}",
              ref={"inbound_id": attachment.get("inbound_id"), "media_ref": attachment.get("media_ref"),
                   **({"text": attachment["text"]} if attachment.get("text") else {})})
    ctx.reply(f"已归档到 {customer.name} 的客户档案（时间线）。")
