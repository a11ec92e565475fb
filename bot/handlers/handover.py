"""Telling reps when a customer changes hands by a merge: both owners learn which record survived
(and, after 撤销合并, that both are separate again). 转给 and 退回 tell the former owner themselves
(bot/handlers/leads.py); the new owner of a 转给 gets the new-lead card."""

from __future__ import annotations

from bot.context import HandlerContext
from bot.format import mask_contacts
from store.models import Customer, Member, MergeAudit


def tell_merge_owners(ctx: HandlerContext, audit: MergeAudit, *, undone: bool) -> None:
    kept, merged = ctx.session.get(Customer, audit.kept_id), ctx.session.get(Customer, audit.merged_id)
    if kept is None or merged is None:
        return
    owner = ctx.session.get(Member, kept.owner_id) if kept.owner_id is not None else None
    # Names masked: the text reaches the owners of both records, who need not own the other.
    kept_name, merged_name = mask_contacts(kept.name), mask_contacts(merged.name)
    if undone:
        text = (f"【撤销合并】{ctx.member.display_name} 撤销了合并：#{merged.id} {merged_name} 与 "
                f"#{kept.id} {kept_name} 恢复为两位独立客户。")
    else:
        keeper = f"，负责人 {owner.display_name}" if owner is not None else "，在公海"
        text = (f"【客户合并】{ctx.member.display_name} 把 #{merged.id} {merged_name} 合并到 "
                f"#{kept.id} {kept_name}：保留的是 #{kept.id}{keeper}，以后请在 #{kept.id} 上记录跟进。")
    for member_id in dict.fromkeys((kept.owner_id, merged.owner_id)):  # each owner once, in order
        if member_id is not None and member_id != ctx.member.id:
            ctx.notify(member_id, text=text, dedupe_key=f"merge:{audit.id}:{'undo' if undone else 'do'}:{member_id}")
