"""on_voice_memo: the audio is already stored by the adapter; transcription is not built yet, so
the memo is kept (inbox row deferred, audio on disk) and the rep is told so plainly."""

from __future__ import annotations

from bot.context import HandlerContext
from bot.router import Router
from store.models import InboxStatus

router = Router("voice_memo")


@router.on(lambda ctx: ctx.inbound.kind == "voice")
def on_voice_memo(ctx: HandlerContext) -> None:
    if not ctx.inbound.media_ref:
        ctx.reply("没有收到语音文件，请重新发送。")
        return
    ctx.inbound.status = InboxStatus.DEFERRED
    ctx.inbound.error = "awaiting transcription"
    ctx.session.add(ctx.inbound)
    ctx.reply("语音已保存。自动转写功能还在开发中，暂时请把要点用文字发给我；这条录音不会丢失，"
              "转写上线后会自动处理。")
