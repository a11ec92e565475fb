"""Deal stage from evidence: every stage the text gives evidence for is a candidate; the most
advanced one wins, and a customer with no evidence of more starts at 初步接触.

Evidence is read with its aspect. A sale that happened shows in the past or ongoing ("上个月装的",
"上线后", "用了半年", "合同盖章回来了", "尾款还没付"); the same words about the deal being discussed
("要求三月前交付", "年费多少", "验收标准写进合同") are terms, not a sale. Price talk alone is not
bargaining: 合同洽谈 needs a quote already given or contract work under way. A technical complaint
during a trial is the trial's (方案演示), not an installed customer's.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from store.stages import Stage

from .textnorm import sentence_around

_ANY = r"[^，,。；;！？!?\n]"

_INITIAL = re.compile(
    r"了解一下|先了解|感兴趣|有兴趣|初步|第一次|认识了|新客户|留了电话|加了微信|加微信|留言|咨询|名片|随便问问|打听|刚认识|介绍了一下"
)
_NEEDS = re.compile(
    r"预算|需求|报价|报个价|多少钱|选型|采购|方案|规模|想上|想做|想要|想换|想找|想在|打算上|计划上|要求|参数|配置|多少|"
    r"能不能对接|能不能做|支不支持|有没有.{0,6}功能|在找|想给|想引入|问了价格|问了一下价|框架价|样品|年量|用量|数量"
)
_DEMO = re.compile(
    r"演示|试用|试点|poc|demo|方案讲解|讲方案|讲一下方案|方案汇报|汇报方案|样机|测试环境|测试账号|体验账号|比选", re.I
)
_DEMO_DECLINED = re.compile(
    r"不需要(?:做)?(?:正式)?(?:演示|试用|poc)|不用(?:演示|试用)|演示(?:就)?不用|演示以后再说", re.I
)
# Bargaining over a price already given (not at a first contact, where it is a reaction to a list
# price), or contract work under way.
_BARGAIN = re.compile(
    rf"(?:你们|贵司)(?:的)?{_ANY}{{0,10}}(?:报价|价格|价){_ANY}{{0,10}}(?:贵|高|低|降|让|优惠|折)|"
    rf"(?:再|还能|能不能|可不可以)(?:让|降|便宜|优惠|打折)|议价|谈判|砍价|最终价|底价"
)
_CONTRACT_WORK = re.compile(
    rf"(?:合同|协议|合约){_ANY}{{0,10}}(?:审|改|修改|条款|草稿|起草|模板|文本|法务|签字|走流程|用印|细节)|"
    r"法务|条款|红线|中标|谈合同"
)
# A sale that exists: a contract signed/stamped, goods delivered/installed/live, money owed or paid
# on a delivered order, a renewal or add-on of an existing customer.
_SOLD = re.compile(
    r"合同(?:已经|已)?(?:签(?:了|完|好|下来)|盖(?:好)?章(?:了|回来|寄回))|(?:已经|已)(?:签(?:约|合同)|盖章)|盖章回来|"
    r"盖好章|盖完章|"
    r"(?:上个?月|上周|去年|前年|之前|上次|前几天|昨天|刚)(?:给[^，,。\s]{0,6})?(?:装|买|交|采购|上线|交付|部署|供|送|发|换)(?:了|的)|"
    r"(?:上线|交付|安装|部署|验收)(?:了|以后|之后|以来|完成|通过)|(?<!试)用了(?:一|两|三|半|几|[0-9])|(?<!试)已经用|一直在用我们|"
    r"老客户|合作(?:了)?(?:两|三|几|多|[0-9])年|这几年|年框|维保|"
    r"尾款|余款|还没付|没付|未付|欠款|逾期|到账|回款|开票|发票|每个月(?:进货|订|采购)|再采|加购|追加|增购"
)
# Payment terms being agreed (not money owed on a delivery): part of the negotiation.
_PAYMENT_TERMS = re.compile(
    r"付款(?:方式|节点|条件|习惯|比例)|账期|分期|首付|预付|付[一二三四五六七八九十0-9]+成|月结|验收后付|安装完成付"
)
_LOST = re.compile(
    r"决定(?:跟|和|用|选)(?:了)?(?:另|别|其他|原来)|续用原来|未中标|没中标|不再续|不续签|决定不续|不续约了|"
    r"终止合作|不合作了|解约|丢单|没拿下|黄了|选了别|选择了别|改用了|不买了|算是丢了|decided to go with|"
    # a prospect who decides not to buy at all, or a customer who has decided to stop
    rf"项目(?:取消|停了|搁置)|取消了|不做了|不上了|不打算(?:上|买|做|采购|用)|没看上|放弃了|不考虑(?:我们|你们)了|"
    rf"(?:不续|不再用|停用)了|(?:已经|已)(?:跟|和|与){_ANY}{{1,10}}签(?:了|约)"
)
_SIGNED = re.compile(
    rf"合同(?:已经|已)?(?:签(?:了|完|好|下来)|盖(?:好)?章)|(?:已经|已)(?:签(?:约|合同)|盖章)|盖章回来|盖好章|"
    rf"(?:合同|合约|协议|原件){_ANY}{{0,10}}(?:已经|已)(?:签|盖)|(?:已经|已)签完合同|"
    rf"(?<!等)(?<!待)(?:合同|合约|协议)(?:我们|我这边|这边|那边|他们|老板)?(?:签好|签完|盖好章|盖完章)了"
)
# An existing customer, whatever else is being negotiated: a renewal or an expiring contract, an
# add-on order, warranty or after-sales service, a supplier relationship, a product in use. A renewal
# bargained over is still a customer's renewal (合同洽谈 is for deals not yet won).
_EXISTING = re.compile(
    rf"续(?:了|签了|费了|约了)|继续用|追加|增购|加购|再(?:来|加|买|订)(?:[一两三四五六七八九十几0-9]|一批)|扩(?:容|到)|"
    rf"老供应商|老客户|保修期|质保期|(?:你们|贵司)的{_ANY}{{1,10}}(?<!试)(?:用了|用着|在用)|(?<!试)用了(?:一|两|三|几|半|[0-9])+年|"
    rf"合作了?(?:一|两|三|几|多|[0-9])年|(?:上线|装好|交付)(?:了)?(?:一|两|三|几|半|[0-9])个?(?:月|年)"
)
# A renewal or an expiring contract is ours only when the sentence ties it to us and not to the
# customer's other vendor, a tender, or a condition ("如果要签，每年续费不能涨价").
_RENEWAL = re.compile(r"续约|续费|续签|到期")
_RENEWAL_OURS = re.compile(r"你们|贵司|咱们")
_RENEWAL_NOT_OURS = re.compile(r"一家|别家|那家|其他|现在用|目前用|原来|招标|如果|要是|供应商的")


def _existing_customer(text: str) -> bool:
    if _EXISTING.search(text):
        return True
    for m in _RENEWAL.finditer(text):
        sentence = sentence_around(text, m.start(), m.end())
        if _RENEWAL_NOT_OURS.search(sentence):
            continue
        if _RENEWAL_OURS.search(sentence) or ("到期" in sentence and re.search("续[约签费]", sentence)):
            return True
    return False


# Words that make the rest of a sentence hypothetical: a threat or a plan is not a decision.
_HYPOTHETICAL = re.compile(r"如果|要是|再不|否则|不然|考虑|可能|打算|想|万一|的话|再这样|再这么|这样下去|担心|怕")
_QUOTED = re.compile(
    r"报价|报的|(?:我们|你们)的价格|价格超出|超出了?(?:今年的)?预算|quot|rate|price|报了|给的价|给的报价|方案价|"
    r"合同价|这个价|这价|让|降|折|优惠|便宜|底价|续约价|年费|单价"
)
_CONDITIONAL = re.compile(r"如果|要是|再不|否则|不然|考虑|可能|打算|想|万一|的话")
_TRIAL = re.compile(r"试用|试点|测试|poc|演示|样机|评估", re.I)
# Kept for callers that match competitor evidence (extractor.py).
_CHOSE = re.compile("选了|选择了|定了|签了|决定用|转到|改用|换成|换了|用了|go with", re.I)


def lost_to_competitor(text: str, competitor_hits: Collection[int]) -> bool:
    for position in competitor_hits:
        sentence = sentence_around(text, position, position + 1)
        chose = _CHOSE.search(sentence)
        if chose and not _hypothetical_before(text, text.find(sentence) + chose.start(), sentence[: chose.start()]):
            return True
    return False


_SENTENCE_END = re.compile(r"[。！？!?\n]")


def _hypothetical_before(text: str, at: int, prefix: str) -> bool:
    """A condition before the decision words: in its sentence, or, in an unpunctuated transcript where a
    pause splits the sentence ("要是这个月解决不了 下个季度就要换成别家的"), just before it."""
    window = text[max(0, at - 24) : max(0, at)]
    ends = list(_SENTENCE_END.finditer(window))
    if ends:
        window = window[ends[-1].end() :]
    return bool(_HYPOTHETICAL.search(prefix) or _HYPOTHETICAL.search(window))


def _lost(text: str) -> bool:
    """A decision to leave or not to buy, stated as fact: only the words before it in its sentence can
    make it a threat ("如果…就不续了"); a hedge after it ("不想再培训一遍") belongs to the reason."""
    for m in _LOST.finditer(text):
        sentence = sentence_around(text, m.start(), m.end())
        at = sentence.find(m.group())
        before = sentence[: at if at >= 0 else len(sentence)]
        if not _hypothetical_before(text, m.start(), before):
            return True
    return False


def stage_hint(text: str, tags: Collection[str], *, lost: bool = False) -> Stage | None:
    """The most advanced stage evidenced by normalised ``text`` and the final tags, or None."""
    found: set[Stage] = set()
    if _INITIAL.search(text):
        found.add(Stage.FIRST_CONTACT)
    if _NEEDS.search(text) or {"要报价", "竞品对比", "决策链变更"} & set(tags):
        found.add(Stage.NEEDS_CONFIRMED)
    if ("要演示" in tags or _DEMO.search(text)) and not _DEMO_DECLINED.search(text):
        found.add(Stage.DEMO)
    if (_BARGAIN.search(text) and not _INITIAL.search(text)) or _CONTRACT_WORK.search(text) or "合同法务" in tags:
        found.add(Stage.NEGOTIATION)
    if "价格异议" in tags:
        # Bargaining needs a price on the table; an objection at first contact or before any quote
        # is still needs talk ("第一次见面，他说价格有点高").
        quoted = _QUOTED.search(text) and not _INITIAL.search(text)
        found.add(Stage.NEGOTIATION if quoted else Stage.NEEDS_CONFIRMED)
    negotiating = Stage.NEGOTIATION in found
    sold = _SOLD.search(text)
    if sold and not (negotiating and _PAYMENT_TERMS.search(text) and not _SIGNED.search(text)):
        found.add(Stage.WON)
    if _SIGNED.search(text) or _existing_customer(text):
        found.add(Stage.WON)
    if "付款回款" in tags and not negotiating:
        found.add(Stage.WON)
    if "技术问题" in tags:
        # A complaint comes from a customer who has the product, unless the text says the contact
        # is new (then it tells nothing of the stage) or the product is on trial.
        if _TRIAL.search(text):
            found.add(Stage.DEMO)
        elif not _INITIAL.search(text):
            found.add(Stage.WON)
    if "流失风险" in tags:
        found.add(Stage.WON)
    if lost or _lost(text):
        found.add(Stage.LOST)
    for stage in reversed(Stage):  # declared in deal order, 已流失 last: the most advanced wins
        if stage in found:
            return stage
    return None
