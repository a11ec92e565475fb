"""The follow-up confirmation card: parsed fields, tags as toggles, 确认, and a history snippet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

from bot.format import fmt_amount, fmt_when
from bot.models import Button, Card, CardField, TagToggle
from store.models import Customer, FollowUp, TimelineEvent


def build_followup_card(
    *,
    followup: FollowUp,
    customer: Customer,
    history: Sequence[TimelineEvent],
    all_tags: Sequence[str],
    tz: tzinfo,
    next_contact_has_time: bool = True,
    warnings: Sequence[str] = (),
    is_new_customer: bool = False,
) -> Card:
    fid = followup.id
    who = customer.name + (f"（{customer.company}）" if customer.company else "")
    fields = [
        CardField(label="客户", value=who + ("  [新客户]" if is_new_customer else "")),
        CardField(label="电话", value=customer.phone or "—"),
        CardField(label="邮箱", value=customer.email or "—"),
        CardField(label="金额", value=fmt_amount(followup.amount_cny)),
        CardField(
            label="下次联系",
            value=fmt_when(followup.next_contact_at, tz, next_contact_has_time) if followup.next_contact_at else "—",
            warn=followup.next_contact_at is not None,
        ),
        CardField(label="阶段", value=customer.stage + (f" → 建议 {followup.stage_hint}"
                                                       if followup.stage_hint and followup.stage_hint != customer.stage
                                                       else "")),
    ]
    tags = [TagToggle(name=t, selected=t in followup.tags, action=f"tag:{fid}:{t}") for t in all_tags]
    heard = followup.understanding or {}
    # Warnings first: WeCom cuts a card's text at 160 characters and a long transcript must not push
    # a disagreement off the card.
    notes = [f"⚠ {w}" for w in warnings]
    notes += _heard_notes(followup, heard)
    if history:
        notes.append("最近记录：")
        notes.extend(f"· {e.created_at.astimezone(tz):%m-%d} {e.summary}" for e in history)
    else:
        notes.append("最近记录：暂无")
    buttons = [] if followup.confirmed else [Button(label="确认", action=f"confirm:{fid}", style="primary")]
    if not followup.confirmed:
        # Each alternative reading (DingTalk's, or the words as heard before correction) is one tap;
        # the tap is stored as a field correction (store/followups.py fix_field).
        buttons += [Button(label=str(a["label"]), action=f"fix:{fid}:{i}")
                    for i, a in enumerate(heard.get("alternatives") or [])]
    title = "跟进记录已确认" if followup.confirmed else "请确认跟进记录"
    return Card(title=title, subtitle="点标签可增删，确认后保存到客户档案", fields=fields, tags=tags,
                buttons=buttons, notes=notes)


def _heard_notes(followup: FollowUp, heard: dict[str, Any]) -> list[str]:
    """A voice record shows what was heard, which words were corrected, and every date heard in the
    form the rep checks at a glance (周四 11月26日 15:00)."""
    if followup.kind != "voice":
        return []
    notes = []
    fixes = heard.get("fixes") or []
    if fixes:
        notes.append("✎ 已按客户名单更正：" + "、".join(f"「{a}」→「{b}」" for a, b in fixes) + "（原话已保存）")
    times = heard.get("times") or []
    if times:
        notes.append("🕒 听到的时间：" + "；".join(f"「{said}」= {shown}" for said, shown in times))
    notes.append(f"🎙 语音转写：{followup.text}")
    return notes


def build_duplicate_card(*, name: str, company: str | None, candidates: Sequence[Customer]) -> Card:
    """Likely the same person under another spelling: the rep chooses, nothing is guessed."""
    buttons = [
        Button(label=f"是同一客户：{c.name}" + (f"（{c.company}）" if c.company else ""), action=f"dup_use:{c.id}",
               style="primary")
        for c in candidates[:3]
    ]
    buttons.append(Button(label="不是，新建客户", action="dup_new"))
    shown = name + (f"（{company}）" if company else "")
    return Card(title="可能是重复客户", subtitle=f"「{shown}」与已有客户名字相近",
                fields=[CardField(label=c.name, value=c.company or "—") for c in candidates[:3]],
                buttons=buttons)
