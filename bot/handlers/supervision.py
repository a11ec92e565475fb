"""on_push_action: taps on pushed cards (查看, 暂缓 with a reason, 转给…, a stale digest line) and 免填."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.cards.supervision import build_stale_actions
from bot.context import HandlerContext
from bot.format import fmt_when, mask_contacts
from bot.handlers.command_words import parse_command
from bot.handlers.leads import transfer_customer
from bot.handlers.lookup import history_text, reply_private
from bot.handlers.pending import awaits_text_answer
from bot.models import Button, Card
from bot.router import Router
from bot.safe_input import parse_id
from store.conversations import clear_conversation, get_conversation, set_conversation
from store.customers import get_customer, snooze_customer
from store.exemptions import grant_exemption
from store.members import find_member_by_name
from store.models import Member, Role
from store.permissions import PermissionDenied
from store.timeline import add_event, recent_events

router = Router("supervision")
PUSH_VERBS = ("view", "snooze", "reassign", "reassign_to", "stale_open")


def _is_push_action(ctx: HandlerContext) -> bool:
    return ctx.inbound.kind == "card_action" and ctx.text.split(":", 1)[0] in PUSH_VERBS


def _is_exempt_command(ctx: HandlerContext) -> bool:
    command = parse_command(ctx.text) if ctx.inbound.kind == "text" else None
    return command is not None and command.name == "exempt"


@router.on(_is_push_action)
def on_push_action(ctx: HandlerContext) -> None:
    verb, *args = ctx.text.split(":")
    try:
        customer_id = parse_id(args[0]) if args else None
        if customer_id is None:
            raise PermissionDenied
        customer = get_customer(session=ctx.session, actor=ctx.member, customer_id=customer_id)
    except (ValueError, IndexError, PermissionDenied):
        ctx.reply("这张卡片对应的客户不存在，或你没有权限操作。")
        return
    if verb == "view":
        events = recent_events(session=ctx.session, actor=ctx.member, customer_id=customer_id, limit=10)
        reply_private(ctx, history_text(ctx, customer, events))
    elif verb == "snooze":
        set_conversation(
            session=ctx.session, member_id=ctx.member.id or 0, state="snooze_reason", data={"customer_id": customer_id},
            at=ctx.now,
        )
        ctx.reply(f"暂缓 {customer.name} 的跟进提醒 {ctx.settings.pushes.snooze_days} 天，请回复原因（如：客户出差）。")
    elif verb == "reassign":
        if ctx.member.role not in (Role.SUPERVISOR, Role.ADMIN):
            ctx.reply("只有主管可以转给其他销售。")
            return
        reps = ctx.session.exec(
            select(Member).where(
                col(Member.team_id) == customer.team_id,
                col(Member.active),
                col(Member.role) == Role.REP,
                col(Member.id) != customer.owner_id,
            )
        ).all()
        if not reps:
            ctx.reply("团队里没有其他可以接手的销售。")
            return
        ctx.reply_card(
            Card(
                title=f"把 {customer.name} 转给…",
                buttons=[Button(label=r.display_name, action=f"reassign_to:{customer_id}:{r.id}") for r in reps],
            )
        )
    elif verb == "stale_open":  # one line of the stale digest: its actions
        owner = ctx.session.get(Member, customer.owner_id) if customer.owner_id is not None else None
        owner_name = owner.display_name if owner else "公海"
        reply_private(ctx, card=build_stale_actions(customer=customer, owner_name=owner_name))
    elif verb == "reassign_to":
        member_id = (parse_id(args[1]) if len(args) > 1 else None) or 0
        transfer_customer(ctx, customer_id, ctx.session.get(Member, member_id))


@router.on(awaits_text_answer("snooze_reason"))
def on_snooze_reason(ctx: HandlerContext) -> None:
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    assert conv is not None
    clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    try:
        # Locked, as the console's 暂缓 reads it: a 转给 committed meanwhile is seen (no longer the
        # former owner's to snooze), not overwritten by a snooze decided on the old owner.
        customer = get_customer(session=ctx.session, actor=ctx.member, customer_id=int(conv.data["customer_id"]),
                                for_update=True)
    except PermissionDenied:
        ctx.reply("这个客户已不在你的权限范围内。")
        return
    until = ctx.now + timedelta(days=ctx.settings.pushes.snooze_days)
    reason = mask_contacts(ctx.text)[:100]  # goes to the timeline: masked before the cut
    snooze_customer(session=ctx.session, customer=customer, until=until)
    add_event(
        session=ctx.session,
        at=ctx.now,
        customer_id=customer.id or 0,
        actor_id=ctx.member.id,
        kind="snoozed",
        summary=f"暂缓提醒至 {fmt_when(until, ctx.settings.tz)}：{reason}",
    )
    ctx.reply(f"好的，{customer.name} 的跟进提醒暂缓到 {fmt_when(until, ctx.settings.tz)}。原因：{reason}")


@router.on(_is_exempt_command)
def on_exempt_command(ctx: HandlerContext) -> None:
    command = parse_command(ctx.text)
    assert command is not None
    name, _, reason = command.args.partition(" ")
    if not name:
        ctx.reply("用法：免填 销售姓名 [原因]，例如：免填 李明 本周在外地参展")
        return
    rep = find_member_by_name(session=ctx.session, team_id=ctx.member.team_id, name=name)
    if rep is None:
        ctx.reply(f"团队里没有「{name}」。")
        return
    try:
        row = grant_exemption(
            session=ctx.session,
            actor=ctx.member,
            member=rep,
            days=ctx.settings.pushes.exemption_days,
            reason=reason.strip(),
            at=ctx.now,
        )
    except PermissionDenied:
        ctx.reply("只有主管或管理员可以设置免填。")
        return
    until = fmt_when(row.ends_at, ctx.settings.tz)
    ctx.reply(f"已给 {rep.display_name} 设置免填至 {until}（期间不提醒补填记录）。")
    ctx.notify(rep.id or 0, text=f"{ctx.member.display_name} 给你设置了免填，至 {until} 不会提醒你补填记录。")
