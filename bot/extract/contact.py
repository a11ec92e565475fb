"""Pick the next planned contact (visit, meeting, call, reply) among the time expressions of a text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from .textnorm import clause_around, sentence_around
from .when import SHANGHAI, TimeMention

# A date counts as next contact only near words of meeting or talking to the customer. Dates next to
# payment, document or quote words are deadlines, which the README excludes.
_CONTACT = re.compile(
    "约|拜访|过去|过来|去一趟|走一趟|再去|来我们|来公司|来我司|去他们|去她们|去你们|去贵司|我去|上门|见面|当面|点见|开会|会议|聊|谈|"
    "电话|回访|回复|答复|确认|联系|沟通|跟进|演示|打给|碰|面谈|到店|找您|通知您|给您|再过|启动会|参观|(?<!意)见(?!解)|"
    # a meeting rescheduled, attended, held online or at a named meeting ("改到下周一吧", "准时参加",
    # "用Zoom", "开评审会"), the customer asking the rep over ("你来一趟", "这周五上午来吧")
    "改到|改成|改约|换到|参加|出席|zoom|teams|腾讯会议|线上|来一趟|来吧|去讲|来讲|给(?:我们|我|您)个?意见|"
    # an on-site visit or an online meeting said another way ("到工地", "回店里", "开个线上会", "发邀请")
    "到(?:工地|现场|厂|店|仓库|库里)|回(?:店|厂)|店里等|线上会|视频会|开个会|复盘会|邀请|回话|准话|给我个?(?:信|消息)"
)
_DEADLINE = re.compile(
    "付款|打款|到账|回款|转账|汇款|发票|开票|报价|提交|截止|交付|交货|发货|到货|盖章|签字|加班|弄完|做完|"
    "上线|打过来|寄|快递|完成|发给|发您|发过去|发送|"
    # documents handed over by a date are deadlines too ("我周三前给您一个新方案")
    "(?:给|发|交|提供|准备|出)[^，,。；;\n]{0,10}(?:方案|资料|材料|报告|清单|明细)"
)
# A date proposed as a question or taken up in a chat ("下周二下午两点可以吗？", "周四下午吧") is a
# time being agreed for a meeting or a call: Chinese sales chat proposes times this way, while a
# deadline names what is due ("报价周五前给您可以吗" still reads as a deadline).
_PROPOSAL = re.compile(r"(?:可以吗|可以不|方便吗|行吗|好吗|行不行|可不可以|怎么样|如何)\s*[？?]?|吧\s*[。！!？?]?$")
_EVENT = re.compile(r"会|活动|展|典礼|仪式")
# The customer's own meeting ("他们内部先开会") is not a contact with the rep.
_INTERNAL = re.compile(r"内部")
# A proposal is agreed when the other side takes it up in the next turn ("可以", "行", "OK"; the chat's
# header lines are gone from the joined text, so the next line is the reply).
_TAKEN_UP = re.compile(r"^[^\n]*\n[^\n]{0,12}?(?<!不)(?<!不太)(?:好|可以|行|没问题|ok|sure|yes|就这么定)", re.I)

_SENT_THINGS = re.compile("(?:发|寄|传|转|报|打)(?:过去|过来)")
_MEETING = re.compile(
    "约|拜访|过去|过来|上门|见面|当面|开会|面谈|碰|我去|去他们|去她们|去你们|去贵司|来我们|来公司|去一趟"
)


# When a part of the day begins: "今天下午" said at noon is still ahead even without a clock time.
_PERIOD_STARTS = (("下午", 13), ("傍晚", 17), ("晚上", 18), ("今晚", 18))


def is_future(mention: TimeMention, ref_time: datetime) -> bool:
    ref = ref_time.astimezone(SHANGHAI)
    if mention.when.date() > ref.date():
        return True
    if mention.when.date() != ref.date():
        return False
    if mention.has_time:
        return mention.when > ref
    return any(word in mention.text and ref.hour < hour for word, hour in _PERIOD_STARTS)


def _context_ok(text: str, mention: TimeMention) -> bool:
    raw_clause = clause_around(text, mention.start, mention.end)
    clause = raw_clause.replace(mention.text, " ")
    clause = _SENT_THINGS.sub("发送", clause)  # "报价发过去" is a document travelling, not a visit
    if _INTERNAL.search(clause) and not _MEETING.search(clause.replace("开会", "")):
        return False
    contact, deadline = _CONTACT.search(clause), _DEADLINE.search(clause)
    proposal = _PROPOSAL.search(raw_clause[raw_clause.find(mention.text) :])
    if not contact and not deadline and proposal:
        # A question needs the other side's yes; "…吧" is a counter-offer or an agreement already.
        return proposal.group().startswith("吧") or bool(_TAKEN_UP.search(text[mention.end :]))
    if contact and deadline:
        # "周五前把报价发您确认一下" is a deadline; "周五过去顺便把发票带上" is a visit.
        return bool(_MEETING.search(clause))
    if contact or deadline:
        return bool(contact)
    # A date clause with no word of either kind ("这周五下午三点吧，来我们公司", "下周三我们要开评审会，请你们
    # 派人参加") takes its meaning from the clauses around it in its sentence.
    before = clause_around(text, max(0, mention.start - 2), max(0, mention.start - 1))
    after = clause_around(text, mention.end + 1, mention.end + 2)
    if _EVENT.search(clause):
        # the clause names an event whose invitation follows ("…开评审会，请你们派人参加")
        clause_end = text.find(raw_clause, max(0, mention.start - len(raw_clause))) + len(raw_clause)
        after = clause_around(text, clause_end + 1, clause_end + 2)
    sentence = sentence_around(text, mention.start, mention.end)
    neighbours = " ".join(c for c in (before, after) if c in sentence and mention.text not in c)
    return bool(_CONTACT.search(neighbours)) and not _DEADLINE.search(neighbours)


# Right after a date, in its clause: the day does not suit ("周四不太行", "明天我不在店里", "那天有个会").
_DECLINED = re.compile(
    r"^[^，,。；;！？!?\n]{0,6}?(?:(?<!行)不行|不太行|不方便|不太方便|没空|没时间|不在|有事|出差|在外地|去不了|来不了|走不开|排满|"
    r"(?:我|他|她)?有(?:个|台)?(?:手术|课)|"
    r"有个?[^，,。；;！？!?\n]{0,4}(?:会|团|活动|安排))"
)


def _declined(text: str, mention: TimeMention) -> bool:
    return bool(_DECLINED.search(text[mention.end : mention.end + 16]))


def next_contact(text: str, mentions: Sequence[TimeMention], ref_time: datetime) -> TimeMention | None:
    """The earliest future mention that is framed as contact with the customer. A day someone says
    does not suit is dropped wherever it was proposed ("我周四过去？" — "周四不太行，下周一吧")."""
    refused = [m for m in mentions if _declined(text, m)]
    declined = {m.when.date() for m in refused}
    # The day offered instead, right after the refusal ("周三不在，周四下午吧"), is the agreed contact.
    counters = {
        id(m) for m in mentions for r in refused
        if 0 < m.start - r.end <= 20 and not _DEADLINE.search(clause_around(text, m.start, m.end))
    }
    accepted = [
        m for m in mentions
        if is_future(m, ref_time) and m.when.date() not in declined and (id(m) in counters or _context_ok(text, m))
    ]
    if not accepted:
        return None
    # Prefer an explicit clock time when two mentions fall on the same day ("周五" ... "周五下午三点见").
    return min(accepted, key=lambda m: (m.when.date(), not m.has_time, m.start))
