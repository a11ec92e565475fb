"""Pure builders for the playbook pushes: stage hand-offs (已接手), the pool-recycling warning
(继续跟进 / 放回公海) and approvals (批准 / 驳回). Contact data never appears: these cards go to
people other than the owner (role members, approvers)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.format import fmt_when, mask_contacts
from bot.models import Button, Card, CardField
from store.models import Approval, Customer, HandOff


def _who(customer: Customer) -> str:
    return mask_contacts(customer.name) + (f"（{customer.company}）" if customer.company else "")


def build_handoff_card(*, handoff: HandOff, customer: Customer, owner_name: str, message: str,
                       accept_hours: float) -> Card:
    return Card(
        title=f"请接手：{mask_contacts(customer.name)}（{handoff.stage}）",
        subtitle=f"{handoff.role_tag} · 请在 {accept_hours:g} 个工作小时内确认接手",
        fields=[
            CardField(label="客户", value=_who(customer)),
            CardField(label="阶段", value=handoff.stage),
            CardField(label="负责人", value=owner_name),
        ],
        notes=mask_contacts(message).splitlines(),
        buttons=[Button(label="已接手", action=f"handoff_ack:{handoff.id}", style="primary")],
    )


def build_handoff_late_card(*, handoff: HandOff, customer: Customer, member_name: str, hours: float) -> Card:
    return Card(
        title=f"交接未接手：{mask_contacts(customer.name)}",
        subtitle=f"{member_name}（{handoff.role_tag}）{hours:g} 个工作小时内未确认接手",
        fields=[
            CardField(label="客户", value=_who(customer)),
            CardField(label="阶段", value=handoff.stage),
            CardField(label="交接给", value=f"{member_name}（{handoff.role_tag}）"),
        ],
    )


def build_recycle_warning(*, customer: Customer, idle_days: int, return_at: datetime, tz: tzinfo) -> Card:
    return Card(
        title=f"即将回收公海：{customer.name}",
        subtitle=f"已 {idle_days} 天没有跟进记录",
        fields=[
            CardField(label="客户", value=customer.name + (f"（{customer.company}）" if customer.company else "")),
            CardField(label="阶段", value=customer.stage),
            CardField(label="回收时间", value=fmt_when(return_at, tz), warn=True),
        ],
        notes=["在此之前发送一条真实的跟进记录（聊天记录或语音备忘）并确认，即可继续保留。"],
        buttons=[
            Button(label="继续跟进", action=f"recycle_keep:{customer.id}", style="primary"),
            Button(label="放回公海", action=f"recycle_release:{customer.id}"),
        ],
    )


def build_approval_card(*, approval: Approval, customer: Customer, proposed_name: str, escalated_from: str | None,
                        decide_by: datetime | None, tz: tzinfo) -> Card:
    notes = [mask_contacts(approval.reason)]
    if escalated_from:
        notes.append(f"{escalated_from} 未在时限内处理，已升级给你。")
    return Card(
        title=f"待审批：{mask_contacts(customer.name)} 分配给 {proposed_name}",
        subtitle=f"请在 {fmt_when(decide_by, tz)} 前处理" if decide_by else None,
        fields=[
            CardField(label="客户", value=_who(customer)),
            CardField(label="区域", value=customer.region or "—"),
            CardField(label="拟分配给", value=proposed_name),
            CardField(label="规则", value=approval.rule or "—"),
        ],
        notes=notes,
        buttons=[
            Button(label="批准", action=f"approve:{approval.id}", style="primary"),
            Button(label="驳回", action=f"reject:{approval.id}", style="danger"),
        ],
    )
