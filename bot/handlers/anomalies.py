"""on_anomaly_action: taps on anomaly review cards. The supervisor's 没问题 / 退回给销售
(bot/cards/anomalies.build_anomaly_card) and the rep's 已改正 after a 退回.

Like every push-card button, the tap comes back as a card_action inbound whose text is the button's
action key ("anomaly_ok:12"), on WeCom, DingTalk and the sandbox alike."""

from __future__ import annotations

from bot.anomalies.review import apply_review, note_on_timeline
from bot.cards.anomalies import KIND_LABELS
from bot.context import HandlerContext
from bot.extract import parse_amount
from bot.format import fmt_amount
from bot.handlers.flow import console_url
from bot.handlers.pending import awaits_text_answer
from bot.router import Router
from bot.safe_input import parse_id
from store.anomalies import AlreadyReviewed, anomaly_items, get_anomaly, mark_fixed
from store.conversations import clear_conversation, get_conversation, set_conversation
from store.followups import fix_field
from store.members import supervisors_of
from store.models import Anomaly, AnomalyStatus, Member
from store.permissions import PermissionDenied

router = Router("anomalies")
VERBS = ("anomaly_ok", "anomaly_return", "anomaly_fixed", "anomaly_amount")
STATUS_TEXT = {"open": "待复核", "ok": "没问题", "returned": "已退回给销售", "fixed": "销售已改正"}
AMOUNT_STATE = "anomaly_amount"


def _is_anomaly_action(ctx: HandlerContext) -> bool:
    return ctx.inbound.kind == "card_action" and ctx.text.split(":", 1)[0] in VERBS


@router.on(_is_anomaly_action)
def on_anomaly_action(ctx: HandlerContext) -> None:
    verb, _, rest = ctx.text.partition(":")
    anomaly_id = parse_id(rest)
    try:
        if anomaly_id is None:
            raise PermissionDenied("no id")
        if verb == "anomaly_fixed":
            _on_fixed(ctx, anomaly_id)
            return
        if verb == "anomaly_amount":
            _ask_amount(ctx, anomaly_id)
            return
        decision = AnomalyStatus.OK if verb == "anomaly_ok" else AnomalyStatus.RETURNED
        anomaly = apply_review(session=ctx.session, settings=ctx.settings, actor=ctx.member, anomaly_id=anomaly_id,
                               decision=decision, reason=None, console_url=console_url(ctx), at=ctx.now)
        label = KIND_LABELS.get(anomaly.kind, anomaly.kind)
        ctx.reply(f"已标记为没问题，相关记录将计入周报。（{label}）" if decision == AnomalyStatus.OK
                  else f"已退回给销售，改正前相关记录不计入周报。（{label}）")
    except PermissionDenied:
        ctx.reply("这条异常不存在，或你没有权限处理。")
    except AlreadyReviewed as done:
        ctx.reply("这条异常还在等主管复核，暂时不用改。" if str(done) == AnomalyStatus.OPEN
                  else f"这条异常已经处理过了（{STATUS_TEXT.get(str(done), str(done))}）。")


def _returned_to_me(ctx: HandlerContext, anomaly_id: int) -> Anomaly:
    anomaly = get_anomaly(session=ctx.session, actor=ctx.member, anomaly_id=anomaly_id)
    if anomaly.rep_id != ctx.member.id:
        raise PermissionDenied("not the rep of this anomaly")
    if anomaly.status != AnomalyStatus.RETURNED:
        raise AlreadyReviewed(anomaly.status)
    return anomaly


def _ask_amount(ctx: HandlerContext, anomaly_id: int) -> None:
    """改金额: a confirmed record cannot be edited from its card any more; after a 退回 its amount can,
    by one reply, stored as a correction like any fix."""
    anomaly = _returned_to_me(ctx, anomaly_id)
    if anomaly.kind != "amount":
        raise PermissionDenied("not an amount anomaly")
    set_conversation(session=ctx.session, member_id=ctx.member.id or 0, state=AMOUNT_STATE,
                     data={"anomaly_id": anomaly_id}, at=ctx.now)
    ctx.reply("请回复正确的金额（如：3.98万、39800），或发送「取消」。")


@router.on(awaits_text_answer(AMOUNT_STATE))
def on_amount_answer(ctx: HandlerContext) -> None:
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    assert conv is not None
    amount = parse_amount(ctx.text)
    if amount is None or amount <= 0:
        ctx.reply("没看懂这个金额，请回复数字（如：3.98万、39800），或发送「取消」。")
        return
    clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    try:
        anomaly = _returned_to_me(ctx, int(conv.data["anomaly_id"]))
        [item] = [i for i in anomaly_items(session=ctx.session, anomaly_ids=[anomaly.id or 0]) if i.followup_id]
        anomaly = mark_fixed(session=ctx.session, actor=ctx.member, anomaly_id=anomaly.id or 0, at=ctx.now)
        fix_field(session=ctx.session, actor=ctx.member, followup_id=item.followup_id or 0, field="amount_cny",
                  value=str(amount), at=ctx.now)
    except (PermissionDenied, AlreadyReviewed, KeyError, ValueError):
        ctx.reply("这条退回的记录已处理过，或你没有权限修改。")
        return
    _after_fixed(ctx, anomaly, change=f"金额改为 {fmt_amount(amount)}")


def _on_fixed(ctx: HandlerContext, anomaly_id: int) -> None:
    _after_fixed(ctx, mark_fixed(session=ctx.session, actor=ctx.member, anomaly_id=anomaly_id, at=ctx.now))


def _after_fixed(ctx: HandlerContext, anomaly: Anomaly, change: str = "") -> None:
    label = KIND_LABELS.get(anomaly.kind, anomaly.kind)
    note_on_timeline(session=ctx.session, anomaly=anomaly, actor=ctx.member,
                     summary=f"异常已改正（{label}）" + (f"：{change}" if change else ""), at=ctx.now)
    ctx.reply("好的，" + (f"{change}，" if change else "") + "已记录为已改正，相关记录将计入周报。")
    reviewer = ctx.session.get(Member, anomaly.reviewer_id) if anomaly.reviewer_id else None
    told = ([reviewer] if reviewer is not None and reviewer.active
            else supervisors_of(session=ctx.session, member=ctx.member))
    for member in told:
        what = f"，{change}" if change else ""
        ctx.notify(member.id or 0,
                   text=f"{ctx.member.display_name} 已改正退回的记录（{label}{what}）：{anomaly.summary}",
                   dedupe_key=f"anomaly:{anomaly.id}:fixed:{member.id}")
