"""The quote-lines section of the follow-up card: catalog lines with the computed total, and a
spoken or typed amount that disagrees kept as a visible note with a one-tap choice (never a silent
override). Pure: the follow-up card (bot/cards/followup.py) places what this returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.format import fmt_amount
from bot.models import Button
from store.models import FollowUp, QuoteLine

QUOTE_HINT = "✎ 改报价直接回复，如：产品 企业版 2套 仓储模块 1套；「产品 无」去掉报价"


@dataclass(frozen=True)
class QuoteSection:
    notes: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)


def build_quote_section(*, followup: FollowUp, lines: Sequence[QuoteLine], catalog_in_use: bool,
                        choices: Sequence[tuple[str, Sequence[tuple[str, str]]]] = ()) -> QuoteSection:
    """`catalog_in_use`: the team has a catalog, so the card says how to pick lines even when the
    text named none. `choices`: products named without their edition, as (name, [(label, key)]):
    one button per edition adds that line (key "name|edition")."""
    picks: list[str] = []
    pick_buttons: list[Button] = []
    if not followup.confirmed:
        for name, options in choices:
            picks.append(f"❓ 「{name}」有{len(options)}个版本，点选一个加入报价")
            pick_buttons += [Button(label=f"选 {label}", action=f"quote_pick:{followup.id}:{key}")
                             for label, key in options]
    if not lines:
        hint = [QUOTE_HINT] if catalog_in_use and not followup.confirmed else []
        return QuoteSection(notes=picks + hint, buttons=pick_buttons)
    total = sum(line.total_cny for line in lines)
    notes = ["🧾 报价（产品目录）："]
    notes += [f"· {line.label} {line.quantity}{line.unit} × {line.unit_price_cny:,}元 = {line.total_cny:,}元"
              for line in lines]
    notes.append(f"· 合计 {fmt_amount(total)}")
    buttons: list[Button] = []
    amount, spoken = followup.amount_cny, followup.spoken_amount_cny
    other = amount if amount != total else spoken
    if other is not None and other != total:
        using = "目录合计" if amount == total else "另填的金额"
        notes.insert(0, f"⚠ 聊天里说的金额 {fmt_amount(other)} 与目录合计 {fmt_amount(total)} 不一致，"
                        f"金额暂按{using}记")
        if not followup.confirmed:
            fid = followup.id
            buttons.append(Button(label=f"用 {fmt_amount(other)}", action=f"quote_spoken:{fid}") if amount == total
                           else Button(label="用目录合计", action=f"quote_catalog:{fid}"))
    if not followup.confirmed and catalog_in_use:
        notes.append(QUOTE_HINT)
    return QuoteSection(notes=picks + notes, buttons=buttons + pick_buttons)
