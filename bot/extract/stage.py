"""Deal stage from evidence: every stage the text gives evidence for is a candidate; the most
advanced one wins, and a customer with no evidence of more starts at 初步接触.

Evidence is read with its aspect. A sale that happened shows in the past or ongoing ("上个月装的",
"上线后", "用了半年", "合同盖章回来了", "尾款还没付"); the same words about the deal being discussed
("要求三月前交付", "年费多少", "验收标准写进合同") are terms, not a sale. Price talk alone is not
bargaining: 合同洽谈 needs a quote already given or contract work under way. A technical complaint
during a trial is the trial's (方案演示), not an installed customer's.

Evidence is also read with its scope: whose words (in the customer's own chat turns 我们 is the
customer; a rep writes of renewals of ours), whose product (a complaint, a churn word or a renewal about
the prospect's current supplier is not ours), negated or declined, a condition or a question ("再出问题
就…", "续不续"), and done or still to be made ("做个正式报价" is no quote given).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from store.stages import Stage

from .amount import find_amounts
from .textnorm import clause_around, sentence_around

_ANY = r"[^，,。；;！？!?\n]"

# Cantonese function words written in Hong Kong and Guangdong chats, mapped one character to one onto
# their Mandarin counterparts so that the stage grammar below reads both ("唔再续" is "不再续", "你哋报嘅"
# is "你们报的", "贵咗" is "贵了"). Only the stage reading uses this; offsets stay the same.
_CANTONESE = str.maketrans({
    "唔": "不", "冇": "没", "嘅": "的", "咗": "了", "哋": "们", "佢": "他", "睇": "看",
    "俾": "给", "畀": "给", "喺": "在",
})

_INITIAL = re.compile(
    r"了解一下|先了解|感兴趣|有兴趣|初步|第一次|认识了|新客户|留了电话|加了微信|加微信|留言|咨询|名片|随便问问|打听|刚认识|介绍了一下"
)
# Concrete needs: a budget, a quote, a scope, parameters, functions asked about (多少, but not of a phone
# number). Vague wants ("想换", "在找", "有需求") are needs only when nothing says the contact is still
# early (see _EARLY).
_NEEDS = re.compile(
    r"预算|报价|报个价|多少钱|选型|方案|规模|要求|参数|配置|(?<!电话)(?<!号码)(?<!手机)(?<!微信)多少|收费|费用|招标|投标|开标|评标|"
    r"能不能对接|能不能做|做不做|支不支持|有没有.{0,6}功能|问了价格|问了一下价|框架价|样品|年量|用量|数量|"
    r"(?i:price list|quotation|\bquote\b|pricing)"
)
_VAGUE_NEEDS = re.compile(r"需求|采购|想上|想做|想要|想换|想改|想找|想在|打算上|计划上|在找|想给|想引入")
# Needs said not to exist yet ("暂时没有预算", "目前没定预算", "没有报价需求", "预算下来后再联系"): removed
# before needs are read, since the words are there but the need is not.
_NEGATED_NEEDS = re.compile(
    r"(?:暂时|目前|还|也|都)?(?:没有|没|未|不用|不需要)(?:定|做|出)?(?:具体的?)?(?:预算|报价需求|报价|需求|方案|时间表)|"
    r"预算(?:还没|没)?下来(?:后|以后|之后)|"
    # The negation after the noun ("预算也没有", "需求暂时没有"), a budget spent or not yet approved
    # ("今年预算已经用完了", "预算还没批"), and a budget that only may come ("明年可能有一笔预算").
    rf"(?:预算|报价需求|需求)(?:也|都|还|暂时|目前)?(?:没有|没定|未定|没批|还没批)(?!问题)|"
    rf"预算(?:已经|已|都|早就)?(?:用完|花完|用光|超支)|可能(?:会)?有{_ANY}{{0,8}}预算(?:{_ANY}{{0,10}}(?:没|未)(?:批|定|下来))?"
)
# The contact says it is early: only looking, no budget or timetable, come back later.
_EARLY = re.compile(
    r"了解(?:一下|下)|想(?:先)?了解|先了解|还在了解|了解阶段|先看看|摸个?底|不急|再看看|再说|有需要(?:再|会)联系|再联系|"
    # Putting the matter aside ("先放一放", "先放着") is no need yet.
    r"先?放一?放|先放着|"
    r"先(?:来|过来|见面)?[^，,。；;\n]{0,4}聊|没有时间表|没定预算|暂时没有预算"
)
# A note that no contact took place says nothing of the deal's stage ("去了两次都扑空了", "没有聊业务").
_NO_CONTACT = re.compile(r"没(?:有)?见到|扑空|没(?:有)?聊业务|没(?:有)?(?:出去)?跑客户|没有(?:新的)?(?:客户)?进展")
_DEMO = re.compile(
    r"演示|示范|试用|试点|试运行|poc|demo|方案讲解|讲方案|讲一下方案|方案汇报|汇报方案|样机|测试环境|测试账号|体验账号|比选|"
    # A solution presentation, said in many ways: the plan and a verb of presenting in one sentence
    # ("给您和集团的同事讲一遍方案", "带方案过来给您讲讲", "委员会上要讲"), a briefing (简报), the rep
    # going over to present ("去他们厂里汇报"), a time-boxed trial ("试一个月"), a reference-site visit.
    r"(?:讲|介绍|汇报|展示)(?:一下|一遍|讲)?[^。！？\n]{0,8}方案|方案[^。！？\n]{0,16}(?:讲|汇报|介绍一下|展示)|"
    r"简报|presentation|(?<!回)(?:去|来|过去|过来|到)(?:(?!跟|向|给)[^，,。\n]){0,8}(?:汇报|讲一下|讲讲)|"
    r"试(?:用)?[一两三四五六七八九十0-9半几]+个?(?:月|周|星期|礼拜|天)|"
    r"(?:客户|案例|样板)[^，,。\n]{0,10}参观|参观[^，,。\n]{0,6}(?:客户|案例|样板|现场)|"
    # A trial said with the verb alone ("先装上试一试", "现场试了一下", "试了一个月"), a use that is a
    # trial ("开几个账号先用用看", "先用两个礼拜看看效果"), a pilot.
    # "试试/试一下" before a verb of reaching someone is an attempt, not a trial ("我试试约一下王总").
    r"(?:试一试|试试|试一下|试了一下|先试)(?![^，,。\s]{0,2}(?:联系|约|打|问|找|申请|争取|沟通|说服))|试了?[一两三四五六七八九十0-9半几]+个?(?:月|周|星期|礼拜|天)|用用看|"
    r"先用[^，,。\n]{0,8}看看|开[一两三四五六七八九十0-9几]*个?(?:试用|测试|体验)?账号|\bpilot\b|\btrial\b|"
    # A presentation given to an audience ("给采购部和IT一起讲一下", "线上来给大家讲讲"), the customer
    # hearing the plan ("想亲自听一下你们的方案"), a tender presentation (讲标/述标).
    r"给(?![^，,。\n]{0,6}电话)[^，,。\n]{0,12}(?:讲一下|讲讲|讲一讲|讲一遍|详细讲|汇报一下)|听(?!说)(?:一下|听)?[^，,。\n]{0,8}方案|讲标|述标",
    re.I,
)
_DEMO_DECLINED = re.compile(
    r"(?:不需要|不用|不必|没必要)(?:做|上门|另外|再|专门|现场)?(?:正式)?的?(?:演示|示范|试用|poc)|"
    r"(?:演示|示范|试用)(?:就)?(?:不用|不需要|不必|算了|免了|以后再说)", re.I
)
# A demo or trial that has taken place ("上次你们来厂里已经演示过了"): declining another leaves it done.
_DEMO_DONE = re.compile(
    r"(?:演示|试用|示范)(?:过|完)|(?:已经|上次|之前)?(?:看过|做过|试过)(?:演示|试用)|看过演示", re.I
)
_SOMEONE_ELSES = re.compile(r"别人|别家|其他|同行|另一家|另外一家|人家")


def _demo_done(text: str) -> bool:
    """A demo of ours took place; one seen elsewhere ("看过别人演示过类似产品") is not ours."""
    return any(not _SOMEONE_ELSES.search(clause_around(text, m.start(), m.end())) for m in _DEMO_DONE.finditer(text))


# Bargaining over a price already given (not at a first contact, where it is a reaction to a list
# price), or contract work under way.
_BARGAIN = re.compile(
    rf"(?:你们|贵司|我们)(?:的)?{_ANY}{{0,10}}(?:报价|价格|价){_ANY}{{0,10}}(?:贵|高|低|降|让|优惠|折)|"
    rf"议价|谈判|砍价|最终价|底价|"
    # Asking for a better price than one already known ("给到跟人家差不多的价位", "给个特价").
    rf"给(?:到|个|出)?{_ANY}{{0,8}}(?:价位|特价|折扣|优惠价)|"
    # A quote accepted while other terms are still open ("报价他们那边已经认可了，但是交期…").
    rf"报价{_ANY}{{0,8}}(?:认可|接受|没问题)|打个?[一二三四五六七八九0-9]+折|"
    # A target below the price given ("最好能降到四十万以内"), or the price over their budget.
    rf"(?:降|压|砍)(?:到|至){_ANY}{{0,6}}(?:万|千|元|块|以内|以下)|价格超出|超出了?(?:今年的)?预算|"
    # Room asked for on the price ("单价还有空间", "有没有下调的空间"), a cut by a share ("再降百分之十",
    # "便宜两成"), a quote over the budget ("超了我们预算三成").
    rf"(?:价|价格|单价|报价|价钱){_ANY}{{0,6}}(?:空间|余地)|下调|往下调|"
    rf"(?:(?:价|价格|单价|报价|费用|总价){_ANY}{{0,4}}(?:降|下调|少)|便宜|优惠|让利)(?:个|了)?"
    rf"(?:百分之|[0-9]+(?:\.[0-9]+)?\s*%|[一二三四五六七八九十几两0-9]+(?:个点|成))|"
    rf"超(?:出|过|了)+(?:我们|今年|我方)?的?预算|"
    r"(?:your|the) (?:quotation|quote|rate|price)\b[^.]{0,40}\b(?:above|higher|lower|too high)|"
    r"\bmatch (?:it|that|the)\b",
    re.I,
)
# Asking for a lower price ("能不能便宜点") is bargaining only over a price already given (_QUOTED).
_ASK_LOWER = re.compile(
    r"(?:再|还能|能不能|可不可以|有没有)(?:也)?(?:给(?:个|点)?)?(?:让|降|便宜|优惠|打折|折扣|免掉|免了)|有点贵|太贵"
)
# A price judged too high or compared with another supplier's ("觉得高了", "比戴尔贵了不少", "报得比你们低"):
# bargaining when the price was given (_QUOTED) or is stated in the text.
_TOO_HIGH = re.compile(
    rf"比{_ANY}{{1,12}}(?:贵|高|低|便宜)|(?:高|贵)了|偏(?:高|贵)|太(?:高|贵)|有点(?:高|贵)|(?:预算|价){_ANY}{{0,8}}差距"
)
_PRICE_WORD = re.compile(r"价|报|钱|费|贵|便宜")
_CLAUSE_SPLIT = re.compile(r"[，,；;]")
_HARD_END = re.compile(r"[。！？!?\n]")
# Our price, as the customer refers to it ("你们报的三百六十万", "贵司的报价", "报价单").
_OUR_QUOTE = re.compile(rf"(?:你们|贵司|您)(?:的|那边)?{_ANY}{{0,10}}(?:报价|报的|价格|价|报得)|报价单|(?:你们|贵司)报")
# A price stated in the text ("基础版每月5k", "一年 4,800"): asking for less is bargaining over it.
_PRICE_STATED = re.compile(
    r"[0-9][0-9,.]*\s*(?:k|K|w|W|万|千|块|元)|[¥￥]\s*[0-9]|(?:一年|每月|每年|一个月|单价)\s*[0-9]"
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
    r"(?:上个?月|上周|去年|前年|之前|上次|前几天|昨天|刚)(?:给[^，,。\s]{0,6})?(?:装|买|卖|交|采购|上线|交付|部署|供|送|发|换)"
    r"(?:给[^，,。\s]{0,4})?(?:了|的)(?![^，,。\s]{0,3}(?:院长|校长|领导|老板|总监|经理|主任|负责人|局长|厂长|人))|"
    # Goods of ours at the customer ("你们卖给我们的那批", "这批货无法入库").
    r"(?:你们|贵司)(?:上次|之前)?(?:卖|供|送|发|装)给(?:我们|我司)|(?:这|那|上|前)一?批(?:货|的货|送的)|"
    r"(?:你们|贵司)的?(?:这|那|上|前)一?批|"
    r"(?:上线|交付|安装|部署|验收)(?:了|以后|之后|后|以来|完成|通过)|(?<!试)用了(?:一|两|三|半|几|[0-9])|"
    # Goods shipped, arrived or installed, said as done ("货已经到了", "设备已经装好了", "昨天发货了").
    r"(?:已经|已)(?:发货|到货|送到|装好|安装好)|(?:发货|到货|装好|安装好)了|"
    r"(?:货|设备|机器)(?:都)?(?:已经|已)?(?:到|送到|装好|发出)了|"
    r"(?<!试)已经用(?![完光])|一直在用我们|"
    # An order placed, money paid to us, the rep collecting or reconciling ("订单已经下了", "转给你们").
    r"(?:订单|单子)(?:已经|已)?下(?:了|好了)|(?:已经|已)下(?:了)?(?:单|订单)|下单了|"
    r"(?:转|打|付|汇)(?:款|账)?给(?:你们|贵司)|(?:去|来|上门)[^，,。\s]{0,12}收款|催款|对账单|"
    # (老客户 with a quantifier is the rep's book, not this customer: "给几个老客户打了电话".)
    r"(?<!几个)(?<!一些)(?<!几位)(?<!几家)(?<!各位)(?<!所有)老客户|合作(?:了)?(?:两|三|几|多|[0-9])年|这几年|年框|维保|"
    r"尾款|余款|还没付|没付|未付|没结|未结|欠款|逾期(?!不)|到账|回款|开票|(?<!电子)发票(?!系统|平台|软件|管理)|"
    r"每个月(?:进货|订|采购)|再采|加购|追加|增购|\binvoice\b|\bPO\b|"
    # Our bill for a service already rendered ("你们9月的运费", "你们10月的洗涤费账单").
    rf"(?:你们|贵司)的?{_ANY}{{0,8}}(?:运费|账单|服务费|货款|[洗维租]\S?费)"
)
# Money due on something delivered, as opposed to payment terms being agreed.
_PAYMENT_OWED = re.compile(
    r"尾款|余款|货款|服务费|(?<!电子)发票(?!系统|平台|软件|管理)|开票|到账|回款|打款|欠|结清|没结|未结|没付|未付|还没付|"
    r"逾期(?!不)|第[一二三四五六七八九十0-9]+期款|\binvoice\b|\bPO\b|"
    # A bill or a named payment of goods or services received ("你们的运费", "钢筋款", "续费的钱").
    r"账单|运费|[钢货材料进度费]款|付不了|才能付|付款|续费",
    re.I,
)
_CONTRACT_WORDS = re.compile(r"合同|协议|合约|法务|签|盖章|用印|条款")
_EXPIRING = re.compile(rf"(?:合同|协议|合约){_ANY}{{0,6}}到期")
# Payment terms being agreed (not money owed on a delivery): part of the negotiation.
_PAYMENT_TERMS = re.compile(
    r"(?:付款|尾款|首付|预付|定金|余款)(?:方式|节点|条件|习惯|比例)|账期|分期|分[一二三四五六七八九十0-9]+期|首付|预付|付[一二三四五六七八九十0-9]+成|"
    r"月结|验收后付|安装完成付|赊账|赊[一二三四五六七八九十0-9]+个?月"
)
_LOST = re.compile(
    r"决定(?:跟|和|用|选)(?:了)?(?:另|别|其他|原来)|续用原来|未中标|没中标|不再续|不续签|决定不续|不续约了|"
    r"终止合作|不合作了|解约|丢单|没拿下|黄了|选了别|选择了别|改用了|不买了|算是丢了|decided to go with|"
    # a prospect who decides not to buy at all, or a customer who has decided to stop
    rf"项目(?:取消|停了|搁置)|取消了|不做了|不上了|不打算(?:上|买|做|采购|用)|没看上|放弃了|不考虑(?:我们|你们)了|"
    rf"(?:不续|不再用|停用)了|(?:已经|已)(?:跟|和|与){_ANY}{{1,10}}签(?:了|约)|"
    # A choice made elsewhere or interest withdrawn ("已经选了中集的", "决定还是用 Salesforce", "没兴趣了").
    rf"(?:已经|已)选(?:了|择了)(?!你们|贵司|我们)|决定(?:了)?还是(?:用|选)(?!你们|贵司)|没兴趣了|"
    # A decision not to buy, not to renew, or to switch elsewhere, the negation or the switch a few words
    # after 决定 ("决定这两年先不上新系统了", "决定不采购你们的监护仪了", "决定由下个月开始转用X"),
    # a choice settled ("考虑了一下还是先不上我们的系统了"), a renewal declined ("今年不打算续了").
    rf"(?<![没未再要])决定(?!{_ANY}{{0,8}}?(\w)不\1){_ANY}{{0,8}}不再?(?:上|买|做|采购|用|续|合作)|"
    rf"(?<![没未再要])决定{_ANY}{{0,8}}(?:换成|改用|转用|换用)(?!你们|贵司|我们|哪)|"
    rf"还是(?:先|暂时)?不(?:上|买|做|采购){_ANY}{{0,10}}了|不打算续|"
    # Signed with someone else at the end of a selection ("最后跟X签了").
    rf"(?:最后|最终)(?:还是)?(?:跟|和|与)(?!你们|贵司){_ANY}{{1,10}}签(?:了|约)|"
    # The deal taken by someone else ("单子被X抢走了", "项目让X拿下了").
    rf"(?:被|让)(?!你们|贵司|我们){_ANY}{{1,10}}(?:抢走|拿走|拿下|截胡)了?"
)
# In the customer's own chat turns, "我们" is the customer: signing with another is the deal lost.
_LOST_CUSTOMER_WORDS = re.compile(rf"我们{_ANY}{{0,8}}(?:跟|和|与)(?!你们|贵司|您){_ANY}{{1,10}}签(?:了|约)")
_SIGNED = re.compile(
    rf"合同(?:已经|已)?(?:签(?:了|完|好|下来)|盖(?:好)?章)|(?:已经|已)(?:双方|都)?(?:签(?:约|合同)|盖章)|盖章回来|盖好章|"
    rf"(?:合同|合约|协议|原件){_ANY}{{0,10}}(?:已经|已)(?:签|盖)|(?:已经|已)签完合同|"
    rf"(?<!等)(?<!待)(?:合同|合约|协议)(?:我们|我这边|这边|那边|他们|老板)?(?:签好|签完|盖好章|盖完章)了|"
    # Verb-object with 了 ("签了布草租赁合同"), a stamping or signing process completed ("走完用印流程了").
    # (An NDA or a letter of intent signed before a sale is no sale: "先签了保密协议".)
    rf"(?<![没未])签了(?!{_ANY}{{0,10}}(?:保密|意向|试用|测试|备忘))[^，,。；;！？!?\n]{{0,10}}(?:合同|协议|合约)|"
    # The completive verb with the object and a final 了 ("签完合同了"); "签完合同后…" is a term, not a fact.
    rf"(?<![没未等待])签(?:完|好)(?!{_ANY}{{0,6}}(?:保密|意向|试用|测试|备忘))[^，,。；;！？!?\n]{{0,6}}(?:合同|协议|合约)了|(?:走完|完成|办完)了?{_ANY}{{0,4}}(?:用印|盖章|签字)|"
    rf"(?:用印|盖章|签字)(?:流程)?(?:已经|已)?(?:走完|完成|办完)"
)
# An existing customer, whatever else is being negotiated: a renewal or an expiring contract, an
# add-on order, warranty or after-sales service, a supplier relationship, a product in use. A renewal
# bargained over is still a customer's renewal (合同洽谈 is for deals not yet won).
_EXISTING = re.compile(
    rf"(?<![不没别想])续(?:了|签了|费了|约了)|继续用|追加|增购|加购|再(?:来|加|买|订)(?:[一两三四五六七八九十几0-9]|一批)|扩容|"
    rf"老供应商|(?<!几个)(?<!一些)(?<!几位)(?<!几家)(?<!各位)(?<!所有)老客户|保修期|质保期|(?:你们|贵司)的{_ANY}{{1,10}}(?<!试)(?<!定)(?<!算)(?<!备)(?:用了|用着|在用)|(?<!试)用了(?:一|两|三|几|半|[0-9])+年|"
    rf"合作了?(?:一|两|三|几|多|[0-9])年|(?:上线|装好|交付)(?:了)?(?:一|两|三|几|半|[0-9])个?(?:月|年)|"
    # A contract signed again exists already; orders of ours have a new owner ("你们的包装袋订单由我来负责").
    rf"重新签|(?:你们|贵司)的{_ANY}{{0,6}}订单|"
    # An upgrade of our system is an installed customer's ("你们的排班系统升级费用").
    rf"(?:你们|贵司)的{_ANY}{{0,10}}升级(?:费|款|服务|包|了|后|以后|之后)|"
    # The rep's note that the customer runs our product ("他们用的是我们的仓储系统").
    rf"(?:用的是|在用|用着|还用|还在用)(?:我们|你们|贵司)的"
)
# A renewal or an expiring contract is ours only when the sentence ties it to us and not to the
# customer's other vendor, a tender, or a condition ("如果要签，每年续费不能涨价").
_RENEWAL = re.compile(r"续约|续费|续签|到期")
_RENEWAL_OURS = re.compile(r"你们|贵司|咱们")
_RENEWAL_NOT_OURS = re.compile(r"一家|别家|那家|其他|几家|现在用|目前用|原来(?!的?价)|招标|如果|要是|供应商的")


# A fault in something of ours the customer has, said as an event: the customer is an installed one,
# whatever the tag layer made of it ("你们的冷链标签上个月到货的那批读不出数据", "我们给他装的收银机扫码
# 老是识别不了", "升级以后开处方特别慢"). A question or a worry is not an event ("会不会卡").
_OURS = re.compile(r"(?:你们|贵司|我们)家?的|我们给|你们给|你们的人|到货|到的那批|[这那]批|承运|升级(?:以|之)?后")
_FAULT_EVENT = re.compile(
    r"坏了|出了?(?:问题|故障)|故障|报错|出错|死机|卡住|卡顿|特别慢|很慢|误报|报警|告警|不准|读不出|识别不了|打不出|"
    r"装不上|尺寸不对|不达标|破损|损坏|断线|掉线|重复|502|宕机|崩了|没去装|一直没去"
)
_NOT_EVENT = re.compile(r"如果|会不会|能不能|是否|担心|怕|万一|试用|测试")


def _fault_in_ours(text: str) -> bool:
    for m in _FAULT_EVENT.finditer(text):
        sentence = sentence_around(text, m.start(), m.end())
        if _OURS.search(sentence) and not _NOT_EVENT.search(sentence):
            return True
    return False


def _existing_customer(text: str, customer_words: str = "") -> bool:
    """An existing customer of ours. A renewal is ours when its sentence says so (你们, or a contract
    running out and renewed), or when the rep writes of it (a rep's note or turn: the rep renews only
    our contracts) — never when the text names the prospect's current supplier ("现在用的是X")."""
    if any(not _TERMS_CLAUSE.search(sentence_around(text, m.start(), m.end())) for m in _EXISTING.finditer(text)):
        return True
    if _fault_in_ours(text):
        return True
    current_supplier = bool(_OTHER_VENDOR_NAMED.search(text))
    for m in _RENEWAL.finditer(text):
        sentence = sentence_around(text, m.start(), m.end())
        if _RENEWAL_NOT_OURS.search(sentence) or _HYPOTHETICAL_RENEWAL.search(sentence):
            continue
        if _RENEWAL_OURS.search(sentence):
            return True
        if current_supplier:
            continue
        if ("到期" in sentence and re.search("续[约签费]", sentence)) or (
            m.group() != "到期" and sentence.strip() not in customer_words
        ):
            return True
    return False


