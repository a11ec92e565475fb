"""Promises in a chat or memo ("周五前把报价发您", "我们月底前走完审批", "今晚发您资料"): who promised,
what, to whom and by when, resolved against the message's send time.

Dates go through the same parser as the next contact (bot/extract/when.py); only the vague periods
a promise uses and a next contact never does ("下周给您回复", "这周内", "3天内") are read here. Who
promised comes from the chat's speaker lines (bot/extract/chat.py); in a memo (no speakers) it is
the rep unless the sentence names the customer as the one who will act ("王总说下周给我们回复").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .chat import split_chat
from .people import customer_speaker, is_rep
from .textnorm import normalize_text
from .when import SHANGHAI, find_time_mentions

MAX_PER_MESSAGE = 5
_SENTENCE = re.compile(r"[^。！？!?\n；;]+")
_CLAUSE = re.compile(r"[^，,、]+")
# What a promise does: send, reply, confirm, finish, arrange ... (a date alone is no promise).
_COMMIT = re.compile(
    r"发|给您|给你|给我|给他|给她|回复|答复|回您|回你|回个话|确认|走完|办完|搞定|完成|弄好|做好|安排|提供|寄|送|报价"
    r"|签|付款|打款|回款|反馈|准备|落实|批下来|定下来|出方案|出报价|更新|修改|补|交"
)
# A question or a request is not a promise; a meeting is a visit (拜访), not a promise.
_NOT_PROMISE = re.compile(r"[吗？?]|能不能|可不可以|是否|拜访|见面|开会|会议|面谈|上门|过来聊|聊聊|约了|约在")
_PAST = re.compile(r"已经|已|了$|过了|昨天|上周|前天")
# In a memo, the sentence names the customer as the one who will act.
_CUSTOMER_CUE = re.compile(
    r"^(?:客户|对方|他们|他|她|[\u4e00-\u9fff]{1,3}(?:总|经理|主任|老师|部长|处长|科长|姐|哥|女士|先生)|[A-Za-z]+)"
    r"(?![您你，,\s])(?:那边|这边|方面)?(?:说|答应|表示|承诺|讲|保证|同意|会|打算|计划|争取|回复说)?"
)
_TO_CUSTOMER = re.compile(r"[您你]|给客户|发给他|发给她|给他们")
_TO_REP = re.compile(r"给我|给我们|发我|回复我|通知我|告诉我")
_LEAD_WORDS = re.compile(
    r"^(?:好的|好|行|可以|没问题|嗯|那|那就|就|我们|我方|我司|我|他们|他|她|这边|那边|会|争取|尽量|一定|保证|答应)+"
)
_EVENING = "晚"
# Vague periods a promise uses: "下周给您回复" (by the end of next week's Friday), "这周内", "3天内".
_VAGUE = re.compile(r"(?P<week>下周|下个?星期|下个?礼拜|这周|本周|这个?星期|这个?礼拜)"
                    r"(?![一二三四五六日天末1-7])(?:内|之内|前)?"
                    r"|(?P<days>[0-9一二两三四五六七八九十]{1,2})天(?:内|之内)")
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


@dataclass(frozen=True)
class FoundPromise:
    promiser: str  # "rep" or "customer"
    promiser_name: str
    promisee_name: str
    what: str
    due_text: str
    due_at: datetime  # Asia/Shanghai
    has_time: bool
    source: str  # the sentence it was said in


def find_promises(
    text: str,
    *,
    sent_at: datetime,
    rep_name: str,
    customer_name: str | None = None,
    day_end: time = time(18, 0),
    evening: time = time(22, 0),
) -> list[FoundPromise]:
    """Every promise in `text` with a due time after `sent_at` (a date-only promise is due at the
    end of that working day, `day_end`; "今晚" at `evening`)."""
    sent = sent_at.astimezone(SHANGHAI)
    turns = split_chat(normalize_text(text))
    customer = customer_speaker(turns, [rep_name]) if any(t.speaker for t in turns) else None
    found: list[FoundPromise] = []
    for turn in turns:
        if turn.speaker is None:
            side: str | None = None  # a memo line: decided per sentence
        elif customer is not None and turn.speaker == customer and not is_rep(turn.speaker, [rep_name]):
            side = "customer"
        else:
            side = "rep"
        for sentence in _SENTENCE.findall(turn.text):
            for who, clause, due_text, due_at, has_time in _in_sentence(sentence.strip(), side, sent, day_end,
                                                                        evening):
                if who == "rep":
                    names = (rep_name, customer or customer_name or "客户")
                else:
                    names = (turn.speaker or customer or customer_name or "客户", rep_name)
                found.append(FoundPromise(who, names[0], names[1], _what(clause, due_text), due_text, due_at,
                                          has_time, sentence.strip()[:200]))
                if len(found) >= MAX_PER_MESSAGE:
                    return found
    return found


def _in_sentence(sentence: str, side: str | None, sent: datetime, day_end: time,
                 evening: time) -> list[tuple[str, str, str, datetime, bool]]:
    if not sentence or _NOT_PROMISE.search(sentence):
        return []
    found = []
    for clause in (c.strip() for c in _CLAUSE.findall(sentence)):
        if not _COMMIT.search(clause) or _PAST.search(clause):
            continue
        due = _due(clause, sent, day_end, evening)
        if due is not None:
            found.append((side or _memo_side(sentence, clause), _CUSTOMER_CUE.sub("", clause, count=1), *due))
    return found


def _memo_side(sentence: str, clause: str) -> str:
    """A memo is the rep's own note: its promises are the rep's unless the customer is named as the
    one acting ("客户说月底前走完审批", "王总下周给我们回复")."""
    if _TO_CUSTOMER.search(clause):
        return "rep"
    if _CUSTOMER_CUE.search(sentence) or _TO_REP.search(clause):
        return "customer"
    return "rep"


def _due(clause: str, sent: datetime, day_end: time, evening: time) -> tuple[str, datetime, bool] | None:
    for mention in find_time_mentions(clause, ref_time=sent):
        if mention.has_time:
            due = mention.when
        else:
            due = datetime.combine(mention.when.date(), evening if _EVENING in mention.text else day_end, SHANGHAI)
        if due > sent:
            return mention.text, due, mention.has_time
    vague = _VAGUE.search(clause)
    if vague is None:
        return None
    day = _vague_day(vague, sent.date())
    if day is None:
        return None
    due = datetime.combine(day, day_end, SHANGHAI)
    return (vague.group(0), due, False) if due > sent else None


def _vague_day(match: re.Match[str], today: date) -> date | None:
    if match.group("week"):
        friday = today + timedelta(days=4 - today.weekday())
        if match.group("week").startswith("下"):
            return friday + timedelta(days=7)
        return friday if friday >= today else today  # said at the weekend: today
    raw = match.group("days")
    n = int(raw) if raw.isdigit() else _cn_number(raw)
    return today + timedelta(days=n) if n and 0 < n <= 60 else None


def _cn_number(raw: str) -> int:
    if raw == "十":
        return 10
    if raw.startswith("十"):
        return 10 + _CN_DIGITS.get(raw[1:], 0)
    return _CN_DIGITS.get(raw, 0)


def _what(clause: str, due_text: str) -> str:
    """The promised action without its deadline and lead words: "周五前把报价发您" -> "把报价发您"."""
    rest = clause.replace(due_text, "", 1).strip(" ，,。的之前")
    rest = _LEAD_WORDS.sub("", rest).strip(" ，,。")
    return (rest or clause)[:60]
