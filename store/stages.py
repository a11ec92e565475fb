"""The sales stages: the one definition (every module, the card, the extractor and the defaults use
`Stage`), their order, and what evidence entering each needs; a skip or missing evidence is refused.

初步接触 → 需求确认 → 方案演示 → 合同洽谈 → 已成交 is the path a deal moves along; 已流失 is off
it, reachable from anywhere, and a lost customer comes back at the start. Stored as the Chinese
value (customers.stage, followups.stage_hint are plain strings; the migrations define no default).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # store/models.py takes its stage default from here
    from store.models import FollowUp


class Stage(StrEnum):
    # Declared in deal order with LOST last: the extractor reads the last signalled one as the most
    # advanced, so a deal lost to a competitor outranks every other hint.
    FIRST_CONTACT = "初步接触"
    NEEDS_CONFIRMED = "需求确认"
    DEMO = "方案演示"
    NEGOTIATION = "合同洽谈"
    WON = "已成交"
    LOST = "已流失"


PROGRESSION: tuple[Stage, ...] = tuple(s for s in Stage if s is not Stage.LOST)
OPEN_STAGES: tuple[Stage, ...] = PROGRESSION[:-1]  # neither won nor lost: a deal still being worked


class StageEvidence(BaseModel):
    """What a customer's confirmed follow-ups must show before entering a stage (`stage_evidence`)."""

    any_tags: list[str] = Field(default_factory=list)
    any_keywords: list[str] = Field(default_factory=list)
    needs_amount: bool = False


def check_stage_change(current: str, target: str, followups: Sequence[FollowUp],
                       evidence: dict[str, StageEvidence]) -> list[str]:
    """Return what is missing (empty: allowed). Messages are Chinese, shown to the rep."""
    if target not in tuple(Stage):
        return [f"没有「{target}」这个阶段，可选：{' → '.join(PROGRESSION)}，或 {Stage.LOST}"]
    if target == current:
        return [f"客户已处于「{target}」"]
    if target == Stage.LOST:
        return []
    if current == Stage.LOST:
        return [] if target == Stage.FIRST_CONTACT else [f"已流失客户需先回到「{Stage.FIRST_CONTACT}」"]
    cur, tgt = PROGRESSION.index(Stage(current)), PROGRESSION.index(Stage(target))
    if tgt < cur:
        return []  # stepping back (re-qualifying) is allowed and recorded on the timeline
    missing = [f"尚未经过「{s}」" for s in PROGRESSION[cur + 1 : tgt]]
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