# A complaint or a churn word about the prospect's current supplier or its own equipment, said while it
# looks at ours ("现在用的是X，续费涨了，不想续了", "而家用紧嘅系统成日死机", "价格太高，想找国产替代"):
# the tags are right, but the customer is not ours yet.
_OTHER_VENDOR = re.compile(
    r"现在(?:用|在用|使用|合作)|目前(?:用|在用|使用|合作)|用的是|正在用|在用的|用着的|用紧|原来的(?:供应商|系统|厂家)|"
    r"想(?:改|换|找|上)|几家|替代"
)
# Terms being written into a deal ("把三年维保写进合同"): the words of a sale there are conditions.
_TERMS_CLAUSE = re.compile(r"写进|写入|写到|加进|列入|约定|延长到|延长至")
# The prospect's current supplier named as such ("现在用的是X", "目前在用X的"): renewal words are about it.
_OTHER_VENDOR_NAMED = re.compile(
    r"(?:现在|目前)[^，,。\n]{0,8}(?:用的是|在用|使用的是|合作的)|用的是(?!我们|你们|贵司)|"
    r"(?:现在|目前)的[^，,。\n]{1,8}是(?!我们|你们|贵司)[^，,。\n]{1,8}的"
)
# A renewal talked of as a question, a condition or some later matter is no renewal yet ("续不续",
# "要不要续", "以后续费的事由财务对接").
_HYPOTHETICAL_RENEWAL = re.compile(r"续不续|要不要续|如果|要是|以后|将来|后续")


