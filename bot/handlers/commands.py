"""on_command: 帮助, 新客户, 跟进, 阶段, 我的客户, 查, 历史, 改名, 重试, 合并, 撤销合并, 取消 (拜访: visit.py)."""

from __future__ import annotations

from bot.context import HandlerContext
from bot.extract import extract, tag_rules
from bot.format import fmt_when, for_viewer, mask_phone
from bot.handlers.command_words import parse_command
from bot.handlers.conversation import start_new_customer
from bot.handlers.flow import ext_to_data, record, sent_at
from bot.handlers.handover import tell_merge_owners
from bot.handlers.help_text import help_for
from bot.handlers.lookup import history_text, owner_labels, reply_private, resolve_customer, shown_to
from bot.handlers.week import on_week
from bot.playbook.handoffs import announce_stage_entry
from bot.router import Router
from bot.safe_input import parse_id
from store.conversations import clear_conversation, get_conversation
from store.customers import MAX_SEARCH_CHARS, change_stage, list_customers, rename_customer, search_customers
from store.followups import confirmed_followups
from store.inbox import requeue_failed_inbound
from store.merges import merge_customers, undo_merge
from store.ocr_jobs import requeue_failed_ocr, search_customers_by_ocr_text
from store.permissions import PermissionDenied
from store.stages import check_stage_change
from store.timeline import add_event, recent_events
from store.transcriptions import requeue_failed_transcriptions

router = Router("commands")


def _is_command(ctx: HandlerContext) -> bool:
    return ctx.inbound.kind == "text" and parse_command(ctx.text) is not None


@router.on(_is_command)
def on_command(ctx: HandlerContext) -> None:
    command = parse_command(ctx.text)
    assert command is not None
    handler = _HANDLERS.get(command.name)
    if handler is None:
        ctx.reply(f"不认识的命令「{command.word}」。\n{help_for(ctx.member.role)}")
        return
    handler(ctx, command.args)


def on_help(ctx: HandlerContext, _args: str) -> None:
    ctx.reply(help_for(ctx.member.role))


def on_cancel(ctx: HandlerContext, _args: str) -> None:
    had = get_conversation(session=ctx.session, member_id=ctx.member.id or 0) is not None
    clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    ctx.reply("已取消。" if had else "当前没有进行中的提问。")


def on_mine(ctx: HandlerContext, _args: str) -> None:
    customers = list_customers(session=ctx.session, actor=ctx.member, limit=20)
    if not customers:
        ctx.reply("还没有客户。粘贴一段和客户的聊天，或发送「新客户」开始。")
        return
    tz = ctx.settings.tz
    owners = owner_labels(ctx, customers)
    lines = [
        shown_to(ctx, c, f"#{c.id} {c.name}{'（' + c.company + '）' if c.company else ''} · {c.stage}")
        + owners.get(c.id or 0, "")
        + (f" · 下次 {fmt_when(c.next_contact_at, tz)}" if c.next_contact_at else "")
        for c in customers
    ]
    title = "团队客户" if ctx.member.role != "rep" else "我的客户"
    reply_private(ctx, f"{title}（最近 {len(lines)} 位）：\n" + "\n".join(lines))


def on_find(ctx: HandlerContext, args: str) -> None:
    if not args:
        ctx.reply("请写上要查的关键词，例如：查 张伟 或 查 1380013")
        return
    if len(args) > MAX_SEARCH_CHARS:
        ctx.reply(f"关键词太长（{len(args)} 字，最多 {MAX_SEARCH_CHARS} 字）。请只写客户姓名、公司或电话。")
        return
    found = search_customers(session=ctx.session, actor=ctx.member, query=args)
    # Then the text read from the customers' images and PDFs (a contract number, a product on a whiteboard).
    found = found or search_customers_by_ocr_text(session=ctx.session, actor=ctx.member, query=args)
    if not found:
        ctx.reply(f"没有找到与「{args}」相关的客户。")
        return
    owners = owner_labels(ctx, found)
    reply_private(
        ctx,
        "找到：\n" + "\n".join(shown_to(ctx, c, f"#{c.id} {c.name} {c.company or ''} {mask_phone(c.phone)} · {c.stage}")
                                + owners.get(c.id or 0, "") for c in found),
    )


def on_history(ctx: HandlerContext, args: str) -> None:
    customer = resolve_customer(ctx, args)
    if customer is None:
        return
    events = recent_events(session=ctx.session, actor=ctx.member, customer_id=customer.id or 0, limit=10)
    reply_private(ctx, history_text(ctx, customer, events))


def on_rename(ctx: HandlerContext, args: str) -> None:
    query, _, name = args.partition(" ")
    if not name.strip():
        ctx.reply("用法：改名 客户 新姓名，例如：改名 #12 张伟")
        return
    customer = resolve_customer(ctx, query)
    if customer is None:
        return
    try:
        before = rename_customer(session=ctx.session, actor=ctx.member, customer_id=customer.id or 0, name=name,
                                 at=ctx.now)
    except ValueError:
        ctx.reply("请只写客户的姓名（50 字以内，不要包含电话或邮箱），例如：改名 #12 张伟")
        return
    shown = for_viewer(before, owner_id=customer.owner_id, viewer_id=ctx.member.id)
    ctx.reply(f"已把 #{customer.id} 的姓名从「{shown}」改为「{customer.name}」。")


