"""Handler modules, registered in order in one place (first match wins)."""

from __future__ import annotations

from bot.context import HandlerContext
from bot.handlers import (
    anomalies,
    card_actions,
    card_edit,
    chat_capture,
    commands,
    conversation,
    evidence,
    leads,
    limits,
    other,
    playbook,
    postvisit,
    promise_actions,
    renewal,
    supervision,
    visit,
    voice_memo,
)
from bot.handlers.help_text import help_for
from bot.router import Dispatcher


def _fallback(ctx: HandlerContext) -> None:
    ctx.reply("没看懂这条消息。\n" + help_for(ctx.member.role))


def build_dispatcher() -> Dispatcher:
    return Dispatcher(
        routers=[
            limits.router,  # the text length cap holds for commands and answers too
            supervision.router,  # push-card taps, snooze reasons and 免填 before generic handlers
            playbook.router,  # 已接手, 批准/驳回 (and its reason), 继续跟进/放回公海
            leads.router,  # lead card taps and 认领/退回/公海/转给/分配原因, before generic card actions
            postvisit.router,  # 今天没去 / 改约 on the post-visit card, and 改约's new time
            anomalies.router,  # anomaly review taps (没问题 / 退回给销售 / 已改正), before generic card actions
            promise_actions.router,  # ledger taps (pkeep/pdrop/pdone/pdelay) before generic card actions
            card_actions.router,
            voice_memo.router,
            evidence.router,  # images and PDFs become OCR jobs; other files fall through to other.py
            card_edit.router,  # before commands: 「阶段 需求确认」 fixes the card, 「改 #记录号 …」, 改约's answer
            visit.router,  # before commands: owns the 拜访 command
            renewal.router,  # 续约 [客户] 日期
            commands.router,
            other.router,  # attachments, platform events, and "which customer?" for an attachment
            conversation.router,  # an open question takes the next plain text
            chat_capture.router,
        ],
        fallback=_fallback,
    )
