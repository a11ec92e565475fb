"""Customer company names: a brand plus an industry or legal-form suffix ("万通物流", "华康医疗器械")."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .segment import tokens, word_flag
from .textnorm import words

# Industry words that end Chinese company short names ("万通物流", "华康医疗器械").
INDUSTRY_WORDS = words("医疗器械 医疗 医药 药业 制药 医院 诊所 科技 电子 电器 电气 光电 半导体 "
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
    "合作社 水饺厂 食品厂 汽配城 家电 影城 影院 健身 烘焙 茶饮 咖啡 书店 花店 "
    # Trades whose names end the same way, from a trade classification rather than from the samples:
    # clinics and care, utilities and public investment, lodging and catering, agriculture, supervision
    # and construction (营造 in Taiwan), brokers, furniture (家私, also written 傢俬), shops and venues.
    "口腔 齿科 眼科 门诊部 卫生院 保健院 养老院 敬老院 月子中心 美容院 "
    "燃气 水务 热力 供水 城投 交投 建投 产业园 "
    "客栈 民宿 宾馆 旅馆 会所 酒店管理 物业管理 火锅 餐厅 饭店 茶楼 "
    "种业 农资 饲料 水产 米业 调味品 酿造 "
    "监理 营造 钢构 管业 线缆 电缆 光伏 储能 仪器 仪表 陶瓷 玻璃 水泥 玩具 文具 印染 "
    "保险经纪 家私 二手车 车行 琴行 画室 书院 生活馆 体验馆 工作室 家政 快运")
# Words that are ordinary nouns on their own ("商品数据", "工业平板") name a company only with a legal form.
_GENERIC = words(
    "数据 智能 工业 设备 信息 网络 软件 健康 工程 材料 连锁 电商 汽车 能源 新能源 教育 培训 金融 投资 咨询 "
    "广告 文化 生物 通信 通讯 自动化 供应链 运输 技术 "
    # "上互联网医院平台": a kind of platform, not a hospital's name.
    "互联网"
)
_LEGAL = r"(?:股份有限公司|有限责任公司|有限公司|股份公司|集团|公司)"
# "博远教育的孙校长": a generic word does name a company when a titled person of it follows.
# A department may stand between instead of 的 ("云杉软件采购周经理").
_PERSON_AFTER = (r"(?:的|财务|采购|行政|人事|技术|运营|市场|销售|法务|商务|客服)"
                 r"[\u4e00-\u9fff]{1,2}(?:总|经理|校长|院长|主任|老师|老板|总监|主管|先生|女士|工|局长|处长|会计)")
_INDUSTRY_RE = "|".join(sorted(INDUSTRY_WORDS, key=len, reverse=True))
_GENERIC_RE = "|".join(sorted(_GENERIC, key=len, reverse=True))
# Scan for suffixes and look back for the brand: a lazy brand-first pattern retries at every character
# and is slow on long pastes.
_SUFFIX = re.compile(
    # "安和药房连锁", "金禾饲料厂": a chain or a works after the trade word is still the name
    rf"(?P<suffix>(?:{_INDUSTRY_RE})(?:连锁|厂)?{_LEGAL}?|(?:{_GENERIC_RE})(?:{_LEGAL}|(?={_PERSON_AFTER}))|{_LEGAL})"
)
# Characters that cannot be part of a brand: verbs, particles and pronouns that precede company names
# in running text ("拜访了万通物流", "去了趟美佳超市", "我们诚信汽修").
_BRAND_TAIL = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]{1,12}\Z")
# Structured notes state the company outright ("公司：华信物流有限公司").
_LABELLED = re.compile(r"(?:^|\n)\s*(?:客户公司|公司名称|公司|单位|企业)\s*[:：]\s*(?P<name>[^\s,，;；。]{2,30})")
# Cantonese 系 (係, "is"), 嘅 ("'s") and 喺 ("at") end a clause the same way.
_BOUNDARY = set("的了是在去到趟跟和与见访我你他她们说要把被给让对从向为就也都还又再来约及或个位家这那刚用叫您姓由"
                "系嘅喺")
_NOT_BRAND = frozenset(
    words("我们 你们 他们 她们 咱们 贵 本 该 这家 那家 这个 那个 一家 哪家 各 分 子 总 母 新 老 大 小 我 你")
)
# A verb with a result complement ends right before the brand ("拜访完华信物流", "去过恒达制造"): the
# complement is not part of the name. Checked against the character before it, so "完美日化" stays.
_COMPLEMENTS = "完过好"
_VERB_BEFORE_COMPLEMENT = set("访见聊谈去看开跑问到忙")
# Text right before a company that marks it as someone else's: a competitor, or the rep's own firm.
_FOREIGN_CUE = re.compile(r"(?:比|转到|换成|选了|改用|用的是|用了|签了|我司|我们公司)\s*$")
# Text right after a company that marks it as another supplier: it quoted the customer too
# ("京东物流那边也给我们报了价") or is compared with us ("X比你们便宜").
_FOREIGN_AFTER = re.compile(
    r"^(?:那边|那里|这边|家)?(?:也|都|还)?(?:给(?:我们|我|他们)|向我们)?(?:报了?(?:个)?价|比你们|比您)"
)
# Words right after an industry word that make it part of a common noun, not a company's last word:
# "餐饮系统", "电子发票", "快递单号", "物流行业", "医疗板块".
_NOUN_AFTER = re.compile(
    r"^(?:系统|平台|软件|发票|单号|单据|行业|业务|板块|模块|项目|方案|设备|产品|市场|领域|专业)(?![部科处室])"
    # an event or association of a trade ("物流峰会", "医疗展会"), a role in a trade ("物流总监")
    r"|^(?:沙龙|展会|博览会|大会|论坛|峰会|协会|商会|交流会|年会|总监|经理|主管|专员)"
    # a kind of software named by its trade ("民宿管理系统", "物流调度平台")
    r"|^[\u4e00-\u9fff]{2}(?:系统|平台|软件)"
)
# A department follows its company ("恒基置业物业部", "总行科技部"): the industry word before 部/科/处
# names the department, so the company ends before it.
_DEPARTMENT_AFTER = re.compile(r"^[部科处室组]")
# Words right before a suffix phrase that make it a description of a trade, not a name:
# "一家金融科技初创公司", "我们是做跨境电商的", "开烘焙店的".
_DESCRIPTION_BEFORE = re.compile(r"(?:一家|一个|这类|那种|是做|做|开|搞)\s*$")


# Words that begin a clause, not a brand, even when the segmenter joins them to one ("评估药店").
_LEADING_VERBS = frozenset(
    # "抬头写X有限公司", "叫X": writing or naming verbs before a registered name; "一下" ends a verb.
    words("写 叫 叫做 名叫 一下 "
          "评估 查 查一下 开 做 报 统一 统一报 有没有 所有 以后 接到 拜访 联系 对接 陪 找 约 去 到 见 在 和 跟 是 "
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
        # 's' is a place word ("东方", "华北"); the ones that say where, not which ("附近") are not names.
        proper = (tok.flag in ("ns", "nz", "nt", "j") or (tok.flag == "s" and tok.word not in _RELATIVE_PLACES)) \
            and tok.word not in _LEADING_VERBS
        if lo + tok.end == new_start and proper and end - (lo + tok.start) <= MAX_BRAND + 4:
            new_start = lo + tok.start
    return new_start


_RELATIVE_PLACES = frozenset(words("附近 周边 周围 前面 后面 里面 外面 对面 旁边 楼下 楼上 隔壁 本地 当地 外地 各地"))


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
        # A single character counts only as an everyday verb: the segmenter tags the first character of
        # an unknown brand as a verb as often as not ("安信通" read as 安 + 信通).
        opener = opener or (first.flag == "v" and following is not None and following.flag in ("v", "d", "p")
                            and (len(first.word) > 1 or first.word in _SENTENCE_VERBS))
        # A verb of the dictionary with a brand of two or more characters after it ("考察青山民宿").
        opener = opener or (first.flag == "v" and len(first.word) == 2 and word_flag(first.word) == "v"
                            and len(brand) - first.end >= 2)
        # A word before a clause opener belongs to the clause too ("开始所有科技采购").
        opener = opener or (following is not None and following.word in _LEADING_VERBS and following.end <= len(brand))
        if not opener or len(brand) - first.end < 2:
            return brand  # what is left would be too short for a brand: the word is the brand's own
        brand = brand[first.end :]
    return brand


_SENTENCE_VERBS = frozenset("做有找在去到用想要让给把")


def _is_clause(brand: str, *, bounded: bool = False) -> bool:
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
    # A name bounded by a cue on both sides ("我们公司（暖阳互动）") may hold a word the segmenter guesses
    # is an adverb ("互动"); pronouns, prepositions and conjunctions still mark a clause.
    function = ("p", "c", "r") if bounded else ("d", "p", "c", "r")
    return any((len(t.word) >= 2 and t.flag in function) or t.word in _SENTENCE_VERBS for t in toks)


# Words that say when or how many, never which company: time words ("明天快递过去", "下周集团开会"), dates
# ("三月底集团") and counts ("三所学校"). Only these: the segmenter tags unknown brands as adverbs,
# numerals or measure words too ("鼎新", "天元", "三和").
_DATE_OR_COUNT = re.compile(r"^(?:[\d一二三四五六七八九十两]+(?:月[初中底]?|号|日|年)|"
                            r"[\d一二三四五六七八九十两几]+(?:所|家|个|间|座|位|处)|[今明去前后]年|年初|年底|月初|月底)$")


def _no_brand_words(brand: str, suffix: str) -> bool:
    """A brand made only of time words, dates and counts, or a bare verb of the dictionary before a
    legal form alone ("负责集团采购"), is the sentence around a trade word, not a name."""
    if brand.isascii():
        return False
    if _DATE_OR_COUNT.match(brand):
        return True
    toks = [t for t in tokens(brand + suffix) if t.start < len(brand)]
    if toks and all(t.flag in ("t", "tg") or _TIME_OPENER.match(t.word) or _DATE_OR_COUNT.match(t.word) for t in toks):
        return True
    if len(toks) > 1 and toks[-1].end == len(brand) and (toks[-1].flag == "t" or _TIME_OPENER.match(toks[-1].word)):
        return True  # "样品明天快递过去": a time word right before the trade word makes it a verb
    bare_legal = re.fullmatch(_LEGAL, suffix) is not None
    return len(toks) == 1 and toks[0].word == brand and word_flag(brand) == "v" and bare_legal


@dataclass(frozen=True)
class CompanyMention:
    name: str
    start: int
    end: int
    foreign: bool  # preceded by a competitor / own-company cue


_ROLE_IN_SPAN = re.compile(r"经理|总监|主管|主任|老板|同事|领导")
# Words that introduce a company without being part of it ("新客户康宁药业", "供应商恒达制造").
_INTRODUCERS = re.compile(r"^.*?(?:客户|供应商|厂家|厂商|合作方)")


# "今天上午", which the dictionary even tags as a person.
_DAY_AND_TIME = re.compile(r"(?:[今昨明前后]天|今早|昨晚|今晚)(?:[上下中]午|晚上|早上|傍晚)?")


def _from_word_start(text: str, brand: str, start: int, end: int, suffix: str) -> tuple[str, int]:
    """Segmented with the words before it, a brand that begins inside a word of the dictionary that is no
    name ("一起" + "去" of "一起去妇幼保健院") or with clause words ("今天上午" before "乐家便利") starts after
    them: the brand alone is segmented differently from the sentence it stands in."""
    lo = max(0, start - 6)
    toks = tokens(text[lo : end + len(suffix)])
    new_start = start
    for tok in toks:
        tok_start, tok_end = lo + tok.start, lo + tok.end
        if tok_start < new_start < tok_end and tok.flag not in _NAME_FLAGS and word_flag(tok.word) is not None:
            new_start = tok_end  # cut mid-word: the rest of that word is not the brand's
        elif tok_start == new_start and tok_end < end - 1 and (
            tok.flag in ("t", "tg", "p", "c", "r", "d", "ul", "uj") and word_flag(tok.word) is not None
            or tok.word in _LEADING_VERBS or _TIME_OPENER.match(tok.word) or _DAY_AND_TIME.fullmatch(tok.word)
        ):
            new_start = tok_end  # a time word, preposition or clause verb opens the brand's clause
    if new_start == start or end - new_start < 2:
        return brand, start
    return text[new_start:end], new_start


def _trim_brand(brand: str, suffix: str = "") -> str:
    cut = 0
    # A boundary character inside a word the segmenter keeps whole ("美家装饰") is the brand's own;
    # standing alone ("一家", "去", "的") it ends what came before. A conjunction or a verb of going
    # at the very start ("和华康医疗") is never the brand's, whatever the segmenter groups.
    # Unknown brands are often segmented as verbs ("好味来", "享家"): a verb the dictionary does not
    # know holds its characters together like a noun does; a known verb ("需要", "来自") does not, nor
    # a verb cut from a longer one with its complement ("拜访完" seen as "访完").
    inside = {i for t in tokens(brand + suffix) if len(t.word) > 1 and t.word not in _LEADING_VERBS
              and (t.flag.startswith("n") or (t.flag.startswith("v") and word_flag(t.word) is None
                                              and t.word[-1] not in _COMPLEMENTS + "了着到"))
              for i in range(t.start, min(t.end, len(brand)))} if len(brand) > 1 else set()
    # 了 after a verb never starts a brand either, whatever the segmenter joins it to ("回访了德润").
    inside -= {i for i, ch in enumerate(brand[:1]) if ch in "和了跟与去到在给对从向"}
    # A conjunction the segmenter glues to an unknown brand after it ("和金穗" + "快运") is still "and";
    # "和美医院" after a verb is restored by _conjunction_is_brand.
    # 跟 and 与 are hardly ever part of a brand: anywhere in such a guessed word they are "with"
    # ("天跟金" of "今天跟金穗快运").
    for t in tokens(brand + suffix):
        if t.start < len(brand) and word_flag(t.word) is None:
            inside -= {i for i in range(t.start, min(t.end, len(brand)))
                       if brand[i] in "跟与" or (i == t.start and brand[i] in "和同")}
    for i, ch in enumerate(brand):
        # 和 right before the suffix is the brand's own ("祥和超市", "永和豆浆"), not "and".
        if ch in _BOUNDARY and i not in inside and not (ch == "和" and i == len(brand) - 1 and i > 0):
            cut = i + 1
    brand = brand[cut:]
    # A role inside the span belongs to the clause before the brand ("带着总监拜会华府餐饮集团").
    role_end = max((r.end() for r in _ROLE_IN_SPAN.finditer(brand)), default=0)
    if role_end and len(brand) - role_end >= 2:
        brand = brand[role_end:].lstrip("请约找陪")
    intro = _INTRODUCERS.match(brand)
    return brand[intro.end() :] if intro else brand


_INDUSTRY_END = re.compile(rf"(?:{_INDUSTRY_RE}){_LEGAL}?\Z")


def _suffix_matches(text: str) -> Iterator[re.Match[str]]:
    """Every suffix match, also those overlapping a rejected one: "华建设计院" first matches "建设",
    whose brand "华" is too short, and must still be tried as "设计院" one character on."""
    pos = 0
    while (m := _SUFFIX.search(text, pos)) is not None:
        yield m
        pos = m.start() + 1


def suffix_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every industry-word or legal-form suffix that is not part of a common noun
    ("物流系统"): where a company's name can end. The learned ranker (company_ranker.py) tries every
    brand length before each."""
    return [(m.start(), m.end()) for m in _suffix_matches(text) if not _NOUN_AFTER.match(text[m.end() : m.end() + 4])]


