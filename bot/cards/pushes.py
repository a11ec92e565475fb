"""Pure builders for scheduled pushes: pre-visit card, stale-lead reminder and alert."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from bot.cards.snippet import HistoryLine
from bot.format import fmt_amount, fmt_when, mask_contacts, mask_phone
from bot.models import Button, Card, CardField
from store.models import Customer, Visit
from store.stages import Stage

CONSENT_REMINDER = "如需录音，请先征得客户同意。"


def build_previsit_card(
    *,
    customer: Customer,
    visit: Visit,
    history: Sequence[HistoryLine],
    open_tags: Sequence[str],
    talking_points: dict[str, str],
    promises: Sequence[str],
    last_amount: int | None,
    tz: tzinfo,
) -> Card:
    fields = [
        CardField(label="客户", value=customer.name + (f"（{customer.company}）" if customer.company else "")),
        CardField(label="时间", value=fmt_when(visit.scheduled_at, tz), warn=True),
        CardField(label="目标", value=visit.goal or "—"),
        CardField(label="阶段", value=customer.stage),
        CardField(label="电话", value=customer.phone or "—"),
        CardField(label="金额", value=fmt_amount(last_amount)),
    ]
    notes = ["最近记录："]
    notes += [f"· {e.created_at.astimezone(tz):%m-%d} {e.summary}" for e in history] or ["· 暂无"]
    if open_tags:
        notes.append("关注点与话术：")
        notes += [f"· {t}：{talking_points.get(t, '提前准备应对方案。')}" for t in open_tags]
    if promises:
        notes.append("待兑现的承诺：")
        notes += [f"· {p}" for p in promises]
    notes.append(CONSENT_REMINDER)
    return Card(
        title=f"拜访提醒：{customer.name}",
        subtitle=f"{fmt_when(visit.scheduled_at, tz)} 拜访",
        fields=fields,
        notes=notes,
        buttons=[Button(label="查看历史", action=f"view:{customer.id}")],
    )


def build_stale_reminder(*, customer: Customer, idle_hours: float, suggestion: str) -> Card:
    return Card(
        title=f"跟进提醒：{customer.name}",
        subtitle=f"已有 {idle_hours:.0f} 个工作小时没有跟进",
        fields=[
            CardField(label="客户", value=customer.name + (f"（{customer.company}）" if customer.company else "")),
            CardField(label="阶段", value=customer.stage),
        ],
        notes=[f"建议发送：{suggestion}"],
        buttons=[
            Button(label="查看", action=f"view:{customer.id}"),
            Button(label="暂缓", action=f"snooze:{customer.id}"),
        ],
    )


def build_stale_alert(*, customer: Customer, owner_name: str, idle_hours: float, high_risk: bool) -> Card:
    """For supervisors, not the owner: contact data is masked, in the name too (older records)."""
    name = mask_contacts(customer.name)
    title = ("高风险客户：" if high_risk else "客户跟进超时：") + name
    fields, buttons = stale_customer_for_supervisor(customer=customer, owner_name=owner_name)
    return Card(title=title, subtitle=f"{owner_name} 已 {idle_hours:.0f} 个工作小时未跟进", fields=fields,
                buttons=buttons)


def stale_customer_for_supervisor(*, customer: Customer, owner_name: str) -> tuple[list[CardField], list[Button]]:
    """A stale customer as a supervisor sees it (contacts masked, in the name too: older records) and
    what the supervisor can do: the alert card's and the digest's 处理 card's fields and buttons."""
    who = mask_contacts(customer.name) + (f"（{customer.company}）" if customer.company else "")
    fields = [
        CardField(label="客户", value=who),
        CardField(label="负责人", value=owner_name),
        CardField(label="阶段", value=customer.stage),
        CardField(label="电话", value=mask_phone(customer.phone)),
    ]
    buttons = [
        Button(label="转给…", action=f"reassign:{customer.id}", style="primary"),
        Button(label="暂缓", action=f"snooze:{customer.id}"),
        Button(label="查看", action=f"view:{customer.id}"),
    ]
    return fields, buttons


def suggested_message(customer: Customer) -> str:
    """A ready-to-send nudge the rep can copy (stage-aware, no invented facts)."""
    salutation = customer.name
    by_stage: dict[str, str] = {
        Stage.FIRST_CONTACT: "最近忙吗？上次聊到的需求，我整理了一些同行的做法，方便的话约个时间简单聊聊？",
        Stage.NEEDS_CONFIRMED: "上次沟通的需求我这边已经梳理好了，想跟您再确认几个细节，您看什么时候方便？",
        Stage.DEMO: "演示之后大家有什么反馈吗？有任何疑问我都可以再详细说明。",
        Stage.NEGOTIATION: "合同这边还有什么需要我们配合的吗？我这边可以随时安排。",
    }
    return f"{salutation}您好！" + by_stage.get(customer.stage, "最近情况怎么样？有需要随时找我。")
