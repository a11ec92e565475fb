"""on_chat_capture: a pasted/forwarded chat or a note becomes a follow-up record and a card."""

from __future__ import annotations

import unicodedata

from bot.context import HandlerContext
from bot.extract import tag_rules
from bot.handlers.flow import awaits_postvisit_answer, capture, sent_at, tag_weights, team_exemplars
from bot.handlers.pending import drop_pending_question
from bot.router import Router
from bot.understanding.text import understand_text

router = Router("chat_capture")


def _is_text(ctx: HandlerContext) -> bool:
    return ctx.inbound.kind == "text"


def has_words(text: str) -> bool:
    """Letters or digits, not only emoji/punctuation/control characters."""
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


@router.on(_is_text)
def on_chat_capture(ctx: HandlerContext) -> None:
    text = ctx.text
    drop_pending_question(ctx)  # an open question's filter refused this text: it is a record of its own
    if not text:
        ctx.reply("收到一条空消息。粘贴和客户的聊天记录或写一段跟进笔记发给我即可；发送「帮助」查看用法。")
        return
    if not has_words(text) or "\x00" in text or "\ufffd" in text:
        ctx.reply("没有看到文字内容。请粘贴聊天记录或写一段跟进笔记；发送「帮助」查看用法。")
        return
    ext = understand_text(text, sent_at=sent_at(ctx), tag_rules=tag_rules(ctx.settings.tags_file),
                          rep_names=[ctx.member.display_name], products=ctx.settings.products,
                          tag_weights=tag_weights(ctx), team_exemplars=team_exemplars(ctx),
                          learned=ctx.settings.learned_layer)
    if ext.is_empty() and not awaits_postvisit_answer(ctx):
        ctx.reply("没有从这段话里找到客户、标签、金额或时间。请粘贴和客户的聊天记录，"
                  "或发送「帮助」查看用法。")
        return
    capture(ctx, ext, kind="chat", text=text)
