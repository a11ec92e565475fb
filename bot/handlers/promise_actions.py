"""on_promise_action: taps on the commitment ledger's buttons — 移除/保留 on a record's card, and
已完成 / 延期 on a reminder (scheduler/promises.py). Each is one conditional UPDATE: a double tap
or a tap racing the sweep changes the promise once."""

from __future__ import annotations

from datetime import timedelta

from bot.cards.promises import SIDE
from bot.context import HandlerContext
from bot.format import fmt_when
from bot.handlers.flow import reply_followup_card
from bot.router import Router
from bot.safe_input import parse_id
from store.followups import get_followup
from store.permissions import PermissionDenied
from store.promises import complete_promise, get_promise, postpone_promise, set_promise_kept
from store.timeline import add_event

router = Router("promise_actions")
VERBS = ("pkeep", "pdrop", "pdone", "pdelay")


def _is_promise_tap(ctx: HandlerContext) -> bool:
    return ctx.inbound.kind == "card_action" and ctx.text.partition(":")[0] in VERBS


@router.on(_is_promise_tap)
def on_promise_action(ctx: HandlerContext) -> None:
    verb, _, rest = ctx.text.partition(":")
    promise_id = parse_id(rest)
    try:
        if promise_id is None:
            raise ValueError(ctx.text)
        if verb in ("pkeep", "pdrop"):
            _on_keep(ctx, promise_id, keep=verb == "pkeep")
        elif verb == "pdone":
            _on_done(ctx, promise_id)
        else:
            _on_delay(ctx, promise_id)
    except PermissionDenied:
        ctx.reply("这条承诺不存在，或你没有权限操作。")
    except ValueError:
        ctx.reply("这个按钮已失效，请重新发送消息。")


def _on_keep(ctx: HandlerContext, promise_id: int, *, keep: bool) -> None:
    promise, _ = get_promise(session=ctx.session, actor=ctx.member, promise_id=promise_id)
    followup, _ = get_followup(session=ctx.session, actor=ctx.member, followup_id=promise.followup_id)
    if followup.confirmed:
        ctx.reply("这条记录已确认，承诺已记入台账；到期提醒上可以点「已完成」或「延期」。")
        return
    set_promise_kept(session=ctx.session, actor=ctx.member, promise_id=promise_id, keep=keep)
    reply_followup_card(ctx, followup.id or 0)


def _on_done(ctx: HandlerContext, promise_id: int) -> None:
    promise = complete_promise(session=ctx.session, actor=ctx.member, promise_id=promise_id, at=ctx.now)
    if promise is None:
        ctx.reply("这条承诺已经标记过完成，或还没有随记录确认。")
        return
    late = promise.done_at is not None and promise.done_at > promise.due_at
    verdict = f"逾期 {_days(promise.done_at - promise.due_at)}" if late and promise.done_at else "按时"
    summary = (f"承诺已兑现（{verdict}）：[{SIDE.get(promise.promiser, '')}] {promise.promiser_name} "
               f"{promise.what}")
    add_event(session=ctx.session, customer_id=promise.customer_id, actor_id=ctx.member.id, kind="promise_kept",
              summary=summary, ref={"promise_id": promise.id, "on_time": not late}, at=ctx.now)
    ctx.reply(f"已标记完成：{promise.what}（{verdict}）。")


def _on_delay(ctx: HandlerContext, promise_id: int) -> None:
    promise, _ = get_promise(session=ctx.session, actor=ctx.member, promise_id=promise_id)
    # Calendar days from the later of the old due time and now; the reminders before the new due
    # time are counted in working time by the sweep, as for any promise.
    new_due = max(promise.due_at, ctx.now) + timedelta(days=ctx.settings.promises.postpone_days)
    moved = postpone_promise(session=ctx.session, actor=ctx.member, promise_id=promise_id, due_at=new_due,
                             remind_at=ctx.now)
    if moved is None:
        ctx.reply("这条承诺已完成或已经延期过了，无需再延期。")
        return
    shown = fmt_when(new_due, ctx.settings.tz)
    add_event(session=ctx.session, customer_id=moved.customer_id, actor_id=ctx.member.id, kind="promise_postponed",
              summary=f"承诺延期至 {shown}：{moved.what}", ref={"promise_id": moved.id}, at=ctx.now)
    ctx.reply(f"已延期：{moved.what}，新的期限 {shown}，到期前会再提醒你。")


def _days(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} 小时" if hours < 24 else f"{hours / 24:.0f} 天"