# Goods sent for a trial ("样品已经发货了") are the trial's, not a sale's.
_SHIPPED = re.compile(r"发货|到货|送到|装好|安装好|到了|发出")
_TRIAL_GOODS = re.compile(r"样品|样机|试用|测试|demo", re.I)


def _sold(text: str) -> bool:
    for m in _SOLD.finditer(text):
        sentence = sentence_around(text, m.start(), m.end())
        if _TERMS_CLAUSE.search(sentence) or (_SHIPPED.search(m.group()) and _TRIAL_GOODS.search(sentence)):
            continue
        return True
    return False


# Words that make the rest of a sentence hypothetical: a threat or a plan is not a decision.
_HYPOTHETICAL = re.compile(
    r"如果|要是|再不|否则|不然|考虑(?![了过好完])|可能|打算|想|万一|的话|再这样|再这么|这样下去|担心|怕|"
    # "再 + V … 就": if it happens again ("再出问题合同到期就不续了").
    r"再(?:出|有|发生|坏|来一次)"
)
# A price already on the table. A quote being asked for ("出一版报价", "给个报价") is not one.
_QUOTED = re.compile(
    r"(?<!出)(?<!要)(?<!个)(?<!份)(?<!版)(?<!提供)(?<!请)(?<!做)报价|报的|(?:我们|你们)的价格|价格超出|"
    r"超出了?(?:今年的)?预算|quot|rate|price|报了|给的价|给的报价|方案价|"
    r"合同价|这个价|这价|底价|续约价|年费|单价|贵了"
)
# A quote still to be made, its verb a few words before it ("我做个正式报价发您", "出一版方案和报价",
# "重新报一版"): the lookbehinds above see only the character next to it.
_QUOTE_TO_MAKE = re.compile(r"(?:做|出|要|提供|准备|整理|重新)[^，,。；;！？!?\n]{0,5}$")


