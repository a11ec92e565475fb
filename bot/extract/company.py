"""Customer company names: a brand plus an industry or legal-form suffix ("万通物流", "华康医疗器械")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .segment import tokens
from .textnorm import words

# Industry words that end Chinese company short names ("万通物流", "华康医疗器械").
_INDUSTRIES = words("医疗器械 医疗 医药 药业 制药 医院 诊所 科技 电子 电器 电气 光电 半导体 "
    "机械 精工 精密 制造 重工 注塑 模具 五金 钢铁 金属 化工 塑料 橡胶 "
    "物流 快递 货运 建工 建设 建筑 地产 置业 物业 装饰 建材 家居 家具 "
    "超市 商贸 贸易 百货 商场 零售 便利店 食品 餐饮 饮料 酒业 乳业 农业 牧业 茶业 "
    "纺织 服装 服饰 鞋业 家纺 母婴 美妆 化妆品 日化 汽修 汽配 包装 印刷 纸业 电力 环保 "
    "药房 药店 诊所 学校 酒店 旅游 传媒 银行 证券 保险 资本 律所 事务所 实业 控股 集团 工厂 "
    # Institutions and more trades whose names end the same way ("滨江职业技术学院", "顺达冷链").
    "大学 学院 中学 小学 幼儿园 驾校 卫生服务中心 体检中心 医疗中心 服务中心 研究院 设计院 "
    "冷链 货代 便利 连锁超市 家居城 商业广场 信托 小贷 农商行 合作社 酒楼 互娱 "
    "机电 数控 轴承 铸造 阀门 塑胶 纺机 新材料 配件厂 包装厂 食品厂 服装厂 加工厂 医美 留学 英语 "
    "电商 游戏 路桥 园林 基金 金服 担保 财税 农场 粮油 国际学校 培训学校 外国语学校 保险代理 会议中心 "
    "合作社 水饺厂 食品厂 汽配城 家电 影城 影院 健身 烘焙 茶饮 咖啡 书店 花店")
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
_BOUNDARY = set("的了是在去到趟跟和与见访我你他她们说要把被给让对从向为就也都还又再来约及或个位家这那刚用叫您姓")
_NOT_BRAND = frozenset(
    words("我们 你们 他们 她们 咱们 贵 本 该 这家 那家 这个 那个 一家 哪家 各 分 子 总 母 新 老 大 小 我 你")
)
# A verb with a result complement ends right before the brand ("拜访完华信物流", "去过恒达制造"): the
# complement is not part of the name. Checked against the character before it, so "完美日化" stays.
_COMPLEMENTS = "完过好"
_VERB_BEFORE_COMPLEMENT = set("访见聊谈去看开跑问到忙")
# Text right before a company that marks it as someone else's: a competitor, or the rep's own firm.
_FOREIGN_CUE = re.compile(r"(?:比|转到|换成|选了|改用|用的是|用了|签了|我司|我们公司)\s*$")


# Words that begin a clause, not a brand, even when the segmenter joins them to one ("评估药店").
_LEADING_VERBS = frozenset(
    words("评估 查 查一下 开 做 报 统一 统一报 有没有 所有 以后 接到 拜访 联系 对接 陪 找 约 去 到 见 在 和 跟 是 "
          "一家 一个 这家 那家 几家 三方 第三方 我们 他们 你们 对方 年度 现在 目前 原来")
)
# Segmenter tags of words that can continue a name leftwards (place, proper noun, organisation, noun).
_NAME_FLAGS = frozenset({"ns", "nz", "nt", "nr", "nrt", "nrfg", "j", "n", "b", "eng"})
MAX_BRAND = 10


def _extend_brand(text: str, start: int, end: int) -> int:
    """Move a brand's start left to its first word: a brand cut mid-word ("海外国语" of "滨海外国语")
    grows to the word's start, and a place or proper noun right before it ("华东" + "医科大学") joins."""
    lo = max(0, start - MAX_BRAND)
    window = text[lo:end]
    toks = tokens(window)
    new_start = start
    for tok in toks:  # the word that holds the brand's first character
        if lo + tok.start < start < lo + tok.end and tok.flag in _NAME_FLAGS and tok.word not in _LEADING_VERBS:
            new_start = lo + tok.start
    for tok in reversed(toks):
        proper = tok.flag in ("ns", "nz", "nt", "j") and tok.word not in _LEADING_VERBS
        if lo + tok.end == new_start and proper and end - (lo + tok.start) <= MAX_BRAND + 4:
            new_start = lo + tok.start
    return new_start


