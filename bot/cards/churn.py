"""The early churn warning card (scheduler/churn.py): the score, its reasons in plain Chinese, and
what to do; supervisors get it with contact data masked."""

from __future__ import annotations

from collections.abc import Sequence

from bot.format import mask_contacts
from bot.models import Button, Card, CardField
from store.models import Customer

ADVICE = "建议：尽快回访（电话或上门），先倾听不满，准备补救方案；必要时请主管同行。"


def build_churn_alert(*, customer: Customer, owner_name: str, score: float, threshold: float,
                      reasons: Sequence[str], for_supervisor: bool) -> Card:
    name = mask_contacts(customer.name) if for_supervisor else customer.name
    who = name + (f"（{customer.company}）" if customer.company else "")
    return Card(
        title=f"流失预警：{name}",
        subtitle=f"风险分 {score:.0f}（预警线 {threshold:.0f}）",
        fields=[
            CardField(label="客户", value=who),
            CardField(label="阶段", value=customer.stage),
            CardField(label="负责人", value=owner_name),
            CardField(label="风险分", value=f"{score:.0f}", warn=True),
        ],
        notes=["风险来源：", *(f"· {r}" for r in reasons), ADVICE],
        buttons=[Button(label="查看", action=f"view:{customer.id}")],
    )
