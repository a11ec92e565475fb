"""Pure builders for the commitment ledger: the promises section of the follow-up card, the lines
of the pre-visit card, and the reminder / nudge cards (scheduler/promises.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from bot.format import fmt_when
from bot.models import Button, Card, CardField
from store.models import Customer, Promise, PromiseStatus

SIDE = {"rep": "我方", "customer": "客户"}


def promise_line(promise: Promise, tz: tzinfo) -> str:
    """"[我方] 王芳→王总：把报价发您（周五 11月20日 18:00 前）"."""
    due = fmt_when(promise.due_at, tz)
    return (f"[{SIDE.get(promise.promiser, promise.promiser)}] {promise.promiser_name}→{promise.promisee_name}："
            f"{promise.what}（{due} 前）")


def promises_section(promises: Sequence[Promise], tz: tzinfo, *, confirmed: bool) -> tuple[list[str], list[Button]]:
    """Notes and buttons for the follow-up card: before 确认 each found promise with one tap to
    remove it (or keep it again); after, the ones that went into the ledger."""
    shown = [p for p in promises if not confirmed or p.status != PromiseStatus.DROPPED]
    if not shown:
        return [], []
    notes = ["🤝 承诺（确认后记入承诺台账，到期前提醒）：" if not confirmed else "🤝 已记入承诺台账："]
    buttons: list[Button] = []
    for i, p in enumerate(shown, 1):
        dropped = p.status == PromiseStatus.DROPPED
        notes.append(f"{i}. {'（已移除）' if dropped else ''}{promise_line(p, tz)}")
        if not confirmed:
            buttons.append(Button(label=f"保留承诺{i}", action=f"pkeep:{p.id}") if dropped
                           else Button(label=f"移除承诺{i}", action=f"pdrop:{p.id}"))
    return notes, buttons


def build_promise_reminder(*, promise: Promise, customer: Customer, tz: tzinfo, overdue: bool) -> Card:
    """To the rep: before the due time of their own promise, or once it has passed (broken), or a
    nudge once the customer's promise is due. 已完成 / 延期 are one tap each."""
    mine = promise.promiser == "rep"
    due = fmt_when(promise.due_at, tz)
    if mine and not overdue:
        title, subtitle = f"承诺提醒：{customer.name}", f"你答应在 {due} 前完成"
    elif mine:
        title, subtitle = f"承诺已逾期：{customer.name}", f"你答应在 {due} 前完成，尚未标记完成"
    else:
        title, subtitle = f"客户承诺已到期：{customer.name}", f"{promise.promiser_name} 答应在 {due} 前完成，请跟进"
    return Card(
        title=title,
        subtitle=subtitle,
        fields=[
            CardField(label="客户", value=customer.name + (f"（{customer.company}）" if customer.company else "")),
            CardField(label="承诺", value=promise.what),
            CardField(label="期限", value=due, warn=overdue),
        ],
        notes=[f"原话：{promise.source_text}"] if promise.source_text else [],
        buttons=[
            Button(label="已完成", action=f"pdone:{promise.id}", style="primary"),
            Button(label="延期", action=f"pdelay:{promise.id}"),
        ],
    )
