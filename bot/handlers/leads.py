"""Leads in chat: 认领/退回 on the new-lead card, 公海 (the public pool), 转给 (a supervisor reassigns),
分配原因 (the assignment log). Store functions check permissions; this module only talks."""

from __future__ import annotations

from sqlmodel import col, select

from bot.cards.leads import build_assign_picker, build_new_lead_card, build_pool_card, touch_line
from bot.context import HandlerContext
from bot.format import fmt_when, mask_contacts
from bot.handlers.command_words import parse_command
from bot.handlers.lookup import reply_private, resolve_customer
from bot.leads.intake import push_lead_card
from bot.models import Card
from bot.router import Router
from bot.safe_input import parse_id
from store.conversations import get_conversation, set_conversation
from store.customers import get_customer
from store.leads import (
    LeadError,
    assignment_log,
    claim_lead,
    claims_since,
    count_pool,
    get_lead,
    latest_touch,
    list_pool,
    local_midnight,
    previous_touches,
    reassign_lead,
    release_lead,
)
from store.members import find_member_by_name
from store.models import Customer, Member, Role
from store.permissions import PermissionDenied
from store.timeline import add_event

router = Router("leads")
CARD_VERBS = ("lead_claim", "lead_return", "lead_assign", "lead_assign_to")
COMMANDS = ("claim", "release", "pool", "transfer", "why")
FOCUS = "lead_focus"  # a supervisor's current lead, so a bare 转给 李四 knows which customer


def _is_lead_card_action(ctx: HandlerContext) -> bool:
    return ctx.inbound.kind == "card_action" and ctx.text.split(":", 1)[0] in CARD_VERBS


def _is_lead_command(ctx: HandlerContext) -> bool:
    if ctx.inbound.kind != "text":
        return False
    command = parse_command(ctx.text)
    if command is not None:
        return command.name in COMMANDS
    # 转给李四 without a space: only when what follows is exactly a colleague's name.
    rest = ctx.text.removeprefix("转给").strip()
    return ctx.text.startswith("转给") and bool(rest) and _member_named(ctx, rest, None) is not None


@router.on(_is_lead_card_action)
def on_lead_card_action(ctx: HandlerContext) -> None:
    verb, *args = ctx.text.split(":")
    customer_id = parse_id(args[0]) if args else None
    if customer_id is None:
        ctx.reply("这个按钮已失效。")
        return
    if verb == "lead_claim":
        _claim(ctx, customer_id)
    elif verb == "lead_return":
        _release(ctx, customer_id, "")
    elif verb == "lead_assign":
        _show_picker(ctx, customer_id)
    elif verb == "lead_assign_to" and len(args) > 1 and (member_id := parse_id(args[1])) is not None:
        transfer_customer(ctx, customer_id, ctx.session.get(Member, member_id))
    else:
        ctx.reply("这个按钮已失效。")


@router.on(_is_lead_command)
def on_lead_command(ctx: HandlerContext) -> None:
    command = parse_command(ctx.text)
    name, args = (command.name, command.args) if command else ("transfer", ctx.text.removeprefix("转给").strip())
    if name == "pool" or (name == "claim" and not args):
        _show_pool(ctx)
    elif name == "claim":
        customer_id = _lead_id(ctx, args)
        if customer_id is not None:
            _claim(ctx, customer_id)
    elif name == "release":
        query, _, why = args.partition(" ")
        customer = resolve_customer(ctx, query) if query else None
        if not query:
            ctx.reply("用法：退回 #编号 [原因]，例如：退回 #12 客户暂无需求")
        elif customer is not None:
            _release(ctx, customer.id or 0, why)
    elif name == "why":
        _explain(ctx, args)
    else:
        _transfer_command(ctx, args)


def _lead_id(ctx: HandlerContext, args: str) -> int | None:
    customer_id = parse_id(args.split()[0])
    if customer_id is not None:
        return customer_id
    ctx.reply("请写上公海线索的编号，例如：认领 #12（发送「公海」查看编号）")
    return None


def _claim(ctx: HandlerContext, customer_id: int) -> None:
    try:
        customer = get_lead(session=ctx.session, actor=ctx.member, customer_id=customer_id)
        if customer.owner_id == ctx.member.id:
            _accept(ctx, customer)
            return
        row = claim_lead(session=ctx.session, actor=ctx.member, customer_id=customer_id, now=ctx.now,
                         daily_cap=ctx.settings.leads.pool_daily_claim_cap, tz=ctx.settings.tz,
                         due_hours=ctx.settings.pushes.new_lead_hours,
                         cooling_days=ctx.settings.recycle.cooling_days)
    except PermissionDenied:
        ctx.reply("没有找到这条线索，或你没有权限认领。")
        return
    except LeadError as exc:
        ctx.reply(str(exc))
        return
    ctx.reply(f"已认领 {customer.name}，请在 {ctx.settings.pushes.new_lead_hours:g} 小时内联系。")
    ctx.reply_card(_lead_card(ctx, customer, row.reason))


