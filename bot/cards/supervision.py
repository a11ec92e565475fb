"""Pure builders for what a supervisor gets in chat: the 撞单 alert with 转给 buttons, the stale
digest (one card per supervisor per sweep) and the actions card one digest line opens."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from bot.cards.pushes import stale_customer_for_supervisor
from bot.format import fmt_when, mask_contacts
from bot.models import Button, Card, CardField
from store.models import Customer, Member

DIGEST_BUTTONS = 6  # WeCom's template card takes six buttons (bot/platforms/wecom/render.py)
DIGEST_LINES = 30  # a longer list is no use in a chat card; the rest is counted


def _who(customer: Customer) -> str:
    # Supervisors are not the owner: contact data is masked, in the name too (older records).
    return mask_contacts(customer.name) + (f"（{customer.company}）" if customer.company else "")


def build_collision_card(*, customer: Customer, owner: Member, submitter: Member, contact: str,
                         transfer_to: Sequence[Member]) -> Card:
    """撞单: `submitter` brought a phone/e-mail that is already `owner`'s customer. The supervisor
    decides whose it is; each 转给 (to the reps in `transfer_to` this supervisor may assign) goes
    through the ordinary 转给 (store.leads.reassign_lead)."""
    buttons = [
        Button(label=f"转给 {m.display_name}" + ("（现负责人）" if m.id == owner.id else ""),
               action=f"reassign_to:{customer.id}:{m.id}", style="default" if m.id == owner.id else "primary")
        for m in transfer_to if m.role == "rep" and m.active
    ]
    buttons.append(Button(label="查看", action=f"view:{customer.id}"))
    return Card(
        title=f"撞单提醒：{mask_contacts(customer.name)}",
        subtitle=f"{submitter.display_name} 提交的客户已由 {owner.display_name} 跟进，请决定归属",
        fields=[
            CardField(label="客户", value=_who(customer)),
            CardField(label="负责人", value=owner.display_name),
            CardField(label="提交人", value=submitter.display_name),
            CardField(label="相同联系方式", value=contact),
            CardField(label="阶段", value=customer.stage),
        ],
        notes=[] if len(buttons) > 1 else ["两位销售都不在你能分配的团队，请联系对方主管或管理员。"],
        buttons=buttons,
    )


@dataclass(frozen=True)
class StaleLine:
    """One customer of a stale digest, as the sweep saw it when the rung fired."""

    customer_id: int
    name: str
    company: str | None
    owner: str
    stage: str
    idle_days: int
    idle_hours: float
    rung: int  # 2: supervisor alerted, 3: high risk


def build_stale_digest(*, lines: Sequence[StaleLine], now: datetime, tz: tzinfo) -> Card:
    """All stale alerts of one sweep for one supervisor: highest rung and longest idle first. Short
    fields (WeCom shows six, with five-character labels: the name is the label, the rest the value),
    a subtitle counting per owner so even a cut card shows the whole picture, and for each of the
    first customers a button that opens its actions (转给… / 暂缓 / 查看)."""
    ordered = sorted(lines, key=lambda s: (-s.rung, -s.idle_hours, s.customer_id))
    high = sum(1 for s in ordered if s.rung >= 3)
    per_owner = Counter(s.owner for s in ordered)
    listed = ordered[:DIGEST_LINES]
    fields = [
        CardField(
            label=mask_contacts(s.name),
            value=f"{s.owner} · {s.idle_days}天未跟进 · " + ("高风险" if s.rung >= 3 else "超时")
                  + f" · #{s.customer_id}" + (f" {s.company}" if s.company else "") + f" · {s.stage}",
            warn=s.rung >= 3,
        )
        for s in listed
    ]
    rest = len(ordered) - len(listed)
    notes = [f"另有 {rest} 位未列出：发送「我的客户」查看。"] if rest else []
    notes.append("点「处理」可转给其他销售、暂缓或查看。")
    shown = ordered[:DIGEST_BUTTONS]
    return Card(
        title=f"超时未跟进汇总：{len(ordered)} 位客户" + (f"（{high} 位高风险）" if high else ""),
        subtitle="、".join(f"{owner} {n} 位" for owner, n in per_owner.most_common()) + f" · {fmt_when(now, tz)}",
        fields=fields,
        notes=notes,
        buttons=[Button(label=f"处理 {mask_contacts(s.name)}", action=f"stale_open:{s.customer_id}")
                 for s in shown],
    )


def build_stale_actions(*, customer: Customer, owner_name: str) -> Card:
    """What one line of the digest opens: the stale alert's actions for that customer."""
    fields, buttons = stale_customer_for_supervisor(customer=customer, owner_name=owner_name)
    return Card(title=f"处理：{mask_contacts(customer.name)}", subtitle=f"负责人 {owner_name}", fields=fields,
                buttons=buttons)
