"""Deciding who gets a lead: first matching rule, its groups in order, one strategy per group.

`decide` is pure (rules + lead + a state snapshot -> Decision) so `genjin rules explain` can run it
dry and an import can run it 10k times against one snapshot it keeps current (state.record). The
reason it returns is the sentence reps and supervisors read, so it says what actually decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlmodel import Session

from bot.leads.channels import ChannelTable
from bot.leads.rules import STRATEGY_LABELS, LeadFacts, RepRef, Rules, rule_mismatches
from store.leads import AssignmentState, RepStats, load_assignment_state

MIN_WEIGHT = 0.05  # a rep at 0% still gets an occasional lead, or they could never show improvement


@dataclass
class Decision:
    member_id: int | None  # None: the public pool
    member_name: str | None
    team_id: int | None
    rule: str | None
    group: str | None
    reason: str
    trace: list[str] = field(default_factory=list)  # every step, for `genjin rules explain`
    details: dict[str, Any] = field(default_factory=dict)
    needs_approval: bool = False  # the rule says `approval = true`: the pick waits for a supervisor


def load_state(*, session: Session, rules: Rules, now: datetime, window_days: int,
               exemption_kinds: list[str]) -> AssignmentState:
    return load_assignment_state(
        session=session, member_ids=sorted({r.member_id for r in rules.reps.values()}),
        groups=list(rules.spec.groups), now=now, window_days=window_days, exemption_kinds=exemption_kinds,
    )


def decide(*, rules: Rules, lead: LeadFacts, state: AssignmentState, channels: ChannelTable,
           tz: tzinfo) -> Decision:
    head = lead.describe()
    trace: list[str] = [f"线索：{head}"]
    for rule in rules.spec.rules:
        misses = rule_mismatches(rule, lead, channels)
        if misses:
            trace.append(f"规则「{rule.name}」不匹配：" + "；".join(misses))
            continue
        trace.append(f"规则「{rule.name}」匹配")
        full: list[str] = []
        for group in rule.groups:
            pick = _pick_in_group(rules, group, state, tz, trace)
            if pick is None:
                full.append(group)
                continue
            rep, why, skipped, details = pick
            parts = [head, f"命中规则「{rule.name}」" + (f"（评分 {lead.score}，要求 {rule.score.strip()}）"
                                                        if rule.score is not None else "")]
            if full:
                parts.append(f"{'、'.join(full)} 已无可分配的销售，转{group}")
            if skipped:
                parts.append("跳过 " + "、".join(skipped))
            parts += [why, f"分配给{rep.name}"]
            reason = "，".join(parts)
            trace.append(f"结果：{reason}")
            if rule.approval:
                trace.append("规则要求审批：分配在主管批准后生效")
            return Decision(rep.member_id, rep.name, rep.team_id, rule.name, group, reason, trace,
                            {"strategy": rules.spec.groups[group].strategy, **details}, needs_approval=rule.approval)
        team_id = rules.rule_pool_teams.get(rule.name) or _team_of_groups(rules, rule.groups) or rules.pool_team_id
        reason = f"{head}，命中规则「{rule.name}」，但 {'、'.join(rule.groups)} 均无可分配的销售，进入公海"
        trace.append(f"结果：{reason}")
        return Decision(None, None, team_id, rule.name, None, reason, trace)
    reason = f"{head}，没有匹配的分配规则，进入公海"
    trace.append(f"结果：{reason}")
    return Decision(None, None, rules.pool_team_id, None, None, reason, trace)


def _team_of_groups(rules: Rules, groups: list[str]) -> int | None:
    return next((r.team_id for g in groups for r in rules.group_reps(g)), None)


def _skip_reason(rep: RepRef, stats: RepStats, cap: int | None, tz: tzinfo) -> str | None:
    if not rep.active or not stats.active:
        return "已停用"
    if stats.exempt_kind is not None:
        until = stats.exempt_until.astimezone(tz).strftime("%m-%d") if stats.exempt_until else ""
        return f"{stats.exempt_kind}中（至 {until}）"
    if cap is not None and stats.open_leads >= cap:
        return f"未联系线索 {stats.open_leads} 条，已达上限 {cap}"
    return None


def _pick_in_group(rules: Rules, group: str, state: AssignmentState, tz: tzinfo, trace: list[str],
                   ) -> tuple[RepRef, str, list[str], dict[str, Any]] | None:
    spec = rules.spec.groups[group]
    members = rules.group_reps(group)
    eligible: list[RepRef] = []
    skipped: list[str] = []
    for rep in members:
        stats = state.reps.get(rep.member_id, RepStats())
        why = _skip_reason(rep, stats, spec.cap, tz)
        if why is None:
            eligible.append(rep)
        else:
            skipped.append(f"{rep.name}（{why}）")
    label = STRATEGY_LABELS[spec.strategy]
    trace.append(f"  组「{group}」（{label}{f'，每人上限 {spec.cap} 条' if spec.cap else ''}）："
                 + (f"可分配 {'、'.join(r.name for r in eligible)}" if eligible else "无可分配的销售")
                 + (f"；跳过 {'、'.join(skipped)}" if skipped else ""))
    if not eligible:
        return None
    order = _rotation(members, state.last_by_group.get(group))
    if spec.strategy == "least_load":
        rep = min(eligible, key=lambda r: (state.reps.get(r.member_id, RepStats()).open_leads, order[r.member_id]))
        load = state.reps.get(rep.member_id, RepStats()).open_leads
        tied = sum(state.reps.get(r.member_id, RepStats()).open_leads == load for r in eligible) > 1
        why = f"{rep.name} 未联系线索 {load} 条，组内最少" + ("（并列时轮流）" if tied else "")
        details: dict[str, Any] = {"open_leads": load}
    elif spec.strategy == "weighted":
        rep, why, details = _weighted(spec.weights, eligible, state, group, order)
    else:
        rep = min(eligible, key=lambda r: order[r.member_id])
        why = f"{group}轮流分配，本次轮到{rep.name}"
        details = {}
    trace.append(f"  选中 {rep.name}：{why}")
    return rep, why, skipped, details


def _rotation(members: list[RepRef], last: int | None) -> dict[int, int]:
    """Position of each member in the round after `last` (who got the group's previous lead)."""
    ids = [r.member_id for r in members]
    start = ids.index(last) + 1 if last in ids else 0
    return {mid: (i - start) % len(ids) for i, mid in enumerate(ids)}


def _weighted(weights: dict[str, float] | None, eligible: list[RepRef], state: AssignmentState, group: str,
              order: dict[int, int]) -> tuple[RepRef, str, dict[str, Any]]:
    """Stateless smooth weighted round robin: each rep's due share of the group's leads in the window
    (by weight) minus what they got; the most owed wins. Weights: configured, else conversion."""
    days = state.window_days
    counts = state.group_counts.get(group, {})
    stats = {r.member_id: state.reps.get(r.member_id, RepStats()) for r in eligible}
    rates = {mid: (s.converted / s.assigned if s.assigned else None) for mid, s in stats.items()}
    with_data = [s for s in stats.values() if s.assigned]
    mean = sum(s.converted for s in with_data) / sum(s.assigned for s in with_data) if with_data else None
    if weights:
        weight = {r.member_id: weights.get(r.key, 1.0) for r in eligible}
    else:
        weight = {mid: max(rate if rate is not None else (mean if mean is not None else 1.0), MIN_WEIGHT)
                  for mid, rate in rates.items()}
    total_w = sum(weight.values())
    given = sum(counts.get(r.member_id, 0) for r in eligible)

    def owed(r: RepRef) -> tuple[float, int, int]:
        share = weight[r.member_id] / total_w * (given + 1) - counts.get(r.member_id, 0)
        return (-share, counts.get(r.member_id, 0), order[r.member_id])

    rep = min(eligible, key=owed)
    rate = rates[rep.member_id]
    details = {"rate": rate, "group_mean": mean, "weight": weight[rep.member_id]}
    if weights:
        shares = " : ".join(f"{r.name} {weight[r.member_id]:g}" for r in eligible)
        return rep, f"按配置权重（{shares}）本次轮到{rep.name}", details
    if mean is None:
        return rep, f"组内近{days}天都没有成交数据，按轮流本次轮到{rep.name}", details
    if rate is None:
        return rep, f"{rep.name} 近{days}天暂无数据，按组均值 {mean:.0%} 计，本次轮到{rep.name}", details
    if rate > mean:
        return rep, f"{rep.name} 近{days}天转化率 {rate:.0%} 高于组均值 {mean:.0%}", details
    compare = "低于" if rate < mean else "等于"
    why = f"{rep.name} 近{days}天转化率 {rate:.0%} {compare}组均值 {mean:.0%}，按权重比例本次轮到{rep.name}"
    return rep, why, details