def _accept(ctx: HandlerContext, customer: Customer) -> None:
    add_event(session=ctx.session, customer_id=customer.id or 0, kind="lead_accepted", at=ctx.now,
              actor_id=ctx.member.id, summary=f"{ctx.member.display_name} 确认接收线索")
    due = f"，请在 {fmt_when(customer.lead_due_at, ctx.settings.tz)} 前联系" if customer.lead_due_at else ""
    ctx.reply(f"好的，{customer.name} 由你跟进{due}。")


def _lead_card(ctx: HandlerContext, customer: Customer, reason: str) -> Card:
    history = [touch_line(t, ctx.now, ctx.settings.tz)
               for t in previous_touches(session=ctx.session, customer_id=customer.id or 0)]
    return build_new_lead_card(customer=customer, touch=latest_touch(session=ctx.session, customer_id=customer.id or 0),
                               reason=reason, history=history, due_hours=ctx.settings.pushes.new_lead_hours,
                               now=ctx.now, tz=ctx.settings.tz)


def _release(ctx: HandlerContext, customer_id: int, why: str) -> None:
    try:
        row = release_lead(session=ctx.session, actor=ctx.member, customer_id=customer_id, now=ctx.now,
                           due_hours=ctx.settings.pushes.new_lead_hours, why=why)
        customer = get_lead(session=ctx.session, actor=ctx.member, customer_id=customer_id)
    except PermissionDenied:
        ctx.reply("只有负责这位客户的销售或主管可以退回。")
        return
    except LeadError as exc:
        ctx.reply(str(exc))
        return
    cancelled = int(str(row.details.get("visits_cancelled") or 0))
    ctx.reply(f"已把 {customer.name} 退回公海，同组同事可以认领。"
              + (f"已预约的 {cancelled} 次拜访已取消。" if cancelled else ""))
    previous = row.details.get("previous_owner_id")
    if isinstance(previous, int) and previous != ctx.member.id:  # a supervisor released a rep's customer
        ctx.notify(previous, text=f"【客户转交】{ctx.member.display_name} 已把 {mask_contacts(customer.name)} 退回公海"
                                  + (f"（原因：{why.strip()[:100]}）" if why.strip() else "")
                                  + (f"，已预约的 {cancelled} 次拜访已取消" if cancelled else "") + "。",
                   dedupe_key=f"handover:{row.id}:from")


def _show_pool(ctx: HandlerContext) -> None:
    can_claim = ctx.member.role == Role.REP
    since = local_midnight(ctx.now, ctx.settings.tz)
    taken = claims_since(session=ctx.session, member_id=ctx.member.id or 0, since=since)
    leads = list_pool(session=ctx.session, actor=ctx.member, limit=10)
    reply_private(ctx, card=build_pool_card(leads=leads, total=count_pool(session=ctx.session, actor=ctx.member),
                                   claimed_today=taken, cap=ctx.settings.leads.pool_daily_claim_cap, now=ctx.now,
                                   tz=ctx.settings.tz, can_claim=can_claim))


def _focus(ctx: HandlerContext, customer_id: int) -> None:
    """Remember the supervisor's lead unless another question is open (that one must not be lost)."""
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    if conv is None or conv.state == FOCUS:
        set_conversation(session=ctx.session, at=ctx.now, member_id=ctx.member.id or 0, state=FOCUS,
                         data={"customer_id": customer_id})


def _explain(ctx: HandlerContext, args: str) -> None:
    if not args:
        ctx.reply("用法：分配原因 客户，例如：分配原因 #12")
        return
    token = args.lstrip("#")
    customer = None
    if token.isdigit():
        try:
            customer_id = parse_id(token)
            if customer_id is None:  # more digits than any id: no such customer
                raise PermissionDenied
            customer = get_lead(session=ctx.session, actor=ctx.member, customer_id=customer_id)
        except PermissionDenied:
            ctx.reply(f"没有找到客户 {args}（或你没有查看权限）。")
            return
    else:
        customer = resolve_customer(ctx, args)
    if customer is None:
        return
    rows = assignment_log(session=ctx.session, actor=ctx.member, customer_id=customer.id or 0)
    tz = ctx.settings.tz
    lines = [f"{r.created_at.astimezone(tz):%m-%d %H:%M} {r.reason}" for r in rows]
    lines = lines or ["没有分配记录（不是线索录入的客户）。"]
    reply_private(ctx, f"#{customer.id} {customer.name} 的分配记录：\n" + "\n".join(lines))
    if ctx.member.role in (Role.SUPERVISOR, Role.ADMIN):
        _focus(ctx, customer.id or 0)