def _conjunction_is_brand(text: str, at: int) -> bool:
    """和 at text[at] begins a brand ("刚接到和美妇产医院", "和美医院…" at the start) unless it joins two
    nouns: a conjunction needs a noun before it, so after a verb, a particle or a clause start it is a name."""
    if text[at] != "和":
        return False
    # At a clause start or after a time word 和 is as often "with" ("下午和晨光教育的人力总监通了电话"),
    # so only a verb right before it ("刚接到和美妇产医院…") makes it the brand's first character.
    toks = tokens(text[max(0, at - 6) : at].rstrip())
    return bool(toks) and toks[-1].flag.startswith("v") and toks[-1].word not in ("和", "跟")


def find_companies(text: str) -> list[CompanyMention]:
    """Company-like mentions in order; brands are trimmed at verbs/particles before them."""
    return list(_find_companies(text))


@lru_cache(maxsize=256)
def _find_companies(text: str) -> tuple[CompanyMention, ...]:
    # Cached: the customer's name and company are both read against the same text's companies.
    found: list[CompanyMention] = []
    accepted_end = 0
    for m in _suffix_matches(text):
        if m.start() < accepted_end:
            continue  # inside a name already found ("金阳新能源" is not also "阳新能源")
        suffix = m.group("suffix")
        after = text[m.end() : m.end() + 4]
        if _NOUN_AFTER.match(after):
            continue
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
            brand, start = _from_word_start(text, brand, start, m.start(), suffix)
        if start > 0 and _conjunction_is_brand(text, start - 1):
            brand, start = "和" + brand, start - 1
        if brand.startswith("第") and start > 0 and text[start - 1] in "市县区省":
            brand, start = text[start - 1] + brand, start - 1  # "市第三人民医院": the city is in its name
        if _no_brand_words(brand, suffix):
            continue
        if len(brand) < 2 or brand in _NOT_BRAND or brand in _GENERIC or brand in INDUSTRY_WORDS:
            continue
        if brand in _LEADING_VERBS:
            continue
        if _is_clause(brand):
            continue
        first = tokens(brand + suffix)[:1]
        if first and first[0].flag == "d" and len(first[0].word) == 1 and len(brand) <= 3:
            continue  # "需要先过医院的…": a one-character adverb opens a clause, never a short name
        if _DESCRIPTION_BEFORE.search(text[max(0, start - 3) : start]):
            continue
        name = brand + suffix
        if _DEPARTMENT_AFTER.match(after):
            # "恒基置业物业部": keep the company before the department's trade word, if there is one.
            if not _INDUSTRY_END.search(brand) or len(brand) < 4:
                continue
            name = brand
        if name.startswith(("我们", "你们", "他们", "她们", "咱们", "贵公司", "本公司")):
            continue
        end = start + len(name)
        foreign = bool(_FOREIGN_CUE.search(text[max(0, start - 6) : start]) or _FOREIGN_AFTER.match(text[end:]))
        if any(f.start == start and f.name == name for f in found):
            continue
        found.append(CompanyMention(name, start, end, foreign))
        accepted_end = m.end()
    # "华东医科大学附属医院" also matches as "华东医科大学": keep the longest of mentions sharing a start.
    return tuple(c for c in found if not any(o.start == c.start and o.end > c.end for o in found))


