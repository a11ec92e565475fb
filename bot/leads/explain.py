"""`genjin rules check` and `genjin rules explain`: what the rule file says, and what it would do
with one lead, step by step. Dry runs: nothing is written."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from bot.config import Settings
from bot.leads.assignment import decide, load_state
from bot.leads.channels import ChannelTable, UrlError, channel_of, parse_utm
from bot.leads.rules import (
    LABELS,
    MATCH_KEYS,
    STRATEGY_LABELS,
    LeadFacts,
    Problem,
    RulesError,
    read_rule_file,
    resolve_rules,
)
from store.models import Customer


def check_rules(*, session: Session, path: Path | None, channels: ChannelTable) -> tuple[list[str], bool]:
    """Lines to print and whether the file is usable (no errors; warnings are fine)."""
    if path is None:
        return ["没有配置规则文件（leads.rules_file / GENJIN_LEADS__RULES_FILE）：所有线索都会进入公海。"], True
    try:
        spec = read_rule_file(path)
    except RulesError as exc:
        return [f"规则文件 {path} 有误：", *(f"  {p}" for p in exc.problems)], False
    rules, problems = resolve_rules(session=session, spec=spec, channels=channels, path=path)
    lines = [f"规则文件 {path}：{len(spec.rules)} 条规则，{len(spec.groups)} 个分组"]
    for name, group in spec.groups.items():
        reps = []
        for ref in group.members:
            rep = rules.reps.get(str(ref))
            reps.append(f"{rep.name}{'' if rep.active else '（已停用）'}" if rep else f"{ref}（未找到）")
        cap = f"，每人上限 {group.cap} 条未联系线索" if group.cap else ""
        lines.append(f"  组「{name}」（{STRATEGY_LABELS[group.strategy]}{cap}）：{'、'.join(reps)}")
    for n, rule in enumerate(spec.rules, 1):
        conditions = [f"{LABELS[k]} {'/'.join(getattr(rule, k))}" for k in MATCH_KEYS if getattr(rule, k)]
        if rule.score is not None:
            conditions.append(f"评分 {rule.score.strip()}")
        lines.append(f"  {n}. {rule.name}：{'；'.join(conditions) or '任何线索'} → {' → '.join(rule.groups)}")
    lines.append("  都不匹配 → 公海")
    lines += [f"  {p}" for p in problems]
    errors = [p for p in problems if p.level == "error"]
    lines.append("检查未通过。" if errors else "检查通过。")
    return lines, not errors


def facts_from_spec(*, session: Session, spec: str, channels: ChannelTable) -> LeadFacts:
    """A lead to explain: a customer (#12), a JSON object, or key=value words (channel=dy region=华东)."""
    text = spec.strip()
    if text.lstrip("#").isdigit():
        customer = session.get(Customer, int(text.lstrip("#")))
        if customer is None:
            raise ValueError(f"没有客户 {text}")
        return LeadFacts(channel=customer.latest_channel or customer.source_channel or "",
                         channel_known=not customer.channel_unknown, region=customer.region,
                         industry=customer.industry, product=customer.product, grade=customer.grade,
                         score=customer.lead_score)
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"JSON 格式错误：{exc}") from None
    else:
        data = dict(word.partition("=")[::2] for word in text.split())
    if not isinstance(data, dict):
        raise ValueError("线索应为 JSON 对象、客户编号或 key=value")
    try:
        utm = parse_utm(str(data.get("landing_url") or ""))
    except UrlError:
        raise ValueError("landing_url 不是有效的网页地址") from None
    channel = channel_of(explicit=str(data.get("channel") or ""), utm=utm, table=channels)
    if channel is None:
        raise ValueError("缺少渠道：请给出 channel=… 或带 utm_source 的 landing_url")

    def opt(key: str) -> str | None:
        value = data.get(key, data.get("product_interest") if key == "product" else None)
        return str(value).strip() or None if value is not None else None

    score = opt("score")
    if score is not None and not score.lstrip("-").isdigit():
        raise ValueError("score 应为整数，如 score=70")
    return LeadFacts(channel=channel.name, channel_known=channel.known, region=opt("region"),
                     industry=opt("industry"), product=opt("product"), grade=opt("grade"),
                     campaign=opt("campaign") or utm.get("utm_campaign"), score=int(score) if score else None)


def explain(*, session: Session, settings: Settings, spec: str, now: datetime) -> tuple[list[str], bool]:
    channels = ChannelTable(settings.leads.channels)
    try:
        facts = facts_from_spec(session=session, spec=spec, channels=channels)
    except ValueError as exc:
        return [str(exc)], False
    path = settings.leads.rules_file
    try:
        rule_file = read_rule_file(path) if path is not None else None
    except RulesError as exc:
        return [f"规则文件有误，线索会进入公海：{exc.problems[0]}"], False
    if rule_file is None:
        return [f"线索：{facts.describe()}", "没有配置规则文件：进入公海。"], True
    rules, problems = resolve_rules(session=session, spec=rule_file, channels=channels, path=path)
    errors: list[Problem] = [p for p in problems if p.level == "error"]
    if errors:
        return [f"规则文件有误，线索会进入公海：{errors[0]}"], False
    state = load_state(session=session, rules=rules, now=now, window_days=settings.leads.conversion_window_days,
                       exemption_kinds=settings.leads.skip_exemption_kinds)
    decision = decide(rules=rules, lead=facts, state=state, channels=channels, tz=settings.tz)
    return [*decision.trace, "（演练：没有写入任何数据）"], True
