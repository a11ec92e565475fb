"""on_anomaly_action: taps on anomaly review cards. The supervisor's 没问题 / 退回给销售
(bot/cards/anomalies.build_anomaly_card) and the rep's 已改正 after a 退回.

Like every push-card button, the tap comes back as a card_action inbound whose text is the button's
action key ("anomaly_ok:12"), on WeCom, DingTalk and the sandbox alike."""

from __future__ import annotations

from bot.anomalies.review import apply_review, note_on_timeline
from bot.cards.anomalies import KIND_LABELS
from bot.context import HandlerContext
from bot.handlers.flow import console_url
from bot.router import Router
from bot.safe_input import parse_id
from store.anomalies import AlreadyReviewed, mark_fixed
from store.members import supervisors_of
from store.models import AnomalyStatus, Member
from store.permissions import PermissionDenied

router = Router("anomalies")
VERBS = ("anomaly_ok", "anomaly_return", "anomaly_fixed")
STATUS_TEXT = {"open": "待复核", "ok": "没问题", "returned": "已退回给销售", "fixed": "销售已改正"}


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
        decision = AnomalyStatus.OK if verb == "anomaly_ok" else AnomalyStatus.RETURNED
        anomaly = apply_review(session=ctx.session, settings=ctx.settings, actor=ctx.member, anomaly_id=anomaly_id,
                               decision=decision, reason=None, console_url=console_url(ctx), at=ctx.now)
        label = KIND_LABELS.get(anomaly.kind, anomaly.kind)
        ctx.reply(f"已标记为没问题，相关记录将计入周报。（{label}）" if decision == AnomalyStatus.OK
                  else f"已退回给销售，改正前相关记录不计入周报。（{label}）")
    except PermissionDenied:
        ctx.reply("这条异常不存在，或你没有权限处理。")
    except AlreadyReviewed as done:
        ctx.reply(f"这条异常已经处理过了（{STATUS_TEXT.get(str(done), str(done))}）。")


def _on_fixed(ctx: HandlerContext, anomaly_id: int) -> None:
    anomaly = mark_fixed(session=ctx.session, actor=ctx.member, anomaly_id=anomaly_id, at=ctx.now)
    label = KIND_LABELS.get(anomaly.kind, anomaly.kind)
    note_on_timeline(session=ctx.session, anomaly=anomaly, actor=ctx.member, summary=f"异常已改正（{label}）",
                     at=ctx.now)
    ctx.reply("好的，已记录为已改正，相关记录将计入周报。")
    reviewer = ctx.session.get(Member, anomaly.reviewer_id) if anomaly.reviewer_id else None
    told = ([reviewer] if reviewer is not None and reviewer.active
            else supervisors_of(session=ctx.session, member=ctx.member))
    for member in told:
        ctx.notify(member.id or 0, text=f"{ctx.member.display_name} 已改正退回的记录（{label}）：{anomaly.summary}",
                   dedupe_key=f"anomaly:{anomaly.id}:fixed:{member.id}")
