"""Taps on the playbook cards: 已接手 (stage hand-off), 批准/驳回 (an approval; 驳回 asks for the
reason), 继续跟进/放回公海 (the pool-recycling warning)."""

from __future__ import annotations

from bot.context import HandlerContext
from bot.format import mask_contacts
from bot.handlers.pending import awaits_text_answer
from bot.leads.approvals import apply_decision
from bot.router import Router
from bot.safe_input import parse_id
from store.approvals import may_decide
from store.conversations import clear_conversation, get_conversation, set_conversation
from store.customers import get_customer
from store.handoffs import accept_handoff, get_handoff
from store.leads import LeadError, release_lead
from store.models import Approval, ApprovalStatus
from store.permissions import PermissionDenied

router = Router("playbook")
VERBS = ("handoff_ack", "approve", "reject", "recycle_keep", "recycle_release")
REJECT_REASON = "reject_reason"
APPROVED_REASON = "同意"


def _is_playbook_action(ctx: HandlerContext) -> bool:
    return ctx.inbound.kind == "card_action" and ctx.text.split(":", 1)[0] in VERBS


@router.on(_is_playbook_action)
def on_playbook_action(ctx: HandlerContext) -> None:
    verb, _, rest = ctx.text.partition(":")
    target = parse_id(rest)
    if target is None:
        ctx.reply("这个按钮已失效。")
        return
    if verb == "handoff_ack":
        _ack(ctx, target)
    elif verb == "approve":
        _decide(ctx, target, approve=True, reason=APPROVED_REASON)
    elif verb == "reject":
        _ask_reject_reason(ctx, target)
    elif verb == "recycle_keep":
        _keep(ctx, target)
    else:
        _give_back(ctx, target)


def _ack(ctx: HandlerContext, handoff_id: int) -> None:
    row = get_handoff(session=ctx.session, handoff_id=handoff_id)
    if row is None or row.member_id != ctx.member.id:
        ctx.reply("这张交接卡片不是发给你的，或已失效。")
        return
    if accept_handoff(session=ctx.session, actor=ctx.member, handoff_id=handoff_id, at=ctx.now) is None:
        ctx.reply("你已经接手过了。")
        return
    ctx.reply(f"好的，已记录你接手「{row.stage}」。")


def _decide(ctx: HandlerContext, approval_id: int, *, approve: bool, reason: str) -> None:
    try:
        _, answer = apply_decision(session=ctx.session, settings=ctx.settings, actor=ctx.member,
                                   approval_id=approval_id, approve=approve, reason=reason, now=ctx.now)
    except PermissionDenied:
        ctx.reply("这条审批不归你处理，或已不存在。")
        return
    ctx.reply(answer)


def _ask_reject_reason(ctx: HandlerContext, approval_id: int) -> None:
    row = ctx.session.get(Approval, approval_id)
    if row is None or not may_decide(session=ctx.session, actor=ctx.member, approval=row):
        ctx.reply("这条审批不归你处理，或已不存在。")
        return
    if row.status != ApprovalStatus.PENDING:
        ctx.reply("这条审批已经处理过了。")
        return
    set_conversation(session=ctx.session, member_id=ctx.member.id or 0, state=REJECT_REASON,
                     data={"approval_id": approval_id}, at=ctx.now)
    ctx.reply("请回复驳回原因（如：区域不符，请分给本区域销售）。")


@router.on(awaits_text_answer(REJECT_REASON))
def on_reject_reason(ctx: HandlerContext) -> None:
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    assert conv is not None
    clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    reason = mask_contacts(ctx.text)[:100]  # goes to the timeline: masked before the cut
    _decide(ctx, int(conv.data["approval_id"]), approve=False, reason=reason)


def _keep(ctx: HandlerContext, customer_id: int) -> None:
    """继续跟进 only counts with a real follow-up: the tap itself changes nothing."""
    try:
        customer = get_customer(session=ctx.session, actor=ctx.member, customer_id=customer_id)
    except PermissionDenied:
        ctx.reply("这个客户已不在你的权限范围内。")
        return
    ctx.reply(f"要继续跟进 {customer.name}，请发送一条真实的跟进记录（聊天记录、语音备忘或拜访小结）并确认；"
              "只点按钮不会延长回收时间。")


def _give_back(ctx: HandlerContext, customer_id: int) -> None:
    try:
        customer = get_customer(session=ctx.session, actor=ctx.member, customer_id=customer_id)
        release_lead(session=ctx.session, actor=ctx.member, customer_id=customer_id, now=ctx.now,
                     due_hours=ctx.settings.pushes.new_lead_hours, why="回收提醒后主动放回")
    except PermissionDenied:
        ctx.reply("只有负责这位客户的销售或主管可以放回公海。")
        return
    except LeadError as exc:
        ctx.reply(str(exc))
        return
    ctx.reply(f"已把 {customer.name} 放回公海，同组同事可以认领。")