# A contract's parties: the buyer, the customer, is 甲方 and the seller, the rep's own firm, is 乙方 (the
# usual order of a Chinese purchase or service contract). A party line names a firm only when it ends like
# one, so a chat turn by someone nicknamed 甲方 ("甲方：价格再降点") is no company.
_CONTRACT_BUYER = re.compile(r"(?:^|\n)\s*甲方\s*[:：]\s*(?P<name>[^\s,，;；。()（）:：]{2,28}"
                             r"(?:公司|集团|厂|医院|学校|学院|大学|中心|研究所|事务所|商行|合作社))")


def labelled_company(text: str) -> str | None:
    m = _LABELLED.search(text) or _CONTRACT_BUYER.search(text)
    return m.group("name") if m else None


# Companies without an industry suffix, found by the sentence around them instead of by their last
# word: "去了乐福小厨，…", "见了朗月文创的设计总监…", "我是晓风书局的…", "我们公司（朗月文创）",
# "福瑞德口腔的院长…" at the start of a clause. A fallback after the suffix lexicon.
_ROLE_AFTER = (r"(?:(?![那这])[\u4e00-\u9fffA-Za-z]{0,4}?)"
               r"(?:董事长|总经理|副总|总监|经理|主管|主任|老板|老板娘|院长|校长|"
               r"园长|厂长|店长|行长|科长|部长|处长|场长|采购|负责人|创始人|合伙人|老师|总|工)")
