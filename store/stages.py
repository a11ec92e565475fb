"""The sales stages and what evidence each needs; a skip or missing evidence is refused."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config import LOST_STAGE, STAGES, StageEvidence
from store.models import FollowUp


def check_stage_change(current: str, target: str, followups: Sequence[FollowUp],
                       evidence: dict[str, StageEvidence]) -> list[str]:
    """Return what is missing (empty: allowed). Messages are Chinese, shown to the rep."""
    if target not in (*STAGES, LOST_STAGE):
        return [f"没有「{target}」这个阶段，可选：{' → '.join(STAGES)}，或 {LOST_STAGE}"]
    if target == current:
        return [f"客户已处于「{target}」"]
    if target == LOST_STAGE:
        return []
    if current == LOST_STAGE:
        return [] if target == STAGES[0] else [f"已流失客户需先回到「{STAGES[0]}」"]
    cur, tgt = STAGES.index(current), STAGES.index(target)
    if tgt < cur:
        return []  # stepping back (re-qualifying) is allowed and recorded on the timeline
    missing = [f"尚未经过「{s}」" for s in STAGES[cur + 1 : tgt]]
    rule = evidence.get(target)
    if rule is not None and not _has_evidence(rule, followups):
        wanted = [f"标签「{t}」" for t in rule.any_tags] + [f"提到「{k}」" for k in rule.any_keywords]
        if rule.needs_amount:
            wanted.append("金额")
        if wanted:
            missing.append(f"「{target}」需要已确认的跟进记录含：" + " 或 ".join(wanted))
    return missing


def _has_evidence(rule: StageEvidence, followups: Sequence[FollowUp]) -> bool:
    if not rule.any_tags and not rule.any_keywords and not rule.needs_amount:
        return True
    for f in followups:
        text = f"{f.text} {f.transcript or ''}"
        if rule.needs_amount and f.amount_cny is None:
            continue
        if any(t in f.tags for t in rule.any_tags) or any(k in text for k in rule.any_keywords):
            return True
        if rule.needs_amount and not rule.any_tags and not rule.any_keywords:
            return True
    return False
