"""Finding the customer a command refers to: #id, phone, name or pinyin."""

from __future__ import annotations

from collections.abc import Sequence

from bot.context import HandlerContext
from bot.format import for_viewer
from bot.models import Card, Reply
from bot.safe_input import parse_id
from store.customers import MAX_SEARCH_CHARS, get_customer, search_customers
from store.members import member_names
from store.models import Customer, Role, TimelineEvent
from store.permissions import PermissionDenied


def resolve_customer(ctx: HandlerContext, query: str) -> Customer | None:
    """One visible customer, or None after telling the rep why (not found / which one?)."""
    query = query.strip()
    if not query:
        ctx.reply("请写上客户姓名或编号，例如：历史 张伟 或 历史 #12")
        return None
    if len(query) > MAX_SEARCH_CHARS:
        ctx.reply(f"客户名称太长（最多 {MAX_SEARCH_CHARS} 字）。请写客户姓名或编号，例如 #12。")
        return None
    if query.startswith("#") and query[1:].isdigit():
        try:
            customer_id = parse_id(query)
            if customer_id is None:  # more digits than any id: no such customer
                raise PermissionDenied
            return get_customer(session=ctx.session, actor=ctx.member, customer_id=customer_id)
        except PermissionDenied:
            ctx.reply(f"没有找到客户 {query}（或你没有查看权限）。")
            return None
    found = search_customers(session=ctx.session, actor=ctx.member, query=query, include_drafts=True)
    exact = [c for c in found if c.name == query]
    if len(exact) == 1:
        return exact[0]
    if len(found) == 1:
        return found[0]
    if not found:
        ctx.reply(f"没有找到客户「{query}」。发送「我的客户」查看你的客户列表。")
        return None
    owners = owner_labels(ctx, found[:5])  # two 张伟 of two reps: the owner tells them apart
    listing = "\n".join(shown_to(ctx, c, f"#{c.id} {c.name} {c.company or ''}") + owners.get(c.id or 0, "")
                         for c in found[:5])
    reply_private(ctx, f"找到多位「{query}」，请用编号指定，例如 #{found[0].id}：\n{listing}")
    return None


GROUP_NOTE = "已私信发给你。"


def reply_private(ctx: HandlerContext, text: str | None = None, *, card: Card | None = None) -> None:
    """Customer data asked for in a group chat goes to the asker alone (1:1, bot/pipeline/delivery.py addresses
    a member's own user id with no chat); the group sees a short note. In a 1:1 chat it is an
    ordinary reply."""
    if ctx.inbound.chat is None:
        ctx.replies.append(Reply(text=text, card=card))
        return
    ctx.notify(ctx.member.id or 0, text=text, card=card)
    ctx.reply(GROUP_NOTE)


def shown_to(ctx: HandlerContext, customer: Customer, text: str) -> str:
    """`text` about `customer` as the acting member may see it: masked unless they own it."""
    return for_viewer(text, owner_id=customer.owner_id, viewer_id=ctx.member.id)


def history_text(ctx: HandlerContext, customer: Customer, events: Sequence[TimelineEvent]) -> str:
    """历史 and the 查看 button of a push: the customer's timeline, newest first."""
    tz = ctx.settings.tz
    lines = [f"{e.created_at.astimezone(tz):%m-%d %H:%M} {e.summary}" for e in events] or ["暂无记录"]
    return shown_to(ctx, customer, f"#{customer.id} {customer.name} · {customer.stage}\n" + "\n".join(lines))


def owner_labels(ctx: HandlerContext, customers: Sequence[Customer]) -> dict[int, str]:
    """「 · 负责人 李明」 per customer for a supervisor or admin, who sees other members' customers; a
    rep's list holds only its own, so it does not repeat its name."""
    if ctx.member.role == Role.REP:
        return {}
    names = member_names(session=ctx.session, ids=(c.owner_id for c in customers))
    return {c.id or 0: f" · 负责人 {names.get(c.owner_id, '—') if c.owner_id is not None else '公海'}"
            for c in customers}