# 的 never sits inside a company's name: it ends the name before a role or a person.
_ORG_CHAR = r"(?:(?!的)[\u4e00-\u9fffA-Za-z])"
# A quoted name before a trade word or its person: "“一只兔”烘焙店", "「晴川」咖啡", "“码上”的创始人".
_QUOTED = re.compile(r"[“\"「『](?P<org>[^”\"」』\s]{2,10})[”\"」』]"
                     rf"(?=[\u4e00-\u9fff]{{0,4}}(?:店|公司|工作室|厂|馆)|的{_ROLE_AFTER})")
_CUE_COMPANY = (
    re.compile(r"(?:我们|我們|本)公司[（(](?P<org>[^）)\s]{2,20})[）)]"),
    re.compile(rf"(?:去了|见了|拜访了?|跑了趟|来自|我是|我们是|我們是)(?:一趟|趟)?\s?"
               rf"(?P<org>{_ORG_CHAR}{{3,10}}?)(?:的{_ROLE_AFTER}|[，,。\s（(]|$)"),
    # A shop or firm named after 叫 in a sentence about it: "店名叫鲜丰汇", "店在鼓楼区，叫花间集".
    re.compile(r"(?:店名|店|门店|公司|厂|单位|工作室)[^。！？\n]{0,10}?(?<![我你他她])叫(?:做)?"
               r"(?P<org>[\u4e00-\u9fffA-Za-z]{2,10})(?=[，,。！？；\s]|$)"),
    _QUOTED,
    # A shop introduced by 叫 before its trade: "一家叫百果园的水果店", "叫乐途的旅行社".
    re.compile(r"叫(?:做)?(?P<org>[\u4e00-\u9fffA-Za-z]{2,8}?)的(?=[\u4e00-\u9fff]{0,4}"
               r"(?:店|公司|工作室|厂|馆|机构|超市|餐厅|酒店|学校|医院|诊所|社))"),
    # A person's organisation and role in brackets after the name: "陈明（永丰精机 业务经理）".
    re.compile(rf"(?<=[\u4e00-\u9fffA-Za-z])[(（](?P<org>{_ORG_CHAR}{{2,10}}?)\s?{_ROLE_AFTER}[)）]"),
    # English self-introductions: "this is Anna Lee from Nordic Grain Trading".
    re.compile(r"(?:\b[Tt]his is|\bI am|\bI'm|\b[Mm]y name is)\s+[A-Z][a-z]+(?: [A-Z][a-z]+)?\s+(?:from|of|at)\s+"
               r"(?P<org>[A-Z][A-Za-z&'-]*(?: [A-Z][A-Za-z&'-]*){0,4})"),
    re.compile(rf"(?:^|[，,。；;！？\n]|\s)(?P<org>{_ORG_CHAR}{{3,10}}?)的{_ROLE_AFTER}"),
    re.compile(r"(?:我是|我们是|我們是)(?P<org>[\u4e00-\u9fffA-Za-z]{3,10}?)的"),
)
_NOT_ORG_WORDS = re.compile(
    r"们|我|你|他|她|这|那|哪|某|现场|工地|总部|公司$|客户$|供应商$|一家|一下|下午|上午|晚上|今天|昨天"
    # a party to a contract (业主方, 甲方), a person's role (负责人胡某)
    r"|方$|负责人|联系人|对接人"
)