def _quoted(text: str) -> bool:
    """A price already on the table (_QUOTED), not a quote still to be made."""
    for m in _QUOTED.finditer(text):
        if m.group() == "报价" and _QUOTE_TO_MAKE.search(text[max(0, m.start() - 6) : m.start()]):
            continue
        return True
    return False


# Asking for something before the deal: a demo or a presentation requested, a quote asked for.
_PRESALE_REQUEST = re.compile(
    r"演示|试用|试点|poc|demo|介绍一下方案|讲一下|出(?:一版|一份|个)?(?:报价|方案)|报个价", re.I
)
_CONDITIONAL = re.compile(r"如果|要是|再不|否则|不然|考虑|可能|打算|想|万一|的话")
_TRIAL = re.compile(r"试用|试点|测试|poc|演示|样机|评估|试下来|试了", re.I)
# Kept for callers that match competitor evidence (extractor.py).
_CHOSE = re.compile("选了|选择了|定了|签了|决定用|转到|改用|换成|换了|用了|go with", re.I)


def lost_to_competitor(text: str, competitor_hits: Collection[int]) -> bool:
    for position in competitor_hits:
        sentence = sentence_around(text, position, position + 1)
        chose = _CHOSE.search(sentence)
        if chose and not _hypothetical_before(text, text.find(sentence) + chose.start(), sentence[: chose.start()]):
            return True
    return False


