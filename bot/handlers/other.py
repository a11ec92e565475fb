"""on_other_message: images, links and events have no handler yet; say so, keep the raw row."""

from __future__ import annotations

from bot.context import HandlerContext
from bot.router import Router

router = Router("other")


@router.on(lambda ctx: ctx.inbound.kind in ("image", "link", "event"))
def on_other_message(ctx: HandlerContext) -> None:
    if ctx.inbound.kind == "event":
        return  # platform events (enter chat, subscribe) need no answer
    ctx.reply("已收到。目前我能整理文字聊天记录和语音，图片和链接已保存，暂不自动识别。")