def _without_department(org: str) -> str:
    """"市一院设备处" -> "市一院": a department named by an ordinary word (设备, 信息, 后勤) and 部/科/处/室/组
    at the end of an organisation's short name is not part of it."""
    dept, rest = org[-3:-1], org[:-3]
    flag = word_flag(dept)
    # The rest must read as a name: no role or title in it, not ending in a conjunction ("李主任和总务处").
    person_in_rest = _ROLE_IN_SPAN.search(rest) or re.search(r"(?:主任|科长|处长|部长|总|工)[和与跟及]?$", rest)
    if len(rest) >= 2 and flag is not None and flag not in ("ns", "nz", "nt", "nr", "j") and not person_in_rest \
            and rest[-1] not in "和与跟及":
        return rest
    return org


def cue_companies(text: str) -> list[CompanyMention]:
    """Company names a sentence introduces without a lexicon suffix, trimmed like find_companies'."""
    found: list[CompanyMention] = []
    for pattern in _CUE_COMPANY:
        # Quotation marks bound a name on both sides: two characters are enough there ("“青柚”").
        shortest = 2 if pattern is _QUOTED else 3
        for m in pattern.finditer(text):
            org = _trim_place(_drop_leading_verb(_trim_brand(m.group("org")), "")).strip()
            if len(org) < 3:
                # The cue bounds the name on the left, so a boundary character the trim cut at may be the
                # name's own ("去了一趟好客来酒楼", "去了家和家居"): drop only the clause's openers.
                org = _trim_place(_drop_openers(m.group("org"))).strip()
            if org.endswith(("部", "科", "处", "室", "组")):
                # "我们是育才实验学校教务处": the company before its department.
                inner = [c for c in find_companies(org) if org.startswith(c.name) and c.end < len(org)]
                org = inner[0].name if inner else _without_department(org)
            if len(org) < shortest or _NOT_ORG_WORDS.search(org) or org in _GENERIC or org in INDUSTRY_WORDS:
                continue
            if _is_description(org):
                continue
            if re.match(_LEGAL, org):
                continue  # "集团IT的杜总": a department of "the group", not a name
            if org.endswith(tuple(_ROLE_TAILS)) or _is_clause(org, bounded=True):
                continue
            raw = m.group("org")
            first = tokens(raw)
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