def _price_stated(text: str) -> bool:
    """A price in the text; a budget ("总预算不超过二十万") is what they can spend, not a price."""
    if _PRICE_STATED.search(text):
        return True
    return any("预算" not in text[max(0, a.start - 8) : a.start] for a in find_amounts(text))


def _too_high(text: str) -> bool:
    """A price judged too high, said as a fact: not inside a condition ("价格要是比G7高，就不考虑了"), and
    about a price: 贵/便宜 are, 高/低 only with price or money just before it in its sentence ("你们报的
    三百六十万，领导觉得高了", or a transcript's pause instead of the comma; "温度高了两度" is no objection)."""
    for m in _TOO_HIGH.finditer(text):
        if _CONDITIONAL.search(clause_around(text, m.start(), m.end())):
            continue
        if "贵" in m.group() or "便宜" in m.group():
            return True
        window = text[max(0, m.start() - 24) : m.end()]
        window = _HARD_END.split(window)[-1]  # not past a full stop or a line break
        before = _CLAUSE_SPLIT.split(window)[-2:]
        scope = "".join(before)
        if _PRICE_WORD.search(scope) or find_amounts(scope):
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


def stage_hint(
    text: str, tags: Collection[str], *, lost: bool = False, customer: bool = False, customer_words: str = ""
) -> Stage | None:
    """The most advanced stage evidenced by normalised ``text`` and the final tags. With a customer
    found in the text (``customer``) and no evidence of more it is 初步接触: every new customer starts
    there. None when there is no customer and no evidence, or the text says no contact took place.
    ``customer_words`` are the customer's own chat turns (where "我们" is the customer)."""
    return stage_from_evidence(stage_evidence(text, tags, lost=lost, customer_words=customer_words),
                               customer=customer)


