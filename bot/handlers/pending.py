"""A pending question must not eat a record: what an answer looks like, and what happens to a
message that is a chat paste or a note of its own (processed as a new record; the question is
dropped with a short note).

A rep answers 「这条记录是跟哪位客户的？」 with a name, 新客户's questions with a short value, a snooze
question with a few words. A pasted chat (several lines, sender headers), a long note, or a sentence
with findings in it is none of those.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.context import HandlerContext
from bot.handlers.command_words import parse_command
from store.conversations import clear_conversation, get_conversation

DROPPED_NOTE = "上一个问题已取消，这条消息按新记录处理。"
# Conversation states that are questions answered by text; dup_choice is answered by a tap. Other
# states (a supervisor's lead_focus) are memory, not questions, and are not dropped.
TEXT_QUESTIONS = ("new_customer", "await_customer", "redate", "visit_time", "snooze_reason", "await_attachment",
                  "reject_reason")
QUESTIONS = (*TEXT_QUESTIONS, "dup_choice")
MAX_ANSWER_CHARS = 40
MAX_NAME_CHARS = 20
# Sentence punctuation and clause words do not occur in a customer's name ("王总", "#12", "Zhang Wei").
_NOT_IN_NAME = re.compile(r"[，。！？!?,;；、…]|说|觉得|想要|需要|报价|价格|太贵|演示|合同|下周|明天|今天")
_HEADER = re.compile(r"^\S{1,20}[ \u3000]+(?:\d{1,4}[/-]\d{1,2}(?:[/-]\d{1,2})?[ \u3000]+)?\d{1,2}:\d{2}")


def is_new_record(text: str) -> bool:
    """A chat paste or a note: more than one line, a sender/timestamp header, or long."""
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) > 1 or len(text.strip()) > MAX_ANSWER_CHARS or bool(_HEADER.match(text.strip()))


def looks_like_name(text: str) -> bool:
    """A short name or #id, not a sentence about the customer."""
    text = text.strip()
    if text.startswith("#") and text[1:].isdigit():
        return True
    return 0 < len(text) <= MAX_NAME_CHARS and not is_new_record(text) and not _NOT_IN_NAME.search(text)


def drop_pending_question(ctx: HandlerContext) -> None:
    """A text that reached record capture while a question was open was not its answer (the
    question's filter refused it): drop the question and say so before the record's card."""
    conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    if conv is None or conv.state not in QUESTIONS:
        return
    clear_conversation(session=ctx.session, member_id=ctx.member.id or 0)
    ctx.reply(DROPPED_NOTE)


def awaits_text_answer(state: str) -> Callable[[HandlerContext], bool]:
    """A router filter: this text message answers the open question `state`. A command (取消 too)
    is not an answer, nor is a record of its own (is_new_record): it goes on to capture, which drops
    the question."""

    def awaits(ctx: HandlerContext) -> bool:
        if ctx.inbound.kind != "text" or parse_command(ctx.text) is not None or is_new_record(ctx.text):
            return False
        conv = get_conversation(session=ctx.session, member_id=ctx.member.id or 0)
        return conv is not None and conv.state == state

    return awaits