# Places of a company that follow its name ("安捷供应链仓库那边", "华宁新材厂里"): not part of it.
_PLACE_TAIL = re.compile(r"(?:仓库|那边|这边|那里|这里|门店|店里|厂里|工厂|总部|现场|办公室)+$")


def _trim_place(org: str) -> str:
    return _PLACE_TAIL.sub("", org)


# Roles between a company and its person ("的 HR 总监", "那边的采购", "的项目经理"), and the person form
# of a surname with a title when no role is said ("捷运通的老周").
_ROLE_WORDS_RE = (r"(?:董事长|总经理|副总|总监|经理|主管|主任|老板娘|老板|院长|校长|园长|厂长|店长|行长|科长|部长|处长|"
                  r"场长|采购|负责人|老师|运营|会计|出纳|财务|助理|专员|秘书|行政|对接人|总|工|HR|IT|CEO|CTO|CFO)")
_BEFORE_PERSON = re.compile(
    rf"(?P<org>(?:(?!的)[\u4e00-\u9fffA-Za-z0-9]){{2,14}})(?:那边|这边|那里)?的\s*"
    rf"(?:(?:(?!的)[\u4e00-\u9fffA-Za-z ]){{0,8}}?{_ROLE_WORDS_RE}\s*)?(?:叫)?\s*\Z"
)