def stage_from_evidence(found: Collection[Stage] | None, *, customer: bool = False) -> Stage | None:
    """stage_hint's choice from the evidence (stage_evidence): the most advanced stage evidenced; 初步接触 for a
    customer with no evidence; None when the text says no contact took place or there is no customer."""
    if found is None:
        return None
    for stage in reversed(Stage):  # declared in deal order, 已流失 last: the most advanced wins
        if stage in found:
            return stage
    return Stage.FIRST_CONTACT if customer else None


# The contact itself is new: a first meeting or call, a customer just met or called new. Narrower than
# _INITIAL (early interest, "初步判断", "咨询费" are no new contact), and a first within a period
# ("年后第一次去", "这个月第一次拜访") is a routine visit to a known customer, not a first contact.
_NEW_CONTACT = re.compile(
    r"(?<![年月周期季度后])(?:第一次|头一次|头一回|初次)(?:去|来|上门|跟他们?|和他们?)?"
    r"(?:见面|见|接触|拜访|登门|联系|打交道|通话|通电话|聊|沟通|碰面)|"
    r"新客户|新认识|刚认识|刚加(?:了|上)?(?:他|她)?(?:的)?微信|才认识"
)


def said_to_be_new(text: str) -> bool:
    """The text says the contact is new (a first meeting, a new customer): explicit evidence of 初步接触,
    which a learned stage model reads as a bound on how far the deal can be."""
    return bool(_NEW_CONTACT.search(text.translate(_CANTONESE)))


