"""Customer company names: a brand plus an industry or legal-form suffix ("万通物流", "华康医疗器械")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .textnorm import words

# Industry words that end Chinese company short names ("万通物流", "华康医疗器械").
_INDUSTRIES = words("医疗器械 医疗 医药 药业 制药 医院 诊所 科技 电子 电器 电气 光电 半导体 "
    "机械 精工 精密 制造 重工 注塑 模具 五金 钢铁 金属 化工 塑料 橡胶 "
    "物流 快递 货运 建工 建设 建筑 地产 置业 物业 装饰 建材 家居 家具 "
    "超市 商贸 贸易 百货 商场 零售 便利店 食品 餐饮 饮料 酒业 乳业 农业 牧业 茶业 "
    "纺织 服装 服饰 鞋业 家纺 母婴 美妆 化妆品 日化 汽修 汽配 包装 印刷 纸业 电力 环保 "
    "药房 药店 诊所 学校 酒店 旅游 传媒 银行 证券 保险 资本 律所 事务所 实业 控股 集团 工厂")
# Words that are ordinary nouns on their own ("商品数据", "工业平板") name a company only with a legal form.
_GENERIC = words(
    "数据 智能 工业 设备 信息 网络 软件 健康 工程 材料 连锁 电商 汽车 能源 新能源 教育 培训 金融 投资 咨询 "
    "广告 文化 生物 通信 通讯 自动化 供应链 运输 技术"
)
_LEGAL = r"(?:股份有限公司|有限责任公司|有限公司|股份公司|集团|公司)"
# "博远教育的孙校长": a generic word does name a company when a titled person of it follows.
_PERSON_AFTER = r"的[\u4e00-\u9fff]{1,2}(?:总|经理|校长|院长|主任|老师|老板|总监|主管|先生|女士|工|局长|处长)"
_INDUSTRY_RE = "|".join(sorted(_INDUSTRIES, key=len, reverse=True))
_GENERIC_RE = "|".join(sorted(_GENERIC, key=len, reverse=True))
# Scan for suffixes and look back for the brand: a lazy brand-first pattern retries at every character
# and is slow on long pastes.
_SUFFIX = re.compile(
    rf"(?P<suffix>(?:{_INDUSTRY_RE}){_LEGAL}?|(?:{_GENERIC_RE})(?:{_LEGAL}|(?={_PERSON_AFTER}))|{_LEGAL})"
)
# Characters that cannot be part of a brand: verbs, particles and pronouns that precede company names
# in running text ("拜访了万通物流", "去了趟美佳超市", "我们诚信汽修").
_BRAND_TAIL = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]{1,12}\Z")
# Structured notes state the company outright ("公司：华信物流有限公司").
_LABELLED = re.compile(r"(?:^|\n)\s*(?:客户公司|公司名称|公司|单位|企业)\s*[:：]\s*(?P<name>[^\s,，;；。]{2,30})")
_BOUNDARY = set("的了是在去到趟跟和与见访我你他她们说要把被给让对从向为就也都还又再来约及或个位家这那刚用")
_NOT_BRAND = frozenset(
    words("我们 你们 他们 她们 咱们 贵 本 该 这家 那家 这个 那个 一家 哪家 各 分 子 总 母 新 老 大 小 我 你")
)
# A verb with a result complement ends right before the brand ("拜访完华信物流", "去过恒达制造"): the
# complement is not part of the name. Checked against the character before it, so "完美日化" stays.
_COMPLEMENTS = "完过好"
_VERB_BEFORE_COMPLEMENT = set("访见聊谈去看开跑问到忙")
# Text right before a company that marks it as someone else's: a competitor, or the rep's own firm.
_FOREIGN_CUE = re.compile(r"(?:比|转到|换成|选了|改用|用的是|用了|签了|我司|我们公司)\s*$")


@dataclass(frozen=True)
class CompanyMention:
    name: str
    start: int
    end: int
    foreign: bool  # preceded by a competitor / own-company cue


# Words that introduce a company without being part of it ("新客户康宁药业", "供应商恒达制造").
_INTRODUCERS = re.compile(r"^.*?(?:客户|供应商|厂家|厂商|合作方)")


def _trim_brand(brand: str) -> str:
    cut = 0
    for i, ch in enumerate(brand):
        # 和 right before the suffix is the brand's own ("祥和超市", "永和豆浆"), not "and".
        if ch in _BOUNDARY and not (ch == "和" and i == len(brand) - 1 and i > 0):
            cut = i + 1
    brand = brand[cut:]
    intro = _INTRODUCERS.match(brand)
    return brand[intro.end() :] if intro else brand


def find_companies(text: str) -> list[CompanyMention]:
    """Company-like mentions in order; brands are trimmed at verbs/particles before them."""
    found: list[CompanyMention] = []
    for m in _SUFFIX.finditer(text):
        suffix = m.group("suffix")
        tail = _BRAND_TAIL.search(text[max(0, m.start() - 12) : m.start()])
        if not tail:
            continue
        # Brands are usually 2-4 characters; a legal form ("有限公司") allows a longer registered name.
        longest = 12 if suffix.endswith(("公司", "集团")) else 4
        brand = _trim_brand(tail.group()[-longest:])
        if len(brand) < 2 or brand in _NOT_BRAND or brand.endswith(("们", "公司")):
            continue
        start = m.start() - len(brand)
        if brand[0] in _COMPLEMENTS and start > 0 and text[start - 1] in _VERB_BEFORE_COMPLEMENT and len(brand) > 2:
            brand, start = brand[1:], start + 1
        name = brand + suffix
        if name.startswith(("我们", "你们", "他们", "她们", "咱们", "贵公司", "本公司")):
            continue
        foreign = bool(_FOREIGN_CUE.search(text[max(0, start - 6) : start]))
        found.append(CompanyMention(name, start, m.end(), foreign))
    return found


def labelled_company(text: str) -> str | None:
    m = _LABELLED.search(text)
    return m.group("name") if m else None