def company_before_person(
    text: str, person: str | None, companies: Sequence[CompanyMention] | None = None
) -> str | None:
    """The company right before the customer's name: Chinese puts the organisation, 的 and the role
    before a person ("跟蓝鲸互动的 HR 总监 方雅琴", "东升电缆那边的采购 包丽华", "中天钢构的项目经理吕建国"),
    so the words there name the customer's own company, whatever its last word is."""
    if not person:
        return None
    # `companies`: find_companies(text) when the caller already has it (it is the costly part).
    all_companies = [c for c in (find_companies(text) if companies is None else companies) if not c.foreign]
    pos = text.find(person)
    while pos >= 0:
        window_start = max(0, pos - 30)
        m = _BEFORE_PERSON.search(text[window_start:pos])
        if m:
            raw = _trim_place(m.group("org"))
            raw_start = window_start + m.start("org")
            raw_end = raw_start + len(raw)
            lexicon = [c for c in all_companies if c.end == raw_end]
            if raw.endswith(("部", "科", "处", "室", "组", "中心")):
                # "去华东医科大学附属医院拜访了药剂科的岑主任": the company before the department, if any.
                lexicon = [c for c in all_companies if raw_start < c.end < raw_end]
                # Without one, a short name before a department of an ordinary word ("区二院信息科").
                stripped = _without_department(raw)
                raw = raw if lexicon else (stripped if stripped != raw else "")
            # Where the lexicon knows the name's last word it also knows where the brand begins; otherwise
            # cut at the clause's verbs and particles, and only if that leaves too little, at its openers.
            org = lexicon[-1].name if lexicon else _drop_leading_verb(_trim_brand(raw), "").strip()
            if len(org) < 3 and not lexicon:
                org = _drop_openers(raw).strip()
            # The name is bounded by the person on the right, so an adverb-tagged word inside it is the
            # segmenter's guess at an unknown name ("云帆互动"); a pronoun or a locative is not.
            clause = any(len(t.word) >= 2 and t.flag in ("p", "c", "r", "f") for t in tokens(org))
            if not lexicon and (_is_description(org) or clause):
                org = ""
            if _plausible_org(org):
                start = max(0, pos - 30) + m.start("org")
                if not _FOREIGN_CUE.search(text[max(0, start - 6) : start]):
                    return org
        pos = text.find(person, pos + 1)
    return None