def _member_named(ctx: HandlerContext, name: str, customer: Customer | None) -> Member | None:
    team_id = customer.team_id if customer is not None else ctx.member.team_id
    found = find_member_by_name(session=ctx.session, team_id=team_id, name=name)
    if found is None and ctx.member.role == Role.ADMIN:
        matches = ctx.session.exec(select(Member).where(col(Member.display_name) == name.strip())).all()
        found = matches[0] if len(matches) == 1 else None
    return found


def _transfer_command(ctx: HandlerContext, args: str) -> None:
    words = args.split()
    if not words:
        ctx.reply("用法：转给 客户 成员，例如：转给 #12 李四")
        return
    if len(words) == 1:
        conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
        if conv is None or conv.state != FOCUS:
            ctx.reply(f"要把哪位客户转给 {words[0]}？请写成：转给 #编号 {words[0]}")
            return
        customer_id = int(conv.data["customer_id"])
    else:
        customer = resolve_customer(ctx, " ".join(words[:-1]))
        if customer is None:
            return
        customer_id = customer.id or 0
    target = ctx.session.get(Customer, customer_id)
    member = _member_named(ctx, words[-1], target)
    if member is None:
        ctx.reply(f"团队里没有「{words[-1]}」。")
        return
    transfer_customer(ctx, customer_id, member)


def _show_picker(ctx: HandlerContext, customer_id: int) -> None:
    if ctx.member.role not in (Role.SUPERVISOR, Role.ADMIN):
        ctx.reply("只有主管可以转给其他销售。")
        return
    try:
        customer = get_customer(session=ctx.session, actor=ctx.member, customer_id=customer_id)
    except PermissionDenied:
        ctx.reply("没有找到这条线索，或你没有权限操作。")
        return
    reps = ctx.session.exec(select(Member).where(
        col(Member.team_id) == customer.team_id, col(Member.active), col(Member.role) == Role.REP,
    ).order_by(col(Member.id))).all()
    ctx.reply_card(build_assign_picker(customer=customer, reps=[r for r in reps if r.id != customer.owner_id]))
    _focus(ctx, customer_id)


def transfer_customer(ctx: HandlerContext, customer_id: int, member: Member | None) -> None:
    """A supervisor's 转给 (command, lead card or stale alert): assignment log, timeline, a fresh
    new-lead clock and the new-lead card to the new owner."""
    if ctx.member.role not in (Role.SUPERVISOR, Role.ADMIN):
        ctx.reply("只有主管可以转给其他销售；不想跟进可以发送「退回 #编号」退回公海。")
        return
    try:
        if member is None:
            raise PermissionDenied("no such member")
        row = reassign_lead(session=ctx.session, actor=ctx.member, customer_id=customer_id, new_owner=member,
                            now=ctx.now, due_hours=ctx.settings.pushes.new_lead_hours)
    except PermissionDenied:
        ctx.reply("不能转给这位成员（需同一团队的在职销售，且客户在你的团队里）。")
        return
    except LeadError as exc:
        ctx.reply(str(exc))
        return
    customer = ctx.session.get(Customer, customer_id)
    assert customer is not None
    ctx.reply(f"已把 {customer.name} 转给 {member.display_name}。")
    touch = latest_touch(session=ctx.session, customer_id=customer_id)
    push_lead_card(session=ctx.session, settings=ctx.settings, customer=customer, touch=touch, row=row, member=member,
                   now=ctx.now)
    _tell_about_handover(ctx, row.details, customer, member, row.id or 0)


def _tell_about_handover(ctx: HandlerContext, details: dict[str, object], customer: Customer, member: Member,
                         row_id: int) -> None:
    """The former owner learns the customer (and any visit booked with it) is someone else's now —
    its queued pushes will not reach them any more; the new owner learns which visits are theirs."""
    previous, moved = details.get("previous_owner_id"), int(str(details.get("visits_moved") or 0))
    visits = f"，已预约的 {moved} 次拜访也一并转交" if moved else ""
    if isinstance(previous, int) and previous not in (member.id, ctx.member.id):
        ctx.notify(previous, text=f"【客户转交】{ctx.member.display_name} 已把 {customer.name} 转给 "
                                  f"{member.display_name}{visits}。", dedupe_key=f"handover:{row_id}:from")
    if moved:
        ctx.notify(member.id or 0, text=f"【客户转交】{customer.name} 已预约的 {moved} 次拜访转到你名下，"
                                        "拜访前会收到提醒卡片。", dedupe_key=f"handover:{row_id}:to")