# Segmenter tags of words that never begin a brand: time, preposition, conjunction, adverb,
# pronoun, measure word, particle, interjection.
_NEVER_FIRST = frozenset({"t", "p", "c", "d", "r", "q", "u", "uj", "ul", "uz", "y", "e", "x", "f"})


def _drop_leading_verb(brand: str, suffix: str) -> str:
    """Strip words before the brand that open a clause ("昨天", "晚上", "评估", "一家", "有没有做"),
    segmenting brand and suffix together so the words are the ones a reader sees."""
    while brand:
        toks = [t for t in tokens(brand + suffix) if t.start < len(brand)]
        if not toks:
            return brand
        first, following = toks[0], toks[1] if len(toks) > 1 else None
        opener = first.word in _LEADING_VERBS or first.flag in _NEVER_FIRST or (
            first.flag == "m" and not first.word.startswith("第")
        )
        # A verb opens the clause when another verb or adverb follows it ("有没有做医院"); a verb-like
        # word straight before the suffix is the brand itself ("远航物流").
        opener = opener or (first.flag == "v" and following is not None and following.flag in ("v", "d", "p"))
        if not opener or len(brand) - first.end < 2:
            return brand  # what is left would be too short for a brand: the word is the brand's own
        brand = brand[first.end :]
    return brand


_SENTENCE_VERBS = frozenset("做有找在去到用想要让给把")


def _is_clause(brand: str) -> bool:
    """Words of a sentence, not a brand: a function word of two or more characters ("经过", "由于",
    "已经") or a bare everyday verb ("有没有做", "找代工厂") among several words. Single-character
    morphemes of any tag are left alone: brands are made of them ("悦享", "驰远", "置地")."""
    if brand.isascii():
        return False
    toks = tokens(brand)
    if len(toks) == 1:
        return len(brand) >= 2 and toks[0].flag in ("p", "c", "r")  # "经过集团", "由于集团"
    if not toks:
        return False
    return any((len(t.word) >= 2 and t.flag in ("d", "p", "c", "r")) or t.word in _SENTENCE_VERBS for t in toks)


@dataclass(frozen=True)
class CompanyMention:
    name: str
    start: int
    end: int
    foreign: bool  # preceded by a competitor / own-company cue


# Words that introduce a company without being part of it ("新客户康宁药业", "供应商恒达制造").
_INTRODUCERS = re.compile(r"^.*?(?:客户|供应商|厂家|厂商|合作方)")


def _trim_brand(brand: str, suffix: str = "") -> str:
    cut = 0
    # A boundary character inside a word the segmenter keeps whole ("美家装饰") is the brand's own;
    # standing alone ("一家", "去", "的") it ends what came before. A conjunction or a verb of going
    # at the very start ("和华康医疗") is never the brand's, whatever the segmenter groups.
    inside = {i for t in tokens(brand + suffix) if len(t.word) > 1 and t.flag.startswith("n")
              for i in range(t.start, min(t.end, len(brand)))} if len(brand) > 1 else set()
    inside -= {i for i, ch in enumerate(brand[:1]) if ch in "和跟与去到在给对从向"}
    for i, ch in enumerate(brand):
        # 和 right before the suffix is the brand's own ("祥和超市", "永和豆浆"), not "and".
        if ch in _BOUNDARY and i not in inside and not (ch == "和" and i == len(brand) - 1 and i > 0):
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
        brand = _trim_brand(tail.group()[-longest:], suffix)
        if len(brand) < 2 or brand in _NOT_BRAND or brand.endswith(("们", "公司")):
            continue
        start = m.start() - len(brand)
        if brand[0] in _COMPLEMENTS and start > 0 and text[start - 1] in _VERB_BEFORE_COMPLEMENT and len(brand) > 2:
            brand, start = brand[1:], start + 1
        if not brand.isascii():
            if start > 0:
                start = _extend_brand(text, start, m.start())
            brand = _drop_leading_verb(_trim_brand(text[start : m.start()], suffix), suffix)
            start = m.start() - len(brand)
        if len(brand) < 2 or brand in _NOT_BRAND or brand in _GENERIC or brand in _INDUSTRIES:
            continue
        if brand in _LEADING_VERBS:
            continue
        if _is_clause(brand):
            continue
        name = brand + suffix
        if name.startswith(("我们", "你们", "他们", "她们", "咱们", "贵公司", "本公司")):
            continue
        foreign = bool(_FOREIGN_CUE.search(text[max(0, start - 6) : start]))
        found.append(CompanyMention(name, start, m.end(), foreign))
    # "华东医科大学附属医院" also matches as "华东医科大学": keep the longest of mentions sharing a start.
    return [c for c in found if not any(o.start == c.start and o.end > c.end for o in found)]


