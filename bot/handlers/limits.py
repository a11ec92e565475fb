"""on_too_long: a text over `max_text_chars` is answered before any handler reads it.

The cap used to live in chat capture only, so a command (查, 跟进, 新客户 answers ...) carried
100k characters into searches and extraction. Registered first, it holds for every text path.
"""

from __future__ import annotations

from bot.context import HandlerContext
from bot.router import Router

router = Router("limits")


def _is_too_long(ctx: HandlerContext) -> bool:
    return ctx.inbound.kind == "text" and len(ctx.text) > ctx.settings.max_text_chars


@router.on(_is_too_long)
def on_too_long(ctx: HandlerContext) -> None:
    ctx.reply(f"消息太长（{len(ctx.text)} 字，上限 {ctx.settings.max_text_chars} 字）。请分段发送，"
              "或只粘贴和这位客户相关的部分。")
