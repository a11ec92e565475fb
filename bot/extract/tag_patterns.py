"""Constructions that signal a tag, beyond fixed keywords: how Chinese business talk phrases a
comparison, a malfunction, a change of who decides, or a threat to leave.

Keywords (tags.py) catch set phrases; these regular expressions catch the sentence shapes around
open-ended words ("现在用的是<任何品牌>", "<设备>老是<出毛病>", "要报<任何机构>审批"). Each is a
general pattern of the language, scoped to one clause, and the tag's own negations still apply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .tags import TagRule, _compiled
from .textnorm import clause_around

_ANY = r"[^，,。；;！？!?\n]"
_OTHER_VENDOR = r"(?:别家|别的|其他|另一家|另外一家|另外两家|另外几家|那家|原来那家|原来的|现在的供应商|人家)"
_WE = r"(?:你们|我们|贵司)"

PATTERNS: dict[str, tuple[str, ...]] = {
    "竞品对比": (
        # "现在用的是X", "用的X的" — the incumbent, named (not "我们的")
        rf"(?:现在|目前|一直|原来)(?:用|使用|在用)的?(?:是)?(?!{_WE}|我|自己)[A-Za-z\u4e00-\u9fff]{{2,}}",
        # a comparison with someone named: "比X贵/便宜/好/低/高", "跟X差不多", "和X有什么区别"
        rf"比(?!{_WE}|我|上|去年|以前|之前|预期|预算|原来的价|合同|说好|她们预算|他们预算)[A-Za-z\u4e00-\u9fff]{{2,8}}(?:的)?{_ANY}{{0,6}}(?:贵|便宜|低|高|好|强|差|专业|快|慢)",
        rf"(?:跟|和|与){_ANY}{{1,10}}(?:差不多|有什么区别|有啥区别|的区别|比较|对比|比一比|放在一起)",
        rf"{_WE}(?:和|跟){_ANY}{{1,8}}两家",
        rf"(?:拿|把)?{_WE}(?:和|跟|与){_ANY}{{1,12}}比(?!例|较少)",
        r"(?:三|几|两)家(?:报价|比价|比选|对比|在比|供应商)|比选|(?:另外|其他)(?:两|几)家",
        rf"{_ANY}{{2,8}}(?:也在跟|也报了|也给|也来找|也在谈|也来谈|给的是|的方案也在看|那边也)",
        r"(?:选了|选择了|改用|换成|决定用|go with|switch to)(?!别|其他|另)[A-Za-z\u4e00-\u9fff]{2,}",
        rf"比{_ANY}{{0,6}}(?:现在的|原来的|现有的)(?:供应商|厂家|那家|系统)|(?:正在|在)对比|倾向于(?!{_WE}|我)",
        rf"(?:同规格|同款|同类){_ANY}{{0,6}}(?:便宜|低|贵)|(?:跟|和){_ANY}{{1,8}}(?:给的)?差距|也来找我们|那边的方案",
        r"替代|续用原来",
        rf"(?:决定|还是|已经)(?:跟|和|用|选|选择){_ANY}{{0,4}}{_OTHER_VENDOR}",
    ),
    "技术问题": (
        # a recurring or current malfunction: "老是/总是/一直/经常/又 ... 出错/卡/断/误报"
        rf"(?:老是|总是|一直|经常|又|偶尔|有时候?|频繁|动不动){_ANY}{{0,8}}"
        r"(?:错|卡|断|崩|死机|误报|报警|告警|延迟|失败|不准|偏高|偏低|重复|对不上|识别不|打不|连不|登不|慢|挂)",
        r"崩了|死机|宕机|误报|误判|坏点|破损|损坏|压坏|货损|漏点|过载|不准|对不上|导不出|打不出|识别不了|识别失败|"
        r"装不上|尺寸不对|质量不行|不合格|特别慢|响应慢|很慢|变慢|下降|上不去|报错|停了|卡住|出事故|事故|"
        r"修一下|来修|返修|排查|故障|问题是|的问题",
    ),
    "决策链变更": (
        rf"(?:报|经过|走|上|提交|交给|要过|通过){_ANY}{{0,10}}(?:审批|审核|招标|招采|集采|办公会|董事会|委员会|上会|评审|业委会|合规)",
        r"招标|招采|集采|统一采购|采购平台|供应商库|入库",
        rf"(?:新|刚换了?|换了|新来的|新上任的|新任)的?{_ANY}{{0,4}}(?:经理|总监|总|CIO|CFO|CTO|负责人|领导|老板|处长|院长|校长)",
        rf"以后{_ANY}{{0,14}}(?:找|由|改由|向|归){_ANY}{{0,10}}(?:对接|负责|汇报|联系|签字|审批|管)",
        rf"(?:改由|转由|交由|由我来负责|我来负责|接手|退休|离职|调走|调岗|到任|被{_ANY}{{0,6}}收购|收购)",
        r"(?:对接人|负责人|联系人|窗口|决策人|拍板的人)(?:换|改|变)|"
        r"拍板|说了不算|只有建议权|只能推荐|签字才行|亲自(?:来|参与|把关|过问|听)|也要参与|也会参加|参与评估|参与选型",
    ),
    "流失风险": (
        rf"(?:决定|还是|已经)(?:跟|和|用|选|选择|续用){_ANY}{{0,4}}{_OTHER_VENDOR}",
        r"未中标|没中标|不再续|不续签|不续了|不再合作|不会再找|别家看看|去别家|换一家|换别家|换成|改用|"
        r"退了吧|退机|退回来|退货|退款|赔偿|该退的|暂停|重新考虑|受不了|考虑换|换供应商|最后选了|最终选了|"
        r"decided to go with",
        rf"(?:如果|要是|再|否则|不然){_ANY}{{0,16}}(?:就|要)(?:换|不|退|终止|取消|停|找别)",
        r"(?:续约|续费|续签|合作)(?:的事)?(?:要|得|还要|还得)?再(?:看看|考虑|说|商量|评估)|预算(?:被)?(?:砍|削|减|没了|冻结|取消)",
    ),
    "价格异议": (
        r"贵了|贵不少|贵一截|比别人报的贵",
        r"能不能(?:再)?(?:让|降|少|便宜|优惠|维持)|再让|让一点|让点|特价|优惠价|降到|价格涨|涨价|涨得",
        r"价格必须比|不能高于|不超过",
        r"(?:价格|价钱|报价|费用|收费|单价|价位)(?:有点|太|偏|比较|还是|确实|稍微|有些|实在)?(?:高|贵)",
    ),
    "要报价": (
        # a request ("让我们/请/麻烦/希望/能不能 … 出/报/发 … 报价/价格"), not a reaction to a quote
        rf"(?:让|要|请|麻烦|希望|需要|能不能|能否|帮|尽快|先|问|你|您|同时|各){_ANY}{{0,8}}(?:出|报|给|发|做|提供)"
        rf"(?:一?[版份个下])?{_ANY}{{0,8}}(?:报价|价格|价钱|价)(?![格钱]?(?:比|太|高|贵|低|偏))",
        r"多少钱|什么价|怎么卖|怎么算|报个|报一下|报价和|和报价|带上报价|报价单|询价|比价|问了(?:一下)?价格?|问价|怎么收费",
    ),
    "要演示": (
        rf"(?:想|要|能不能|能否|安排|申请|先|希望|做个|做一次|做一下|开个|给个|约|再|来)"
        rf"{_ANY}{{0,6}}(?:演示|试用|试点|试一?下|测试|体验|poc|demo)",
        r"测试环境|测试账号|看一遍|试(?:运行|跑|装|一个月|一周|两周|几天)|实际操作一下|上手(?:试|操作)",
    ),
    "预约拜访": (
        # a meeting arranged: "约了…见/碰/谈", "去他们厂/店/现场", "开个线上会", "过去讲方案"
        rf"约(?:了|好|在|个)?{_ANY}{{0,10}}(?:见|碰|聊|谈|会|过去|过来|来|去|拜访|汇报|讲|演示|看)",
        rf"(?:去|到|过去|过来|来|回)(?:他们|她们|你们|贵司|我们|咱们)?{_ANY}{{0,6}}"
        r"(?:厂|公司|店|院|学校|现场|仓库|总部|会议室|项目部|办公室|门店|工地|库里|驻场)",
        r"(?:线上|视频|腾讯|电话)会|开个?(?:会|线上会|复盘会|协调会|启动会|评审会)|(?:讲|汇报)方案|方案汇报|当面|面谈|见面|碰个?面",
        r"(?:周|星期|礼拜)[一二三四五六日天]见|明天见|后天见|zoom|teams|会议邀请|腾讯会议|钉钉会议",
        rf"(?:过来|过去|来|去)(?:我们|他们|她们|你们)?{_ANY}{{0,8}}(?:看看|看一下|详细聊|聊|谈|勘察|现场)",
        rf"在(?:他们|我们|你们|她们)?{_ANY}{{0,6}}(?:门店|公司|店里|厂里|办公室|会议室)(?:详细)?(?:聊|谈|见|碰)",
    ),
    "付款回款": (
        r"赊账|结款|结清|押金|保证金|现结|周结|月结|预付款|进度款|质保金|"
        r"付清|付了|没付|未付|账单|款项|首期款|二期款|第二期的款|货款|付款|打款|付钱|结账|对账|对一下账|开票|发票|余款",
    ),
    "合同法务": (
        # contract work (drafting, review, signing, stamping), not a contract merely mentioned
        rf"(?:合同|合约|协议){_ANY}{{0,8}}(?:审|改|签|盖章|盖好|起草|拟|条款|法务|模板|文本|流程|寄|回传|回来|发过来|发给|准备|走)",
        rf"(?:审|改|签|盖|起草|拟|准备|发|看){_ANY}{{0,4}}(?:合同|合约|协议)",
        r"条款|盖章|用印|法务|签字|签约|签回|谈合同",
        rf"签(?:一个|一份|个)?{_ANY}{{0,6}}(?:合同|协议)",
    ),
}
# Phrases in the same clause that cancel a pattern hit (besides the tag's own negations).
PATTERN_NEGATIONS: dict[str, str] = {
    # A fault of the system the customer has now from someone else is a reason to buy, not our defect.
    "技术问题": (
        r"没问题|没什么问题|正常了|恢复正常|已经修好|都正常|现在(?:这|那)?(?:套|个|的)|原来的|目前的|两家供应商|想换"
    ),
    "价格异议": r"不贵|价格没问题|能接受|可以接受",
    "要演示": r"不需要|不用|无需|以后再说|不要|谢谢|试用期|试用中|试用了",
    "要报价": r"先别报|不用报|不需要报|报价我看了|报价收到|报价我们看了",
    "流失风险": r"不会换|不换|不退",
    "预约拜访": r"内部|盘点|发过去|寄过去|寄给|寄回",
    "付款回款": r"报表|导不出|导出|模块|功能|打不开|报错",
}
_COMPILED = {tag: re.compile("|".join(f"(?:{p})" for p in pats), re.IGNORECASE) for tag, pats in PATTERNS.items()}
_NEG_COMPILED = {tag: re.compile(p) for tag, p in PATTERN_NEGATIONS.items()}


def pattern_hits(text: str, rules: Sequence[TagRule]) -> dict[str, list[int]]:
    """Positions of un-negated construction hits per tag (only for tags in ``rules``)."""
    lowered = text.lower()
    hits: dict[str, list[int]] = {}
    for rule in rules:
        pattern = _COMPILED.get(rule.name)
        if pattern is None:
            continue
        _, negations = _compiled(rule)
        own_negation = _NEG_COMPILED.get(rule.name)
        for m in pattern.finditer(lowered):
            clause = clause_around(lowered, m.start(), m.end())
            if negations is not None and negations.search(clause):
                continue
            if own_negation is not None and own_negation.search(clause):
                continue
            hits.setdefault(rule.name, []).append(m.start())
    return hits