def labelled_company(text: str) -> str | None:
    m = _LABELLED.search(text)
    return m.group("name") if m else None


# Companies without an industry suffix, found by the sentence around them instead of by their last
# word: "去了乐福小厨，…", "见了朗月文创的设计总监…", "我是晓风书局的…", "我们公司（朗月文创）",
# "福瑞德口腔的院长…" at the start of a clause. A fallback after the suffix lexicon.
_ROLE_AFTER = (r"(?:[\u4e00-\u9fffA-Za-z]{0,4}?)(?:董事长|总经理|副总|总监|经理|主管|主任|老板|老板娘|院长|校长|"
               r"园长|厂长|店长|行长|科长|部长|处长|场长|采购|负责人|老师|总|工)")
_CUE_COMPANY = (
    re.compile(r"(?:我们|我們|本)公司[（(](?P<org>[^）)\s]{2,20})[）)]"),
    re.compile(rf"(?:去了|见了|拜访了?|跑了趟|来自|我是|我们是|我們是)(?:一趟|趟)?\s?"
               rf"(?P<org>[\u4e00-\u9fffA-Za-z]{{3,10}}?)(?:的{_ROLE_AFTER}|[，,。\s]|$)"),
    re.compile(rf"(?:^|[，,。；;！？\n]|\s)(?P<org>[\u4e00-\u9fffA-Za-z]{{3,10}}?)的{_ROLE_AFTER}"),
    re.compile(r"(?:我是|我们是|我們是)(?P<org>[\u4e00-\u9fffA-Za-z]{3,10}?)的"),
)
_NOT_ORG_WORDS = re.compile(
    r"们|我|你|他|她|这|那|哪|某|现场|工地|总部|公司$|客户$|供应商$|一家|一下|下午|上午|晚上|今天|昨天"
)


def cue_companies(text: str) -> list[CompanyMention]:
    """Company names a sentence introduces without a lexicon suffix, trimmed like find_companies'."""
    found: list[CompanyMention] = []
    for pattern in _CUE_COMPANY:
        for m in pattern.finditer(text):
            org = _drop_leading_verb(_trim_brand(m.group("org")), "")
            org = org.strip()
            if len(org) < 3 or _NOT_ORG_WORDS.search(org) or org in _GENERIC or org in _INDUSTRIES:
                continue
            if org.endswith(tuple(_ROLE_TAILS)) or _is_clause(org):
                continue
            first = tokens(m.group("org"))
            raw = m.group("org")
            if raw.startswith(("做", "开", "卖", "搞")) or "一家" in raw or "一个" in raw or (
                first and first[0].flag.startswith("v")
            ):
                continue  # a trade, not a name: "我们是做不锈钢厨具的", "我是开花店的"
            start = m.start("org") + m.group("org").rfind(org)
            foreign = bool(_FOREIGN_CUE.search(text[max(0, start - 6) : start]))
            found.append(CompanyMention(org, start, start + len(org), foreign))
    return sorted(found, key=lambda c: c.start)


# A span that ends in a role or title is a person's description, not a company ("采购经理").
_ROLE_TAILS = (
    "经理", "总监", "主管", "主任", "老板", "院长", "校长", "科长", "部长", "采购", "负责人", "老师", "总", "部", "科",
)