# Time words that open a clause before a name ("今天那个捷运通", "十一点多长风风电"). Matched as words, since
# jieba also tags some brand words as time ("中天").
_TIME_OPENER = re.compile(r"^(?:[今昨前明后]天|[上下这本]周[一二三四五六日天]?|上个?月|[上下中]午|"
                          r"晚上|早上|今早|昨晚|今晚|刚才|刚刚|刚|早|那个|这个|"
                          r"[零一二三四五六七八九十两\d]+点(?:多|半|钟)?|多)$")


def _drop_openers(org: str) -> str:
    """Drop the words that open a clause before a name bounded by a cue: time words, prepositions,
    pronouns, adverbs and known clause openers ("今天跟蓝鲸互动" → "蓝鲸互动")."""
    while org:
        toks = tokens(org)
        if len(toks) < 2:
            return org
        first = toks[0]
        opener = (first.word in _LEADING_VERBS or _TIME_OPENER.match(first.word) is not None
                  or first.flag in ("p", "c", "r", "d", "ul", "uj", "m", "q", "x") and len(first.word) <= 2
                  and word_flag(first.word) is not None)
        if not opener or len(org) - first.end < 2:
            break
        org = org[first.end :]
    return org.lstrip("了着过")


def _is_description(org: str) -> bool:
    """A description of a person or a trade, not a name: an adjective with a verb ("新来的", "新上任的")
    or with a trade word ("小农场", "大药房"), a clause that ends in an aspect particle ("扑空了")."""
    toks = tokens(org)
    if org.endswith(("了", "过", "着")):
        return True
    if len(toks) >= 2 and toks[0].flag == "a" and len(toks[0].word) == 1:
        rest = org[toks[0].end :]
        if rest in INDUSTRY_WORDS or rest in _GENERIC:
            return True
    # "换成新来", "新上任": a one-character adjective before a verb describes a person, not a name.
    pairs = zip(toks, toks[1:], strict=False)
    return any(a.flag == "a" and len(a.word) == 1 and b.flag.startswith("v") for a, b in pairs)


def _plausible_org(org: str) -> bool:
    """Three or more characters (or a two-character proper noun the dictionary knows) that are not a
    pronoun, a role, a bare trade word or a legal form on its own."""
    long_enough = len(org) >= 3 or (len(org) == 2 and not org.isascii() and word_flag(org) in ("nt", "nz"))
    return (long_enough and not _NOT_ORG_WORDS.search(org) and org not in _GENERIC and org not in INDUSTRY_WORDS
            and not re.match(rf"(?:{_LEGAL}|{_INDUSTRY_RE})", org) and not org.endswith(_ROLE_TAILS)
            and tokens(org)[0].flag != "r")
