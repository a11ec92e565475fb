"""Pure builders for lead cards: the rep's new-lead card, a known customer's new touch, the pool."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from bot.format import fmt_when, mask_contacts, mask_phone
from bot.models import Button, Card, CardField
from store.models import Customer, LeadTouch, Member


def ago(then: datetime, now: datetime, tz: tzinfo) -> str:
    days = (now.astimezone(tz).date() - then.astimezone(tz).date()).days
    if days <= 0:
        return "今天"
    if days == 1:
        return "昨天"
    if days <= 60:
        return f"{days}天前"
    local = then.astimezone(tz)
    return f"{local.year}年{local.month}月{local.day}日"


def touch_line(touch: LeadTouch, now: datetime, tz: tzinfo) -> str:
    """该客户3天前在官网下载白皮书 (without the 该客户)."""
    what = touch.action or "留资"
    campaign = f"（{touch.campaign}）" if touch.campaign else ""
    return f"{ago(touch.created_at, now, tz)}在{touch.channel}{what}{campaign}"


def _who(customer: Customer) -> str:
    return customer.name + (f"（{customer.company}）" if customer.company else "")


def _channel_field(customer: Customer, touch: LeadTouch | None) -> CardField:
    channel = touch.channel if touch else (customer.latest_channel or customer.source_channel or "—")
    known = touch.channel_known if touch else not customer.channel_unknown
    return CardField(label="渠道", value=channel + ("（未知渠道）" if not known else ""), warn=not known)


def build_new_lead_card(
    *, customer: Customer, touch: LeadTouch | None, reason: str, history: Sequence[str], due_hours: float,
    now: datetime, tz: tzinfo,
) -> Card:
    fields = [
        CardField(label="客户", value=_who(customer)),
        CardField(label="电话", value=customer.phone or customer.email or "—"),
        _channel_field(customer, touch),
        CardField(label="活动", value=(touch.campaign if touch else None) or "—"),
        CardField(label="区域", value=customer.region or "—"),
        CardField(label="意向", value=customer.product or "—"),
    ]
    if customer.industry:
        fields.append(CardField(label="行业", value=customer.industry))
    # The reason goes first in the notes: WeCom shows only the first 160 characters of them.
    notes = [f"分配原因：{reason}"]
    notes += [f"· {line}" for line in history] or ["· 首次留资"]
    notes.append(f"请在 {due_hours:g} 小时内联系（{fmt_when(now, tz)} 分配）。")
    return Card(
        title=f"新线索：{customer.name}",
        subtitle=f"来自{fields[2].value}",
        fields=fields,
        notes=notes,
        buttons=[
            Button(label="认领", action=f"lead_claim:{customer.id}", style="primary"),
            Button(label="退回公海", action=f"lead_return:{customer.id}", style="danger"),
            Button(label="查看", action=f"view:{customer.id}"),
        ],
    )


def build_touch_card(*, customer: Customer, touch: LeadTouch, history: Sequence[str], now: datetime,
                     tz: tzinfo) -> Card:
    """A known customer came back through marketing: the owner sees it with what came before."""
    notes = ["历史：" + "；".join(f"该客户{line}" for line in history)] if history else ["此前没有留资记录"]
    return Card(
        title=f"老客户新动态：{customer.name}",
        subtitle=f"刚刚通过{touch.channel}{touch.action or '再次留资'}",
        fields=[
            CardField(label="客户", value=_who(customer)),
            _channel_field(customer, touch),
            CardField(label="活动", value=touch.campaign or "—"),
            CardField(label="阶段", value=customer.stage),
        ],
        notes=notes,
        buttons=[Button(label="查看", action=f"view:{customer.id}")],
    )


def build_pool_card(*, leads: Sequence[Customer], total: int, claimed_today: int, cap: int, now: datetime,
                    tz: tzinfo, can_claim: bool) -> Card:
    lines = [
        f"#{c.id} {mask_contacts(_who(c))} · {c.latest_channel or c.source_channel or '—'}"
        + (f" · {c.region}" if c.region else "") + f" · {mask_phone(c.phone)}"
        + (f" · {ago(c.assigned_at, now, tz)}进入" if c.assigned_at else "")
        for c in leads
    ]
    hint = "点下方按钮或发送「认领 #编号」认领。" if can_claim else "主管可发送「转给 #编号 姓名」分配。"
    return Card(
        title=f"公海线索（共 {total} 条）",
        subtitle=f"今日已认领 {claimed_today}/{cap}" if can_claim else "未分配的线索",
        notes=[*lines, hint] if lines else ["公海里暂时没有线索。"],
        buttons=[Button(label=f"认领 #{c.id}", action=f"lead_claim:{c.id}") for c in leads[:5]] if can_claim else [],
    )


def build_assign_picker(*, customer: Customer, reps: Sequence[Member]) -> Card:
    return Card(
        title=f"把 {customer.name} 转给…",
        subtitle="选择接手的销售",
        notes=[f"也可以直接回复：转给 {reps[0].display_name}" if reps else "团队里没有可接手的销售。"],
        buttons=[Button(label=r.display_name, action=f"lead_assign_to:{customer.id}:{r.id}") for r in reps[:6]],
    )
