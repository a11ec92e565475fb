"""The post-visit card: a visit ended and nothing was written about it; three questions, one reply."""

from __future__ import annotations

from datetime import tzinfo

from bot.format import fmt_when
from bot.models import Button, Card, CardField
from store.models import Customer, Visit


def build_postvisit_card(*, customer: Customer, visit: Visit, tz: tzinfo) -> Card:
    who = customer.name + (f"（{customer.company}）" if customer.company else "")
    return Card(
        title=f"拜访后记一笔：{customer.name}",
        subtitle=f"{fmt_when(visit.scheduled_at, tz)} 的拜访还没有记录",
        fields=[
            CardField(label="客户", value=who),
            CardField(label="拜访目的", value=visit.goal or "—"),
            CardField(label="当前阶段", value=customer.stage),
        ],
        notes=[
            "直接回复一句话或发一段语音，说清三件事：",
            "① 现在到了哪个阶段  ② 下一步做什么  ③ 下次什么时候联系",
            "例如：需求确认了，下一步发方案和报价，下周二上午再电话",
        ],
        buttons=[
            Button(label="今天没去", action=f"pv_missed:{visit.id}"),
            Button(label="改约", action=f"pv_move:{visit.id}"),
        ],
    )
