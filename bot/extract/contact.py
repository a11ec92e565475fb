"""Pick the next planned contact (visit, meeting, call, reply) among the time expressions of a text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from .textnorm import clause_around
from .when import SHANGHAI, TimeMention, as_mandarin, mentions_time

# Places a visit goes to. Sites that are the customer's by nature count alone ("去厂区看看", "到工地");
# places every side has (a company, an office, a warehouse) only with whose they are ("去他们公司",
# "来我们仓库"): the rep's own "明天去仓库盘点" is no contact.
_SITE = "厂区|厂里|工厂|车间|工地|现场|项目部|门店|店里|总店|分店|学校|医院|库里|农场|基地|园区|酒店|合作社|科室|病区"
_PLACE = f"{_SITE}|公司|办公室|总部|仓库|机房|会议室|营业部|展厅|实验室|单位|家里"
_WHOSE = "您|你|你们|您们|他们|她们|贵司|贵公司|我们|我司|客户"
# A date counts as next contact only near words of meeting or talking to the customer. Dates next to
# payment, document or quote words are deadlines, which the README excludes.
_CONTACT = re.compile(
    # 约 as in 约见/约个时间, not 签约, 合约, 大约, 违约 or 续约
    "(?<![签合大节制契条违履续])约|拜访|过去|过来|去一趟|走一趟|再去|来我们|来公司|来我司|去他们|去她们|去你们|去贵司|我去|上门|见面|当面|点见|开会|会议|聊|谈|"
    "电话|回访|回复|答复|确认|联系|沟通|跟进|演示|示范|打给|碰|面谈|到店|找您|通知您|再过|启动会|参观|(?<!意)见(?!解)|"
    # a call or a reply to the customer ("我再打过去", "下午给您回", "给我们一个说法"); a bare 给您 hands
    # something over ("周五前给您", "给您查清楚") and is not contact by itself
    "打(?:过去|过来|回去)|(?:给|跟)(?:您|你|我们|我)回|回(?:您|你|我)(?![家去来])|"
    "给(?:我们|我|您|你们|你|他们|她们|他|她)[^，,。；;\\n]{0,6}?(?:意见|答复|回复|说法|结果|准信|消息|回话|答案|反馈|回音|准确时间)|"
    # a visit to a place of the customer's or ours ("到您厂里", "去厂区看看", "在他们办公室给团队讲一下")
    f"(?:去|到|来|过来|过去|上来|上门)(?:(?:{_WHOSE})(?:的|那边|这边)?(?:{_PLACE})|(?:{_SITE}))|"
    f"在(?:{_WHOSE})的?(?:{_PLACE})|"
    # the rep going over to do something there ("我们下周四就能去装", "我带工程师去看看", "我们俩都要去")
    "去(?:装|安装|调试|培训|换|维修|修|检修|巡检|测|量|勘|看看|看一下|讲)|(?:都|也|一起)(?:要|会|得)?去(?![年世掉除])|"
    # a presentation to the customer's people ("给采购部和IT一起讲一下")
    "给[^，,。；;\\n]{1,10}?(?:讲|介绍|汇报|培训)|"
    # a meeting rescheduled, attended, held online or at a named meeting ("改到下周一吧", "准时参加",
    # "用Zoom", "开评审会"), the customer asking the rep over ("你来一趟", "这周五上午来吧")
    "改到|改成|改约|换到|推迟[至到]|延期[至到]|延[至到]|提前[至到]|参加|出席|派人|(?i:zoom|teams)|腾讯会议|线上|来一趟|来吧|去讲|来讲|给(?:我们|我|您)个?意见|"
    # an on-site visit or an online meeting said another way ("到工地", "回店里", "开个线上会", "发邀请")
    "到(?:工地|现场|厂|店|仓库|库里)|回(?:店|厂)|"
    # the same in English ("have a call on Thursday", "meet next Tuesday")
    "(?i:\\bcall\\b|\\bmeet|\\bvisit|\\bdemo\\b|\\bchat\\b|\\btalk\\b|catch up|come over|drop by|see you)|"
    "店里等|线上会|视频会|开个会|复盘会|发[^，,。；;\n]{0,8}邀请|会议邀请|回话|准话|给我个?(?:信|消息)|"
    # an event fixed on a day ("培训时间定在下周二上午", "复核排在周五下午"), signing in person
    # ("下周一来签"), the rep's people arriving on site ("样机下周三进场调试", "那天我们都到场")
    "定在|排在|定于|来签|去签|过来签|当面签|进场|到场"
)
_DEADLINE = re.compile(
    "付款|打款|到账|回款|转账|汇款|发票|开票|报价|提交|截止|交付|交货|发货|到货|盖章|签字|加班|弄完|做完|"
    "上线|打过来|打过去|寄|(?i:quot|invoice|payment|\\bpay\\b|\\bsend\\b|deliver)|快递|完成|发给|发您|发过去|发送|(?<!条)款(?!式)|押金|定金|订金|"
    # a figure asked for by a day ("下周三之前给我一个数") is a quote
    "(?:给|报|出)[^，,。；;\n]{0,4}个(?:数|价)|"
    # documents handed over by a date are deadlines too ("我周三前给您一个新方案", "资料周一前给您"), but
    # not a plan talked through ("给您电话说一下改进方案")
    "(?:给|发|交|提供|准备|出)[^，,。；;\n说讲聊谈介绍]{0,10}(?:方案|资料|材料|报告|清单|明细)|"
    "(?:方案|资料|材料|报告|清单|明细|样品)[^，,。；;\n]{0,8}(?:给|发|交|寄|送)"
)
# A date proposed as a question or taken up in a chat ("下周二下午两点可以吗？", "周四下午吧") is a
# time being agreed for a meeting or a call: Chinese sales chat proposes times this way, while a
# deadline names what is due ("报价周五前给您可以吗" still reads as a deadline).
_PROPOSAL = re.compile(r"(?:可以吗|可以不|方便吗|行吗|好吗|行不行|可不可以|怎么样|如何)\s*[？?]?|吧\s*[。！!？?]?$")
# The customer's own meeting ("他们内部先开会", "采购委员会开会") is not a contact with the rep, unless the
# next clause invites us to it ("…开评审会，让我们去讲方案").
_INTERNAL = re.compile(r"内部|委员会|董事会|他们(?:自己)?(?:先|要|会|再)?开(?:个)?会")
_INVITED = re.compile(r"(?:让|请|叫|邀请)(?:我们|你们|您|你|我)")
# Two days offered as alternatives ("下周三下午或周四上午都可以") are not agreed until one is chosen.
_ALTERNATIVES = re.compile(r"或(?!许)者?|还是")
# A proposal is agreed when the other side takes it up in the next turn ("可以", "行", "OK"; the chat's
# header lines are gone from the joined text, so the next line is the reply).
_TAKEN_UP = re.compile(r"^[^\n]*\n[^\n]{0,12}?(?<!不)(?<!不太)(?:好|可以|行|没问题|ok|sure|yes|就这么定)", re.I)

# Things sent over ("报价发过去", "款周四打过来"); 打过去 is a call only as "再打过去" or "打过去问问".
_SENT_THINGS = re.compile("(?:发|寄|传|转|报)(?:过去|过来)|(?<![再我])打(?:过去|过来)(?![问聊说谈确认沟通])")
# Goods brought over by a day ("下周一之前把新货送过去") are a delivery deadline; brought over on a day
# ("下礼拜一我把设备送过去") the rep goes there.
_DELIVERED = re.compile("送(?:过去|过来|到)")
_MEETING = re.compile(
    "约|拜访|过去|过来|上门|见面|当面|开会|面谈|碰|我去|去他们|去她们|去你们|去贵司|来我们|来公司|去一趟"
)


# When a part of the day begins: "今天下午" said at noon is still ahead even without a clock time.
_PERIOD_STARTS = (("中午", 12), ("下午", 13), ("傍晚", 17), ("晚上", 18), ("今晚", 18), ("下班", 18))


def is_future(mention: TimeMention, ref_time: datetime) -> bool:
    ref = ref_time.astimezone(SHANGHAI)
    if mention.when.date() > ref.date():
        return True
    if mention.when.date() != ref.date():
        return False
    if mention.has_time:
        return mention.when > ref
    return any(word in mention.text and ref.hour < hour for word, hour in _PERIOD_STARTS)


# A time followed only by arriving ("好的，下周三上午到", "九点准时到") is a visit being confirmed.
_ARRIVAL = re.compile(r"^\s*(?:准时|按时|就|能|会|一定)?(?:到|过来|过去|上门)\s*$")
# ... said by the person coming, with nothing before the time but a yes or a pronoun (not "顺丰明天到").
_ARRIVAL_LEAD = re.compile(r"^\s*(?:好的?|行|可以|没问题|那|那就)?\s*(?:我|我们|我们的人)?\s*$")
# A day inside a condition ("下周一还不稳定的话就找领导谈", "如果方便的话今天下午电话聊") is not a plan
# unless the other side takes it up.
_CONDITION = re.compile(r"的话|如果|(?<![主只就])要是|假如|万一")
# A time without a day in a clause told in the perfective ("下午给马总打了电话") is what happened today.
_PERFECTIVE = re.compile(r"(?<![为除约定好排])了(?!解)")  # "约了下午三点" arranges what is ahead
# textnorm.clause_around stops its search at the span, so it misses a voice pause right before a date;
# this module splits clauses itself.
_CLAUSE_END = re.compile(r"[，,；;。！？!?\n~]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_HARD_END = re.compile(r"[。！？!?\n]")
_REACH = 300  # bounded look-around keeps this O(reach) per mention on long pastes


def _clauses(text: str, start: int, end: int) -> tuple[str, str, str, str]:
    """(clause without the mention, clause from the mention on, previous clause, next clause) for
    text[start:end]. Voice memos mark clauses with pauses (spaces); a pause right before the mention ends
    the clause before it too. Neighbours are taken within the sentence only."""
    lo, hi = max(0, start - _REACH), min(len(text), end + _REACH)
    bounds = [(lo + m.start(), lo + m.end()) for m in _CLAUSE_END.finditer(text[lo:hi])]
    bounds = [(a, b) for a, b in bounds if b <= start or a >= end]
    left_bounds = [(a, b) for a, b in bounds if b <= start]
    right_bounds = [(a, b) for a, b in bounds if a >= end]
    left = left_bounds[-1][1] if left_bounds else lo
    right = right_bounds[0][0] if right_bounds else hi
    previous = following = ""
    if left_bounds and not _HARD_END.search(text, left_bounds[-1][0], left_bounds[-1][1]):
        prev_left = left_bounds[-2][1] if len(left_bounds) > 1 else lo
        previous = text[prev_left : left_bounds[-1][0]]
    if right_bounds and not _HARD_END.search(text, right_bounds[0][0], right_bounds[0][1]):
        next_right = right_bounds[1][0] if len(right_bounds) > 1 else hi
        following = text[right_bounds[0][1] : next_right]
    return text[left:start] + " " + text[end:right], text[start:right], previous, following


def _context_ok(text: str, mention: TimeMention) -> bool:
    clause, from_mention, before, after = _clauses(text, mention.start, mention.end)
    clause = _SENT_THINGS.sub("发送", clause)  # "报价发过去" is a document travelling, not a visit
    if mention.text.endswith("前"):
        clause = _DELIVERED.sub("发送", clause)
    if _INTERNAL.search(clause) and not _MEETING.search(clause.replace("开会", "")):
        return bool(_INVITED.search(after) and _CONTACT.search(after))
    if _ALTERNATIVES.search(clause) and mentions_time(clause) and not _TAKEN_UP.search(text[mention.end :]):
        return False
    if _CONDITION.search(clause) and not _TAKEN_UP.search(text[mention.end :]):
        return False
    if mention.dayless and _PERFECTIVE.search(clause):
        return False
    lead = clause[: clause.find(" ")] if " " in clause else clause
    arrival = _ARRIVAL.match(from_mention[mention.end - mention.start :]) and _ARRIVAL_LEAD.match(lead)
    contact, deadline = _CONTACT.search(clause) or arrival, _DEADLINE.search(clause)
    proposal = _PROPOSAL.search(from_mention)
    if not contact and not deadline and proposal:
        # A question needs the other side's yes; "…吧" is a counter-offer or an agreement already.
        return proposal.group().startswith("吧") or bool(_TAKEN_UP.search(text[mention.end :]))
    if contact and deadline:
        # "周五前把报价发您确认一下" is a deadline; "周五过去顺便把发票带上" is a visit.
        return bool(_MEETING.search(clause))
    if contact or deadline:
        return bool(contact)
    # A date clause with no word of either kind ("这周五下午三点吧，来我们公司", "下周三我们要开评审会，请你们
    # 派人参加", "他下周二上午有空 你们过来") takes its meaning from the clauses next to it in its sentence.
    # A neighbour with a date of its own speaks about that date ("周四前修复，周五上午我过去").
    neighbours = _SENT_THINGS.sub("发送", " ".join(c for c in (before, after) if not mentions_time(c)))
    return bool(_CONTACT.search(neighbours)) and not _DEADLINE.search(neighbours)


# Right after a date, in its clause: the day does not suit ("周四不太行", "明天我不在店里", "那天有个会").
_DECLINED = re.compile(
    r"^[^，,。；;！？!?\n]{0,6}?(?:(?<!行)不行|不太行|不方便|不太方便|没空|没时间|不在|有事|出差|在外地|去不了|来不了|走不开|排满|"
    r"(?:我|他|她)?有(?:个|台)?(?:手术|课)|"
    r"有个?[^，,。；;！？!?\n]{0,4}(?:会|团|活动|安排))"
)


# A day moved to another ("原定11月3日的开标时间推迟至11月10日", "周三改到周五") no longer holds.
_MOVED = re.compile(r"改到|改成|改约到?|换到|挪到|推迟[至到]|延期[至到]|延[至到]|提前[至到]")
_MOVE_REACH = 24


def _moved(text: str, mention: TimeMention, mentions: Sequence[TimeMention]) -> bool:
    later = [m for m in mentions if 0 <= m.start - mention.end <= _MOVE_REACH]
    return bool(later) and bool(_MOVED.search(text, mention.end, later[0].start))


# A day something starts from ("明天开始挨个电话回访", "试运行周三开始", "下周一起全厂换新排班") opens a period of
# work or a new rule ("下周一以后" likewise: an open period); it is not an appointment with the customer.
_STARTS = re.compile(r"\s*(?:开始|起(?![来草])|以后|之后)")


def _declined(text: str, mention: TimeMention) -> bool:
    return bool(_DECLINED.search(text[mention.end : mention.end + 16]))


def next_contact(text: str, mentions: Sequence[TimeMention], ref_time: datetime) -> TimeMention | None:
    """The earliest future mention that is framed as contact with the customer. A day someone says
    does not suit is dropped wherever it was proposed ("我周四过去？" — "周四不太行，下周一吧")."""
    text = as_mandarin(text)  # Cantonese meeting words ("过嚟", "打俾我"); offsets are kept
    refused = [m for m in mentions if _declined(text, m)]
    declined = {m.when.date() for m in refused}
    # The day offered instead, right after the refusal ("周三不在，周四下午吧"), is the agreed contact.
    counters = {
        id(m) for m in mentions for r in refused
        if 0 < m.start - r.end <= 20 and not _DEADLINE.search(clause_around(text, m.start, m.end))
    }
    accepted = [
        m for m in mentions
        if is_future(m, ref_time) and m.when.date() not in declined and not _moved(text, m, mentions)
        and not _STARTS.match(text, m.end)
        and (id(m) in counters or _context_ok(text, m))
    ]
    if not accepted:
        return None
    # Prefer an explicit clock time when two mentions fall on the same day ("周五" ... "周五下午三点见").
    return min(accepted, key=lambda m: (m.when.date(), not m.has_time, m.start))