def on_followup(ctx: HandlerContext, args: str) -> None:
    query, _, note = args.partition(" ")
    if not note.strip():
        ctx.reply("用法：跟进 客户 内容，例如：跟进 张伟 电话沟通了报价，下周三再联系")
        return
    customer = resolve_customer(ctx, query)
    if customer is None:
        return
    ext = extract(
        note,
        ref_time=sent_at(ctx),
        tag_rules=tag_rules(ctx.settings.tags_file),
        rep_names=[ctx.member.display_name],
        products=ctx.settings.products,
    )
    draft = {"ext": ext_to_data(ext), "kind": "note", "text": note.strip(), "inbound_id": ctx.inbound.id}
    record(ctx, customer, draft, is_new=False)


def on_stage(ctx: HandlerContext, args: str) -> None:
    parts = args.split()
    if len(parts) < 2:
        ctx.reply("用法：阶段 客户 阶段，例如：阶段 张伟 需求确认")
        return
    customer = resolve_customer(ctx, " ".join(parts[:-1]))
    if customer is None:
        return
    target = parts[-1]
    evidence = confirmed_followups(session=ctx.session, customer_id=customer.id or 0)
    # The rules are checked by change_stage on the customer's row as it is now (locked): another
    # instance may have just moved it.
    change = change_stage(session=ctx.session, actor=ctx.member, customer=customer, stage=target, at=ctx.now,
                          check=lambda current: check_stage_change(current, target, evidence,
                                                                   ctx.settings.stage_evidence))
    if change.refused:
        # Recorded: the weekly report counts refused stage skips per rep.
        add_event(
            session=ctx.session,
            at=ctx.now,
            customer_id=customer.id or 0,
            actor_id=ctx.member.id,
            kind="stage_refused",
            summary=f"阶段变更被拒：{change.before} → {target}",
        )
        ctx.reply(
            f"不能把 {customer.name} 从「{change.before}」改为「{target}」：\n"
            + "\n".join(f"· {m}" for m in change.refused)
        )
        return
    announce_stage_entry(session=ctx.session, settings=ctx.settings, customer=customer, at=ctx.now)
    ctx.reply(f"已把 {customer.name} 的阶段从「{change.before}」改为「{target}」。")


def on_retry(ctx: HandlerContext, _args: str) -> None:
    count = requeue_failed_inbound(session=ctx.session, platform=ctx.inbound.platform, sender=ctx.inbound.sender)
    # Voice memos that could not be transcribed: their audio is kept, the job starts over.
    count += requeue_failed_transcriptions(session=ctx.session, member_id=ctx.member.id or 0)
    count += requeue_failed_ocr(session=ctx.session, member_id=ctx.member.id or 0)  # images/PDFs, file kept
    ctx.reply(f"已重新排队 {count} 条失败的消息，处理完会通知你。" if count else "没有需要重试的消息。")


def on_merge(ctx: HandlerContext, args: str) -> None:
    ids = [parse_id(a) for a in args.split()]
    kept_id, merged_id = (ids[0], ids[1]) if len(ids) == 2 else (None, None)
    if kept_id is None or merged_id is None:
        ctx.reply("用法：合并 保留的客户编号 被合并的客户编号，例如：合并 #12 #15")
        return
    try:
        audit = merge_customers(session=ctx.session, actor=ctx.member, kept_id=kept_id, merged_id=merged_id,
                                at=ctx.now)
    except PermissionDenied:
        ctx.reply("只有主管或管理员可以合并客户，且两位客户都需在你的权限范围内。")
        return
    except ValueError:
        ctx.reply("不能把客户合并到自己。")
        return
    ctx.reply(f"已把 #{merged_id} 合并到 #{kept_id}（合并记录 {audit.id}）。如需撤销，发送：撤销合并 {audit.id}")
    tell_merge_owners(ctx, audit, undone=False)


def on_unmerge(ctx: HandlerContext, args: str) -> None:
    merge_id = parse_id(args)
    if merge_id is None:
        ctx.reply("用法：撤销合并 合并记录编号")
        return
    try:
        audit = undo_merge(session=ctx.session, actor=ctx.member, merge_id=merge_id, at=ctx.now)
    except PermissionDenied:
        ctx.reply("只有主管或管理员可以撤销合并。")
        return
    except ValueError:
        ctx.reply(f"没有找到合并记录 {merge_id}，或它已被撤销。")
        return
    ctx.reply(f"已撤销合并 {audit.id}：#{audit.merged_id} 恢复为独立客户。")
    tell_merge_owners(ctx, audit, undone=True)


_HANDLERS = {
    "help": on_help,
    "cancel": on_cancel,
    "new": start_new_customer,
    "mine": on_mine,
    "find": on_find,
    "history": on_history,
    "rename": on_rename,
    "followup": on_followup,
    "stage": on_stage,
    "retry": on_retry,
    "merge": on_merge,
    "unmerge": on_unmerge,
    "week": on_week,
}
