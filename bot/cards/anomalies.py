"""Pure builders for anomaly review: the supervisor's card (查看 / 没问题 / 退回给销售) and the card
that tells the rep what to fix after a 退回 (已改正)."""

from __future__ import annotations

from bot.models import Button, Card, CardField, CardLink
from store.models import Anomaly

# The four rules (bot/anomalies/rules.py) as a person names them.
KIND_LABELS = {
    "volume": "单日录入过多",
    "stages": "批量改阶段",
    "amount": "金额异常",
    "conflict": "客户信息矛盾",
}

# What the rep is asked to fix, per rule (the supervisor's reason, when given, comes first).
FIX_HINTS = {
    "volume": "这一天的录入条数异常多，请核对是否有重复或批量粘贴的记录，并向主管说明。",
    "stages": "短时间内改了很多客户的阶段，请逐个核对阶段是否属实，不对的发送「阶段 客户 阶段名」改回。",
    "amount": "金额与产品的常见价格相差很大，请核对是年费、合同总额还是多写/少写了位数，点「改金额」回复正确金额。",
    "conflict": "同一客户的公司、职位或电话前后矛盾，请核对是否把别的客户的信息记到了这里，并向主管说明哪条正确。",
}


def anomaly_link(console_url: str | None) -> list[CardLink]:
    """查看: the console's anomaly list; none when the console's address is unknown."""
    return [] if console_url is None else [CardLink(label="查看", url=f"{console_url}/console/anomalies")]


def build_anomaly_card(*, anomaly: Anomaly, rep_name: str, records: int, console_url: str | None) -> Card:
    label = KIND_LABELS.get(anomaly.kind, anomaly.kind)
    return Card(
        title=f"数据异常待复核：{label}",
        subtitle=f"{rep_name} 的数据",
        fields=[
            CardField(label="销售", value=rep_name),
            CardField(label="类型", value=label, warn=True),
            CardField(label="说明", value=anomaly.summary),
            CardField(label="涉及", value=f"{records} 条记录"),
        ],
        notes=["复核前，这些记录不计入周报和管道金额。"],
        buttons=[
            Button(label="没问题", action=f"anomaly_ok:{anomaly.id}", style="primary"),
            Button(label="退回给销售", action=f"anomaly_return:{anomaly.id}", style="danger"),
        ],
        links=anomaly_link(console_url),
    )


def fix_text(anomaly: Anomaly) -> str:
    hint = FIX_HINTS.get(anomaly.kind, "请核对这些记录并改正。")
    return f"主管意见：{anomaly.reason}。{hint}" if anomaly.reason else hint


def build_returned_card(*, anomaly: Anomaly, reviewer_name: str, console_url: str | None) -> Card:
    label = KIND_LABELS.get(anomaly.kind, anomaly.kind)
    return Card(
        title=f"记录被退回：{label}",
        subtitle=f"{reviewer_name} 请你核对并改正",
        fields=[CardField(label="说明", value=anomaly.summary)],
        notes=[fix_text(anomaly), "改好或核对无误后点「已改正」，这些记录才会计入周报。"],
        buttons=([Button(label="改金额", action=f"anomaly_amount:{anomaly.id}", style="primary")]
                 if anomaly.kind == "amount" else [])
        + [Button(label="已改正", action=f"anomaly_fixed:{anomaly.id}",
                  style="default" if anomaly.kind == "amount" else "primary")],
        links=anomaly_link(console_url),
    )