def stage_evidence(
    text: str, tags: Collection[str], *, lost: bool = False, customer_words: str = ""
) -> frozenset[Stage] | None:
    """Every stage the text gives evidence for (stage_hint's candidates, before the most advanced is
    chosen); None when the text says no contact took place and nothing later is evidenced."""
    text = text.translate(_CANTONESE)
    customer_words = customer_words.translate(_CANTONESE)
    found: set[Stage] = set()
    needs_text = _NEGATED_NEEDS.sub(lambda m: " " * len(m.group()), text)
    early = bool(_INITIAL.search(text) or _EARLY.search(text))
    if early:
        found.add(Stage.FIRST_CONTACT)
    # A competitor or a decision maker named while the contact says it is only looking is context, not
    # a clarified need; a quote asked for always is one.
    context = bool({"竞品对比", "决策链变更"} & set(tags)) or bool(_VAGUE_NEEDS.search(needs_text))
    if _NEEDS.search(needs_text) or "要报价" in tags or (context and not early):
        found.add(Stage.NEEDS_CONFIRMED)
    demo = ("要演示" in tags or _DEMO.search(text)) and (not _DEMO_DECLINED.search(text) or _demo_done(text))
    if demo:
        found.add(Stage.DEMO)
    quoted = _quoted(needs_text) and not _INITIAL.search(text)
    if quoted and not early:
        found.add(Stage.NEEDS_CONFIRMED)  # a quote given was asked for: the needs are known
    asks_lower = _ASK_LOWER.search(text)
    bargaining = (
        _BARGAIN.search(text)
        or (asks_lower and (quoted or _price_stated(text)))
        or (_too_high(text) and (_OUR_QUOTE.search(needs_text) or _price_stated(text)))
    )
    # The contract tag counts when the text has contract work of its own, not only a current contract
    # running out ("现在跟一家三方物流的合同年底到期", "停车系统明年合同到期，计划公开招标").
    contract_talk = _CONTRACT_WORDS.search(_EXPIRING.sub(" ", text))
    contract_tag = "合同法务" in tags and contract_talk
    if (bargaining and not _INITIAL.search(text)) or _CONTRACT_WORK.search(text) or contract_tag:
        found.add(Stage.NEGOTIATION)
    if "价格异议" in tags:
        # Bargaining needs a price on the table; an objection at first contact or before any quote
        # is still needs talk ("第一次见面，他说价格有点高", "觉得太贵，能不能便宜点").
        if quoted:
            found.add(Stage.NEGOTIATION)
        elif not early:
            found.add(Stage.NEEDS_CONFIRMED)
    terms = _PAYMENT_TERMS.search(text)
    # Payment words inside the terms being agreed ("尾款比例从10%提到20%") are not money owed.
    sold_text = _PAYMENT_TERMS.sub(lambda m: " " * len(m.group()), text)
    sold = _sold(sold_text)
    if terms and quoted and not sold:
        found.add(Stage.NEGOTIATION)  # credit terms asked on a price already given ("价格还可以，就是要赊账")
    negotiating = Stage.NEGOTIATION in found
    if sold and not (negotiating and terms and not _SIGNED.search(text)):
        found.add(Stage.WON)
    existing = _existing_customer(text, customer_words)
    if _SIGNED.search(text) or existing:
        found.add(Stage.WON)
    presale = bool(_PRESALE_REQUEST.search(text)) and not existing
    # Complaints and churn words make a customer only when they are about something of ours: not the
    # prospect's current supplier, and not when a deal is being bargained or drafted (a complaint then
    # is about terms, not an installed product).
    others = bool(_OTHER_VENDOR.search(text) or _OTHER_VENDOR_NAMED.search(text)) and not existing and not sold
    tag_customer = not others and not negotiating
    if "付款回款" in tags and not negotiating and ((_PAYMENT_OWED.search(text) and not presale) or existing):
        # Money owed or paid is a customer's; payment terms asked about ("账期多长？") or a prospect's
        # bill from its current vendor while it asks us for a quote are not.
        found.add(Stage.WON)
    if "技术问题" in tags:
        # A complaint comes from a customer who has the product, unless the text says the contact
        # is new (then it tells nothing of the stage), the product is on trial, or the customer is
        # asking for a demo or a presentation (a prospect describing its own problem).
        if _TRIAL.search(text) and not _DEMO_DECLINED.search(text):
            found.add(Stage.DEMO)
        elif not early and not presale and tag_customer:
            found.add(Stage.WON)
    if "流失风险" in tags and not presale and not others:  # a renewal bargained under a threat is a customer's
        found.add(Stage.WON)  # a prospect asking for a demo or a quote has nothing to leave yet
    if lost or _lost(text) or _LOST_CUSTOMER_WORDS.search(customer_words):
        found.add(Stage.LOST)
    if _NO_CONTACT.search(text):
        found -= {Stage.FIRST_CONTACT, Stage.NEEDS_CONFIRMED}
        return frozenset(found) if found else None
    return frozenset(found)
