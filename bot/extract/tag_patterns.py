"""Constructions that signal a tag, beyond fixed keywords: how Chinese business talk phrases a
comparison, a malfunction, a change of who decides, or a threat to leave.

Keywords (tags.py) catch set phrases; these regular expressions catch the sentence shapes around
open-ended words ("现在用的是<任何品牌>", "<设备>老是<出毛病>", "要报<任何机构>审批"). Each is a
general pattern of the language, scoped to one clause, and the tag's own negations still apply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .tags import TagRule, about_incumbent, compiled_rule, matching_text
from .textnorm import clause_around

_ANY = r"[^，,。；;！？!?\n]"
_OTHER_VENDOR = r"(?:别家|别的|其他|另一家|另外一家|另外两家|另外几家|那家|原来那家|原来的|现在的供应商|人家)"
_WE = r"(?:你们|我们|贵司)"
# Who a deal can be signed with without it being lost: us, the customer themselves, or a person by title.
_PARTY = r"(?:你们|我们|咱们|贵司|他们|她们|客户|对方|甲方|乙方|我|你|他|她)"
# Another supplier, unnamed: "另一家/另一间/另一个供应商", "别的服务商", "其他厂家".
_RIVAL_NOUN = (r"(?:另(?:外)?一(?:家|间|个供应商|个厂家|个品牌)|另外(?:两|几)家|(?:别的|其他|其它|另外的)"
               r"(?:供应商|服务商|厂家|厂商|品牌|公司|平台|家))")
# "Not a system at all": what a prospect uses before buying one is no rival.
_NO_SYSTEM = r"(?:纸质|纸|手工|手写|人工|表格|excel|本子|微信|电话|自己|老办法|传统)"
# Physical defects of delivered goods, as the trades name them.
_DEFECT = (r"(?:过期|变质|发霉|霉变|腐烂|破损|破了|碎了|坏了|漏了|渗水|渗漏|开裂|裂了|变形|生锈|锈了|褪色|掉色|"
           r"脱落|起皮|起鼓|鼓包|划痕|磕碰|异味|串色|色差|不合格|有问题)")

PATTERNS: dict[str, tuple[str, ...]] = {
    "竞品对比": (
        # "现在用的是X", "用的X的" — the incumbent, named (not "我们的")
        rf"(?:现在|目前|一直|原来|之前|以前){_ANY}{{0,6}}?(?:用|使用|在用)(?:的是|的|是)?+\s?+(?!{_WE}|我|{_NO_SYSTEM}|那|这|一|过|着|紧|了|得|起|不|来|于|在|上|什么|哪|啥|系统|工具|软件|平台|设备|机器|产品|方案|套|款|个|种|家)"
        r"[A-Za-z0-9\u4e00-\u9fff]{2,}",
        # a comparison with someone named: "比X贵/便宜/好/低/高", "跟X差不多", "和X有什么区别"
        rf"比(?!{_WE}|我|上|去年|以前|之前|预期|预算|原来的价|合同|说好|她们预算|他们预算)[A-Za-z\u4e00-\u9fff]{{2,8}}(?:的)?{_ANY}{{0,6}}(?:贵|便宜|低|高|好|强|差|专业|快|慢)",
        rf"(?:跟|和|与){_ANY}{{1,10}}(?:差不多|有什么区别|有啥区别|的区别|比较|对比|比一比|比一下|比下|比比|比有什么|比有啥|放在一起)",
        # several suppliers looked at, a rival unnamed but explicit
        rf"(?:看|谈|聊|找|问|比)(?:了|过)?(?:好)?(?:几|两|三|四)家|{_RIVAL_NOUN}",
        rf"{_WE}(?:和|跟){_ANY}{{1,8}}两家",
        rf"(?:拿|把)?{_WE}(?:和|跟|与){_ANY}{{1,12}}比(?!例|较少)",
        r"(?:三|几|两)家(?:报价|比价|比选|对比|在比|供应商)|比选|(?:另外|其他)(?:两|几)家",
        rf"{_ANY}{{2,8}}(?:也在跟|也报了|也给|也来找|也在谈|也来谈|给的是|的方案也在看|那边也)",
        r"(?:选了|选择了|改用|转用|换成了?+|决定(?:还是)?用|go with|switch to)\s?+"
        r"(?!别|其他|另|老|小|新)[A-Za-z\u4e00-\u9fff]{2,}",
        # the rival as subject ("X比我们便宜"), the move to a named system ("转到X的系统"), a comparison
        # with us first ("比较我们和X")
        rf"(?<![我你])[A-Za-z\u4e00-\u9fff]{{2}}比{_WE}(?:的)?(?:价格|报价|产品|系统|方案)?(?:还|更|要)?"
        r"(?:便宜|低|好|强|快|专业|全|成熟)",
        r"转(?:到|用)(?!我|你|财务|采购|法务|技术|售后|行政|人事|OA|oa)[A-Za-z\u4e00-\u9fff]{2,6}的?(?:系统|平台|方案|产品|软件)",
        rf"(?:比较|对比|比选)(?:一下)?{_WE}(?:和|跟|与)",
        rf"比{_ANY}{{0,6}}(?:现在的|原来的|现有的)(?:供应商|厂家|那家|系统)|(?:正在|在)对比|倾向于(?!{_WE}|我)",
        rf"(?:同规格|同款|同类){_ANY}{{0,6}}(?:便宜|低|贵)|(?:跟|和){_ANY}{{1,8}}(?:给的)?差距|也来找我们|那边的方案",
        r"替代|续用原来",
        rf"(?:决定|还是|已经)(?:跟|和|用|选|选择){_ANY}{{0,4}}{_OTHER_VENDOR}",
        # an incumbent named by past use, a deal signed with someone named, an unnamed rival's better terms
        rf"(?:之前|以前|原来|曾经)?用过(?!{_WE}|我)[A-Za-z\u4e00-\u9fff]{{2,}}",
        rf"(?:已经|已)(?:跟|和|与)(?!{_WE}|我){_ANY}{{1,10}}签(?:了|约|合同)",
        # signed with someone who is neither side nor a person addressed by title: "跟X签了"
        rf"(?:跟|和|与)(?!{_PARTY})[A-Za-z\u4e00-\u9fff]{{2,8}}(?<![总理任板姐哥工师长])签(?:了|约了|下了)",
        rf"(?:别人家|别家|其他家|另外那家|另一家|人家)(?:的)?{_ANY}{{0,8}}(?:就能|只要|才要|都能|便宜|更快|更低|更好|是免)",
        # another seller's lower price said as a figure: "别的批发商才六十几", "别家都是30左右", "那家只要三万"
        rf"(?:别人家|别家|其他家|另一家|别的{_ANY}{{0,4}}?(?:商|厂|店|公司|机构|平台|家))(?:的)?{_ANY}{{0,6}}?"
        r"(?:才|只要|只卖|只收|都是)(?:[0-9零一二三四五六七八九十两百千万]|[a-z]*\$|¥)",
        rf"(?<!你们)(?<!我们)(?<!咱们)(?:那边|那家|他们家)(?:的)?{_ANY}{{0,8}}?(?:才|只要|只卖|只收)"
        r"(?:¥|[0-9零一二三四五六七八九十两百千点.]+多?(?:万|千|块|元|刀|美金|美元|日元|欧元?|镑))",
    ),
    "技术问题": (
        # goods delivered with a defect: "有两箱…过期了", "那批货…开裂"
        rf"(?:有|其中)(?:一|两|几|十几|[0-9]+|一整|整)?(?:箱|批|件|卷|台|个|瓶|包|袋|盒|块|张|套|车)"
        rf"{_ANY}{{0,8}}{_DEFECT}",
        rf"(?:货|批|产品|设备|材料){_ANY}{{0,6}}{_DEFECT}",
        # after-sales that does not come or is complained about
        r"(?:也|都|还是|一直)?没人(?:来|管|处理|回|理|接|跟进)|(?:问题|地方)没(?:整改|解决|处理)|整改|"
        r"(?:颜色|尺寸|型号|规格|数量|数据|包装|印刷|质量|口味|尺码|配置|版本)不对|"
        rf"(?:响应|服务|售后|维护|维保|质量|速度|时效){_ANY}{{0,6}}(?:有意见|不满意|太慢|太差|很差|跟不上|慢了)",
        # a recurring or current malfunction: "老是/总是/一直/经常/又 ... 出错/卡/断/误报"
        rf"(?:老是|总是|一直|经常|又|偶尔|有时候?|频繁|动不动){_ANY}{{0,8}}"
        r"(?:错|卡|断|崩|死机|误报|报警|告警|延迟|失败|不准|偏高|偏低|重复|对不上|识别不|打不|连不|登不|慢|挂)",
        r"崩了|死机|宕机|误报|误判|坏点|破损|损坏|压坏|货损|漏点|过载|不准|对不上|导不出|打不出|识别不了|识别失败|"
        r"装不上|尺寸不对|质量不行|不合格|特别慢|响应慢|很慢|变慢|下降|上不去|报错|(?<!暂)停了|卡住|出事故|事故|"
        r"修一下|来修|返修|排查|故障|问题是|的问题",
        # what a broken device, system or delivery does, in everyday words
        r"失灵|读不出|读不了|打不开|进不去|用不了|收不到|发不出|下不了|断线|掉线|漏水|漏电|漏油|不稳定|"
        r"超标|不达标|乱码|格式乱|闪退|黑屏|白屏|花屏|没反应|不工作|中断了|间歇性|拒收|型号不对|发错|少发|漏发|错发|"
        r"(?:一直|迟迟|还)没(?:来|装|修|派人|解决|处理|上门)|还没修好|没修好|(?:工期|交期|发货|交货|安装|到货)(?:一直)?(?:拖|延误|推迟)",
    ),
    "决策链变更": (
        rf"(?:报|经过|走|上报|报到|报给|提交|交给|要过){_ANY}{{0,10}}(?:审批|审核|招标|招采|集采|办公会|董事会|委员会|上会|评审|业委会|合规)",
        r"招标|招采|集采|统一采购|采购平台|供应商库|入(?:供应商)?库(?:审核|申请|资格|评审)",
        rf"(?:新的|刚换了?|换了|新来的?了?|新上任的|新任|新成立了?)(?:一个|一位|个|位)?{_ANY}{{0,8}}"
        r"(?:经理|总监|总|CIO|CFO|CTO|CEO|负责人|领导|老板|处长|院长|校长|园长|主任|采购中心|采购部|委员会|小组)",
        rf"(?:以后|今后|之后|往后|后面|从明年|明年开始){_ANY}{{0,14}}(?:找|由|改由|向|归|收到|统一到|要走){_ANY}{{0,14}}"
        r"(?:对接|负责|汇报|联系|签字|审批|管|定|流程|去了)",
        # who decides, said as a change or as a step the deal must now pass
        rf"(?:以后|今后|之后|往后|后面|这事){_ANY}{{0,10}}(?:来定|说了算|做主|拍板|来决定|(?:你|您)(?:们)?(?:直接)?找)",
        rf"(?:由|要(?!是)|得|需要|等|让|请){_ANY}{{0,6}}拍板|拍不了板|做不了主|定不了|不再负责|(?:让我|叫我)别管|不归我管",
        r"(?:同意|批准|批|点头|签字|拍板|审批|通过)(?:了|之后|以后|后)?才(?:能|可以|行|算)|投票|表决|"
        r"(?:办公会|常委会|党委会|班子会|董事会|股东会)(?:过了|通过|研究|审议|讨论|决定)",
        rf"(?:改由|转由|交由|由我来负责|我来负责|接手|接管|退休|离职|调走|调岗|到任|被{_ANY}{{0,6}}收购|收购)",
        r"(?:对接人|负责人|联系人|窗口|决策人|拍板的人)(?:换|改|变)|"
        r"说了不算|只有建议权|只能推荐|签字才行|亲自(?:来|参与|把关|过问|听|看|签|定|审|批)|也要参与|也会参加|参与评估|参与选型|"
        r"(?:一起|一齐|也会|会一起)(?:评估|参加|参与|开会|决定)",
    ),
    "流失风险": (
        rf"(?:决定|还是|已经)(?:跟|和|用|选|选择|续用){_ANY}{{0,4}}{_OTHER_VENDOR}",
        r"未中标|没中标|不再续|不续签|不续了|不再合作|不会再找|别家看看|去别家|换一家|换别家|换成了?+(?!老|小|新)|改用|"
        r"退了吧|退机|退回来|退货|退款|赔偿|该退的|暂停|重新考虑|受不了|考虑换|换供应商|最后选了|最终选了|"
        r"decided to go with",
        rf"(?:如果|要是|再|否则|不然){_ANY}{{0,16}}(?:就|要|只能|只好)(?:考虑)?(?:换|不|退|终止|取消|停|找别|给别)",
        # a threat across a pause: "再这样，…只能…给别人"
        r"(?:再这样|再这么|要是再|如果再|再出现|再有)[^。！？!?\n]{0,24}(?:只能|就|只好)[^。！？!?\n]{0,10}(?:换|不|退|终止|取消|停|别人|别家)",
        # business handed to others: "给别人做", "联系别的服务商", "切给另一家"
        rf"(?:联系|找|用|换|给|交给|切给|转给|包给)(?:了)?(?:别人|别家|别人家|其他家|{_RIVAL_NOUN})",
        # not buying after all, or doubting the renewal
        r"(?:先|暂时|还是|决定|暂)[^，,。\s]{0,4}不(?:上|买|采购|续|合作|签)(?![门班午面线])[^，,。]{0,8}了|"
        r"(?:还)?要不要(?:继续|续)|是否(?:继续|续)|续不续|还用不用|不会(?:再)?(?:用|找|选|买)(?:你们|我们)",
        # a refund or return demanded
        r"退掉|退还|退费|(?:钱|款|费)[^，,。]{0,4}(?:也)?要退|要(?:求)?(?:全部)?退(?!休|出)",
        r"(?:续约|续费|续签|合作)(?:的事)?(?:要|得|还要|还得)?再(?:看看|考虑|说|商量|评估)|预算(?:被)?(?:砍|削|减|没了|冻结|取消)",
        # leaving said outright: stop using, cancel, not renew, give up, signed elsewhere
        r"换系统|不用你们|不再用|停用|不续了|不想续|不续约|不续费|取消(?:合作|订单|合同)|项目(?:取消|不做)|不做了|不上了|"
        r"没看上|放弃了|不考虑(?:我们|你们)|退货|退款",
        rf"(?:已经|已)(?:跟|和|与)(?!{_WE}|我){_ANY}{{1,10}}签(?:了|约|合同)|(?:已经|已)选(?:了|择了)(?!{_WE}|我)",
    ),
    "价格异议": (
        r"贵了|贵不少|贵一截|比别人报的贵|太贵|打个?折",
        r"能不能(?:再)?(?:让|降|少|便宜|优惠|维持)|再让|让一点|让点|特价|优惠价|降到|价格涨|涨价|涨得",
        r"价格必须比|不能高于|不超过",
        r"打(?:个)?[一二三四五六七八九0-9.]{1,3}折|便宜(?:点|些|一点|一些)|降(?:一点|一些|点|些)|再降|降[0-9一二三四五六七八九十]+%|"
        r"(?:有|给)(?:点|些)?优惠|优惠(?:点|些|一点)|太高了|免掉|也免|比预算高|超(?:出)?了?预算",
        r"(?:价格|价钱|报价|费用|收费|单价|价位)(?:有点|太|偏|比较|还是|确实|稍微|有些|实在)?(?:高|贵)",
        # over or far from the budget, room to move, a discount named by its rate
        rf"超(?:出|过)?了?(?:我们|我方|公司|他们)?的?预算|预算(?:差距|相差|差得|差了)|(?:跟|和)(?:我们|他们)?的?预算{_ANY}{{0,2}}差",
        r"(?:还有|有没有|还有没有)(?:下调|下浮|降价|优惠|调整|商量|让利)?的?空间|(?:下调|下浮)的?空间",
        r"(?:[一二三四五六七八九]|[0-9](?:\.[0-9])?)五?折(?![旧叠腾扣算])|降[0-9一二三四五六七八九十两半]+(?:成|%|个点)",
        r"有点吃力|负担不起|承受不了|用不起(?!来)|买不起|(?:价格|费用|成本)(?:上)?(?:压力|吃力)",
        # our price above another supplier's
        rf"比(?!{_WE}|我|上|去年|以前|之前|预期|预算|原来的价|合同|说好)[A-Za-z0-9\u4e00-\u9fff]{{2,8}}{_ANY}{{0,4}}"
        r"(?:贵|高)(?!效|端|档|兴|度)",
    ),
    "要报价": (
        # a request ("让我们/请/麻烦/希望/能不能 … 出/报/发 … 报价/价格"), not a reaction to a quote
        rf"(?:让|要|请|麻烦|希望|需要|能不能|能否|帮|尽快|先|你(?!们?(?:的|报的|报了))|您(?!的)|同时|各){_ANY}{{0,8}}(?:出|报|给|发|做|提供|算|send|寄)"
        rf"(?:一?[版份个下])?{_ANY}{{0,12}}(?:报价|价格|价钱|价)(?![格钱]?(?:比|太|高|贵|低|偏))",
        # asking what it costs, or for the price to be sent over
        r"了解(?:一下)?(?:收费|价格|费用|报价)|(?:总价|价格|报价|价钱)(?:报|发)(?:过来|给我|给我们)",
        r"多少钱|什么价|怎么卖|怎么算|报个|(?<!汇)报一下|报价和|和报价|带上报价|报价单|询价|比价|问了(?:一下)?价格?|问价|怎么收费",
        # the price asked for: what it is, a revised one, a price list, "just quote"
        r"(?:价格|价钱|单价|总价|价位|费用|收费)(?:是|大概|大约)?多少|多少价|什么价位|"
        r"(?:价格|价钱|费用|总价|账)(?:也)?(?:算|报)(?:一下|下|一算)|算(?:个|一下|下|笔)(?:价|费用|总价|报价)|"
        r"重新(?:报|算)|再报一版|(?:价格|单价|价目|报价)表|直接报(?:价|个价)|报价吧|报价方案|"
        rf"出(?:个|一个|一份|一版)?{_ANY}{{0,6}}报价|(?:说|讲)一?下(?:价格|报价)|(?:介绍|带)(?:一?下|上|个)?(?:价格|报价)|"
        r"price list|quotation|a quote|pricing",
    ),
    "要演示": (
        rf"(?:想|要|能不能|能否|安排|申请|先|希望|做个|做一次|做一下|开个|给个|约|再|来)"
        rf"{_ANY}{{0,6}}(?:演示|试用|试点|试一?下|测试|体验|poc|demo)",
        r"测试环境|测试账号|看一遍|示范|试用申请|试(?:运行|跑|装|一个月|一周|两周|几天)|实际操作一下|上手(?:试|操作)",
        # trying the thing itself: "试戴", "先用两周看看", "用用看", "开几个账号", "上手摸一摸", a pilot
        rf"试[戴穿吃驾听]|先(?:用|装){_ANY}{{0,8}}(?:看看|看效果|试试|看一下)|用用看|试试看|先试(?:一下|试|用)?|"
        r"开(?:几个|个|一个|[0-9一二三四五六七八九十两]+个)?(?:试用|测试|体验)?账号|上手(?:摸|用|玩)|现场操作|"
        r"pilot|trial",
    ),
    "预约拜访": (
        # a meeting arranged: "约了…见/碰/谈", "去他们厂/店/现场", "开个线上会", "过去讲方案"
        rf"约(?:了|好|在|个)?{_ANY}{{0,14}}(?:见|碰|聊|谈|会|过去|过来|来|去|拜访|汇报|讲|演示|看|签)",
        # a meeting named by its kind: "方案讲解会", "评审会", "开一次会", "线上看一下"
        rf"(?:线上|视频|远程|在线){_ANY}{{0,6}}会(?![员计所])|(?:讲解|见面|签约|沟通|交流|对接)会(?![员计所])|"
        rf"开(?:一次|一个|次|场)会|线上(?:看|聊|讲|过一遍|演示|沟通|开)|派人{_ANY}{{0,2}}现场",
        rf"(?:去|到|过去|过来|来|回)(?:他们|她们|你们|贵司|我们|咱们)?{_ANY}{{0,6}}"
        r"(?:厂|公司|店|院|学校|现场|仓库|总部|会议室|项目部|办公室|门店|工地|库里|驻场|展厅|园区|基地|机房)",
        r"(?:线上|视频|腾讯|电话)会|开个?(?:会|线上会|复盘会|协调会|启动会|评审会)|(?:讲|汇报)方案|方案汇报|当面|面谈|见面|见(?:一|个)面|碰个?面|派人(?:参加|过来|过去)",
        r"(?:周|星期|礼拜)[一二三四五六日天]见|明天见|后天见|zoom|teams|会议邀请|腾讯会议|钉钉会议",
        rf"(?:过来|过去|来|去)(?:我们|他们|她们|你们)?{_ANY}{{0,8}}(?:看看|看一下|详细聊|聊|谈|勘察|现场)",
        rf"在(?:他们|我们|你们|她们)?{_ANY}{{0,6}}(?:门店|公司|店里|厂里|办公室|会议室)(?:详细)?(?:聊|谈|见|碰)",
        # someone going over: "来一趟", "上门", "在店里等你们", "带设备过去", "工程师过去处理"
        rf"(?:来|去|过来|过去)(?:一)?趟|上门|拜访|(?:在|到){_ANY}{{0,6}}等(?:你们|你|您)|带{_ANY}{{0,8}}(?:过去|过来)|"
        rf"(?<!回)(?:来|去|过来|过去)(?:我们|他们|她们|你们|贵司)?{_ANY}{{0,6}}(?:汇报|装|修|处理|对账|调试|培训|签)",
        rf"(?<!回)(?:来|去|过来|过去)(?:给|帮){_ANY}{{0,8}}(?:讲|介绍|看|演示)",
        rf"在(?:他们|我们|你们|她们)?{_ANY}{{0,8}}(?:门店|公司|店里|厂里|办公室|会议室|总部|总店|行政楼|学校|医院)"
        rf"(?:给|跟|和|与|同){_ANY}{{0,10}}(?:讲|汇报|演示|签|聊|谈|见|碰)",
    ),
    "付款回款": (
        r"赊账|结款|结清|押金|保证金|现结|周结|月结|预付款|进度款|质保金|"
        r"付清|付了|没付|未付|账单|款项|首期款|二期款|第二期的款|货款|付款|打款|付钱|结账|对账|对一下账|开票|发票|余款",
        rf"账期|分期|首付|尾款|转账|转给你|打到{_ANY}{{0,4}}账|红字|专票|普票|抬头|(?:服务费|年费|续费)(?:的钱)?(?:已经)?(?:付|交|转)",
        # when or how a sum is paid: "先付六成", "分两次付", "才能付", "季付"; a sum not yet settled
        r"(?:先|再|才|才能|分(?:两|三|几|[0-9])?(?:次|期|年|笔)|一次性|按月|按季|季|月)付(?![出诸])|"
        rf"(?:的|期|批|设备|货|合同|服务|工程|项目|材料|余|欠|首|尾)款{_ANY}{{0,8}}(?:付|结|到账|打|差|拖)|"
        rf"(?:没法|没|不能|无法)结(?![婚束果论构])|结不了|(?:去|来|上门){_ANY}{{0,8}}(?:收款|催款)|催款|费用?{_ANY}{{0,4}}没付",
    ),
    "合同法务": (
        # contract work (drafting, review, signing, stamping), not a contract merely mentioned
        rf"(?:合同|合约|协议){_ANY}{{0,8}}(?:审|改|签|盖章|盖好|起草|拟|条款|法务|模板|文本|流程|寄|回传|回来|发过来|发给|准备|走)",
        rf"(?:审|改|签|盖|起草|拟|准备|发|看){_ANY}{{0,4}}(?:合同|合约|协议)",
        r"条款|盖章|用印|法务|签字|签约|签回|谈合同",
        rf"签(?:一个|一份|个)?{_ANY}{{0,6}}(?:合同|协议)",
    ),
}
# The same constructions in business English, which foreign buyers and many overseas Chinese write (round 20):
# written for the language, not for any corpus text; the tag's negations below apply to them as well.
_EN_SUPPLIER = r"(?:suppliers?|vendors?|factor(?:y|ies)|manufacturers?|providers?|brands?|sellers?|contractors?)"
ENGLISH_PATTERNS: dict[str, tuple[str, ...]] = {
    "竞品对比": (
        r"\bcompetitors?\b|\bcompeting (?:offer|quote|bid)s?\b",
        rf"\b(?:another|other|a different|several|two|three|a few) {_EN_SUPPLIER}\b",
        r"\b(?:our|their|the) (?:current|existing|old|previous|usual|local|japanese|korean|german|indian|other) "
        rf"{_EN_SUPPLIER}\b",
        r"\bcame in (?:\w+ ){0,3}(?:lower|cheaper|under)\b|\bcheaper (?:elsewhere|from|at)\b|\bquotes? from\b",
        r"\b(?:switch|switched|switching|moving|moved) (?:over )?to\b",
        r"\bcompar(?:e|ed|ing) (?:you|your|with|to|against)\b",
    ),
    "价格异议": (
        r"\btoo (?:expensive|high|pricey|much)\b|\bover (?:our |the |my )?budget\b|\bmore than (?:we|i) budgeted\b",
        r"\bout of (?:our |my )?budget\b|\bdiscount(?:s|ed)?\b|\b(?:higher|more expensive|pricier|costlier) than\b",
        r"\b(?:lower|reduce|cut|drop) (?:the |your )?price\b|\b(?:better|lower|best) price\b",
        r"\b(?:any )?room on (?:the )?price\b",
        r"\bprice (?:is|seems|was) (?:a bit |too |quite |rather )?(?:high|steep)\b",
    ),
    "要报价": (
        r"\b(?:can|could|would|please) (?:you )?(?:quote|send (?:us |me )?(?:a |your |the )?"
        r"(?:quote|price|prices|pricing))\b",
        r"\bquote (?:us|me)\b|\bhow much (?:is|are|for|would)\b|\brfq\b",
        r"\b(?:your|best|updated|new|revised) (?:price|quote)s? for\b",
    ),
    "要演示": (
        r"\bdemo\b|\bdemonstrat(?:e|ion)\b|\bwalk (?:us|me) through\b|\bproof of concept\b|\bpoc\b",
        r"\btest (?:account|unit|run)\b|\btry (?:it|the \w+) (?:out|first|for)\b",
    ),
    "预约拜访": (
        r"\b(?:visit|meet|meeting|see) (?:you|us|them)\b|\b(?:site|factory|office|showroom|warehouse) visit\b",
        r"\b(?:zoom|teams|video) (?:call|meeting)\b|\bcome (?:by|over|to (?:our|your|the))\b",
        r"\bsee you (?:on|next|at|then)\b",
    ),
    "决策链变更": (
        r"\bnew (?:\w+ ){0,2}(?:director|manager|head|buyer|owner|boss|ceo|cfo|coo|cto|president|gm)\b",
        r"\b(?:take|takes|took|taking) over\b|\b(?:left|leaving|retired|retiring from) the company\b",
        r"\bin charge (?:of|from now)\b|\b(?:join|joins|joining) the (?:final )?decision\b|\b(?:acquired|bought) by\b",
        r"\b(?:board|management) (?:approval|sign-off)\b|\bneeds? (?:approval|sign-off) from\b",
        r"\bwill (?:now )?(?:approve|sign off)\b",
    ),
    "流失风险": (
        r"\b(?:cancel|terminate|end) (?:the |our |this )?(?:order|contract|agreement|partnership|cooperation)\b",
        r"\bnot (?:renew|continue|extend)\b|\bwon'?t (?:renew|continue|order)\b|\bcannot continue\b|\bno longer\b",
        r"\b(?:regret to inform|refund|return the goods|send (?:them|it) back)\b",
    ),
    "付款回款": (
        r"\b(?:payment|invoice|deposit|remittance|wire transfer|balance due|overdue|outstanding)s?\b",
        r"\bpaid\b|\bpay (?:the|by|in)\b",
    ),
    "合同法务": (
        # contract work, not a contract merely mentioned (as in Chinese above)
        r"\b(?:draft|review|revis|redline|sign|send|stamp|check|prepar|amend)\w* (?:\w+ ){0,2}"
        r"(?:contract|agreement|nda|msa)s?\b",
        r"\b(?:contract|agreement) (?:draft|review|terms|clauses?|template)\b|\bterms and conditions\b",
        r"\blegal (?:review|team|department)\b|\bsignatures?\b",
    ),
    "技术问题": (
        r"\b(?:not working|doesn'?t work|stopped working|broken|defect(?:s|ive)?|faulty|malfunction\w*|offline)\b",
        r"\b(?:crash\w*|leak\w*|damaged|rust(?:y|ed)?|cracked|error codes?)\b",
        r"\b(?:issue|issues|problem|problems) with\b",
    ),
}
for _tag, _english in ENGLISH_PATTERNS.items():
    PATTERNS[_tag] = (*PATTERNS.get(_tag, ()), *_english)

# Phrases in the same clause that cancel a pattern hit (besides the tag's own negations).
PATTERN_NEGATIONS: dict[str, str] = {
    # A fault of the system the customer has now from someone else is a reason to buy, not our defect.
    "技术问题": (
        r"没问题|没什么问题|正常了|恢复正常|已经修好|都正常|现在(?:这|那)?(?:套|个|的)|原来的|目前的|两家供应商|想换|"
        # a feature claim ("断网也不影响收款"), not a fault
        r"不影响|也能|照样|"
        # a contract clause about delays, a warning not to get something wrong, a fault denied
        r"条款|那条|违约|别(?:发|搞|弄|写|填)错|不要(?:发|搞|弄)错|不是[^，,。]{0,6}问题|用不了(?:那么|这么)|"
        # the English denial of a fault: "no problem with the price", "not an issue"
        r"\bno (?:problems?|issues?)\b|\bnot (?:a|an) (?:problem|issue)\b"
    ),
    # a payment share ("预付款能不能降到两成") is a payment term, not the price
    # a rival mentioned in passing, or denied
    "竞品对比": r"预算|(?:和|跟|与|比)(?:今年|去年|上次|以前|之前|往年)|没提|没有提|没说|没在看|没看|不考虑别",
    "价格异议": r"不贵|价格没问题|能接受|可以接受|预付|首付|尾款|付款比例|账期|price (?:is|was) (?:fine|ok|okay|good)|"
            r"(?:fine|ok|okay|good|happy) with the (?:price|quote)|not (?:about|the) (?:the )?price",
    # a demo that already happened, and testing that is a service or a patch, not a trial of ours
    "要演示": r"不需要|不用|无需|以后再说|不要|谢谢|试用期|试用中|试用了|演示过|试用过|已经演示|补丁|渗透测试|测试服务|"
            r"测试报告|检测报告|no need|don'?t need|do not need|not interested|already (?:saw|seen|had|did)",
    # reacting to a quote already sent is no request for one
    "要报价": r"先别报|不用报|不需要报|报价我看了|报价收到|报价我们看了|没有?要报价|(?:别|不)(?:急着|着急)报|收到|看过|"
            r"转给|考虑得|特价|便宜|差不多的价|没有?异议|(?:got|received|reviewed|checked) (?:your|the)|"
            r"(?:fine|ok|okay|good|happy) with the",
    # an approval already passed is no new step
    "决策链变更": r"走完|审完|批完|过完|批下来|法务审",
    "流失风险": r"不会换|不换|不退",
    "预约拜访": r"内部|盘点|发过去|寄过去|寄给|寄回|回去",
    "付款回款": r"报表|导不出|导出|模块|功能|打不开|报错|归集|打印|列印",
}
_COMPILED = {tag: re.compile("|".join(f"(?:{p})" for p in pats), re.IGNORECASE) for tag, pats in PATTERNS.items()}
_NEG_COMPILED = {tag: re.compile(p) for tag, p in PATTERN_NEGATIONS.items()}


def pattern_hits(text: str, rules: Sequence[TagRule]) -> dict[str, list[int]]:
    """Positions of un-negated construction hits per tag (only for tags in ``rules``)."""
    lowered = matching_text(text)
    hits: dict[str, list[int]] = {}
    for rule in rules:
        pattern = _COMPILED.get(rule.name)
        if pattern is None:
            continue
        _, negations = compiled_rule(rule)
        own_negation = _NEG_COMPILED.get(rule.name)
        for m in pattern.finditer(lowered):
            clause = clause_around(lowered, m.start(), m.end())
            if negations is not None and negations.search(clause):
                continue
            if own_negation is not None and own_negation.search(clause):
                continue
            if about_incumbent(rule.name, lowered, m.start(), m.end(), clause):
                continue
            hits.setdefault(rule.name, []).append(m.start())
    return hits
