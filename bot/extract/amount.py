"""Money amounts in yuan: Arabic or Chinese numerals, 万/千/k units, ¥ and 元 markers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import cn2an

from .textnorm import normalize_text

# Financial numerals (大写, "捌拾贰万元整") are how contracts, invoices and payment notices write sums.
_CN = "零〇一二两三四五六七八九十百千万亿点幺壹贰叁肆伍陆柒捌玖拾佰仟"
# Bounded and anchored at a number's start: unbounded digit runs backtrack quadratically on long junk.
_NUM = r"(?<!\d)(?<!\d[.,])\d[\d,]{0,14}(?:\.\d{1,6})?(?![\d,])"
_CNUM = f"(?<![{_CN}])[{_CN}]{{1,20}}"
_UNIT = r"(?:万|亿|千|k|K|w|W)"
_CURRENCY_AFTER = r"(?:元|块钱|块|人民币|RMB|rmb|CNY)"
_CURRENCY_BEFORE = r"(?:¥|RMB|rmb|CNY|人民币)"
# Things counted rather than paid: "120万用户", "3万台", "两万亩", "三千票" are quantities, not money.
# Chinese measure words (量词) are a closed class; the ones that also begin an ordinary word are
# excluded from that word ("20万包括安装", "50万本周内付", "10万支付", "单价", "方案").
_QUANTITY_AFTER = re.compile(
    r"^(?:多|余|来)?(?:人|个(?!月)|台|件|次|套|家|条|字|吨|公里|平(?!台)|平米|平方|户|用户|名|位|张|份|箱|"
    r"本(?![周月年季次身来地金])|辆|行(?!业)|元素|门店|头(?![款期])|亩|票(?!据)|单(?![价独位项次笔店月年])|"
    r"方(?![案面式便向法能])|只(?![是有要能])|棵|株|瓶|包(?![括含干年月邮])|袋|盒|片(?!区)|栋|所(?![以有])|"
    r"颗|根(?!据)|支(?![付持出票])|双(?!方)|桶|卷|罐|斤|公斤|千克|米|册|篇|页|笔|场(?![地景])|趟|柜|托|"
    r"批(?![复准下了])|间|座|株|SKU|sku)"
)
# Amounts in another currency are not converted (README): "港币二万", "HKD 300,000", "5万美元".
# Round 20: the colloquial and Traditional names (加币, 港幣, 紐幣, 日圓), the currencies of Oceania, Russia, Central
# Asia and Mongolia, and a rough figure before the currency ("三萬幾加幣", "两万多美金").
_FOREIGN_NAMES = (r"港币|港幣|港元|澳门币|澳門幣|澳门元|澳門元|澳币|澳幣|澳元|美元|美金|美刀|欧元|歐元|"
                  r"日元|日圓|日币|日幣|英镑|英鎊|新台币|新台幣|台币|台幣|新币|新幣|韩元|韓元|韩币|韓幣|"
                  r"加元|加币|加幣|纽币|紐幣|纽元|紐元|新西兰元|令吉|林吉特|泰铢|泰銖|越南盾|卢比|盧比|"
                  r"卢布|盧布|比索|瑞郎|坚戈|堅戈|图格里克|圖格里克|苏姆|蘇姆|索姆")
_FOREIGN_CODES = r"HKD|USD|EUR|JPY|GBP|MOP|AUD|NZD|SGD|CAD|MYR|THB|VND|INR|PHP|IDR|KRW|CHF|RUB|KZT|MNT|UZS|KGS|TJS"
_FOREIGN_BEFORE = re.compile(
    rf"(?:{_FOREIGN_NAMES}|{_FOREIGN_CODES}|HK\$|US\$|A\$|AU\$|NZ\$|C\$|CA\$|\$|€|NTD|NT\$|£|₽|₸|₩|"
    # "RM 80k" is ringgit; not the RM of CRM/ERM
    r"(?<![A-Za-z])RM|S\$)\s*$",
    re.IGNORECASE,  # the amounts are read from lower-cased text ("usd")
)
_FOREIGN_AFTER = re.compile(rf"^\s*(?:几|幾|多|余|餘|来|來)?\s*(?:{_FOREIGN_NAMES}|刀|{_FOREIGN_CODES})", re.IGNORECASE)
# A speaker correcting the figure just said ("四十五万 不对 是四十八万"): the first one is withdrawn.
_CORRECTION = re.compile(r"^(?:出头|左右|上下|多)?[\s，,。]*(?:呃|嗯)?[\s，,]*(?:不对|不是|说错了|哦不|错了)")
_CORRECTION_REACH = 10
# Words that make a figure money: a bare "三千" or "5k" without 元/万 needs one in its sentence, and when
# a text has several figures the one a money word introduces is the deal's ("会员三十万左右。预算150万").
_MONEY_CUE = re.compile(
    r"预算|报价|报的|价|钱|费|款|合同|金额|成本|投资|付|收|租金|总共|一共|共计|标的|贵|便宜|优惠|折|打包|采购额|进货|营业额|"
    r"每月|每年|包年|包月|套餐"
)
_SENTENCE = re.compile(r"[^。！？!?\n]+")
_CLAUSE_MARKS = "，,。；;！？!?\n"
_CLAUSE = re.compile(r"[，,。；;！？!?\n]")
_BARE_LIMIT = 10_000  # below 1万, a figure without a currency marker is money only with a money word
_CANDIDATE = re.compile(
    rf"(?P<before>{_CURRENCY_BEFORE})\s*(?P<n1>{_NUM})\s*(?P<u1>{_UNIT})?"
    rf"|(?P<n2>{_NUM})\s*(?P<u2>{_UNIT})?\s*(?P<cur2>{_CURRENCY_AFTER})"
    # "6万3", "18万5": a digit after 万 is the next place down, as in spoken "四万二" (4.2万)
    rf"|(?P<n3>{_NUM})\s*(?P<u3>万|亿|w|W|k|K)(?:(?<=[万wW])(?P<t3>\d)千?(?![\d.,%％]))?(?![A-Za-z])"
    # "八十来万", "50来万": an approximate figure (numeral + 来 + unit)
    rf"|(?P<c6>{_CNUM})来(?P<u6>万|亿)|(?P<n6>{_NUM})来(?P<u6b>万|亿)"
    # "九万六一年": the trailing 一 of a rate ("一年", "一个月") is not part of the figure
    rf"|(?P<c4>{_CNUM}[万亿千](?:[{_CN}](?!(?<=一)(?:年|个月|月|天|季)))*)(?P<cur4>{_CURRENCY_AFTER})?"
    rf"|(?P<c5>{_CNUM})(?P<cur5>{_CURRENCY_AFTER})"
)
# The amount column is INTEGER (int4 on PostgreSQL): an amount past 2^31-1 yuan (about 21亿) cannot be
# stored and used to fail the whole message there. It is left out of the record; the text keeps it.
MAX_AMOUNT_CNY = 2**31 - 1
# 块 is both "yuan" and a measure word ("三十块屏", "两块地"): it is money only when nothing follows it
# or what follows is money talk (钱, 左右, 一个, 每…), never when a noun it counts follows.
_KUAI_AS_MEASURE = re.compile(r"^[\u4e00-\u9fff]")
# A function word or pronoun after 块 cannot be the noun it counts ("八千块你们什么时候退", "三千块的安装费").
_KUAI_MONEY_FOLLOWERS = ("钱", "左右", "上下", "出头", "一", "每", "的", "多", "你", "您", "我", "他", "她", "就", "都",
                         "也", "还", "是", "了", "呢", "吧", "啊", "呀")
# "这一块" / "那一块" is an area of concern ("售后那一块"), not one yuan.
_AREA_KUAI = re.compile(r"[这那哪]一块$")
_MULTIPLIER = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "千": 1_000, "k": 1_000, "K": 1_000}


@dataclass(frozen=True)
class AmountMatch:
    yuan: int
    start: int
    end: int
    explicit_currency: bool


def _arabic(number: str, unit: str | None) -> int | None:
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None
    return int(value * _MULTIPLIER.get(unit or "", 1))


_DIGIT_OF = {c: str(i) for i, c in enumerate("零一二三四五六七八九")} | {"两": "2"}
_TWO_PLACES = re.compile("(.+)万([一二两三四五六七八九])([零一二三四五六七八九])")


def chinese_number(text: str) -> int | None:
    """Chinese numeral (possibly colloquial, e.g. 三万九千八 / 二十万八 / 三点九八万) to an integer."""
    text = text.replace("幺", "一")
    unit = 1
    # cn2an rejects decimals before a unit ("三点九八万"): scale the decimal part ourselves.
    if "点" in text and text[-1] in "万亿":
        unit = 10_000 if text[-1] == "万" else 100_000_000
        text = text[:-1]
    try:
        value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        # Spoken shorthand names the next two places after 万 ("两万六五" = 26500, like "三万九千八").
        short = _TWO_PLACES.fullmatch(text)
        if not short:
            return None
        head = chinese_number(short.group(1))
        if head is None:
            return None
        return (head * 10_000 + int(_DIGIT_OF[short.group(2)]) * 1_000 + int(_DIGIT_OF[short.group(3)]) * 100) * unit
    return int(Decimal(str(value)) * unit)


def _foreign(text: str, start: int, end: int) -> bool:
    """Whether the figure at text[start:end] is in another currency (not converted: README)."""
    return bool(_FOREIGN_BEFORE.search(text[max(0, start - 6) : start]) or _FOREIGN_AFTER.match(text[end : end + 6]))


def find_amounts(text: str) -> list[AmountMatch]:
    """Money mentions in order of appearance; percentages and counted quantities are skipped."""
    found: list[AmountMatch] = []
    for m in _CANDIDATE.finditer(text):
        start, end = m.span()
        if text[max(0, start - 3) : start].endswith("百分之") or text[end : end + 1] in ("%", "％"):
            continue
        explicit = bool(m.group("before") or m.group("cur2") or m.group("cur4") or m.group("cur5"))
        currency = m.group("cur2") or m.group("cur4") or m.group("cur5") or ""
        after = text[end : end + 2]
        if currency == "块" and _KUAI_AS_MEASURE.match(after) and not after.startswith(_KUAI_MONEY_FOLLOWERS):
            continue
        if currency == "块" and _AREA_KUAI.search(text[max(0, start - 1) : end]):
            continue
        if not explicit and _QUANTITY_AFTER.match(text[end : end + 4]):
            continue
        if _foreign(text, start, end):
            continue
        yuan: int | None
        if m.group("n1"):
            yuan = _arabic(m.group("n1"), m.group("u1"))
        elif m.group("n2"):
            yuan = _arabic(m.group("n2"), m.group("u2"))
        elif m.group("n3"):
            yuan = _arabic(m.group("n3"), m.group("u3"))
            if yuan is not None and m.group("t3"):
                yuan += int(m.group("t3")) * 1_000
        elif m.group("c6"):
            number = chinese_number(m.group("c6"))
            yuan = number * _MULTIPLIER[m.group("u6")] if number else None
        elif m.group("n6"):
            yuan = _arabic(m.group("n6"), m.group("u6b"))
        else:
            raw = m.group("c4") or m.group("c5")
            if raw.startswith("点") or raw.endswith("点"):
                continue
            yuan = chinese_number(raw)
        if yuan is None or not 0 < yuan <= MAX_AMOUNT_CNY:
            continue
        found.append(AmountMatch(yuan, start, end, explicit))
    found = sorted([*found, *_after_price_words(text, found)], key=lambda a: a.start)
    following: list[AmountMatch | None] = [*found[1:], None] if found else []
    return [a for a, b in zip(found, following, strict=True) if not _corrected(text, a, b)]


# A plain number right after a price or rate word is money even without 元 ("租金是3800", "一年 4,800").
# Totals and named payments introduce a sum the same way ("一共15600", "尾款9300", "押金是六千五", "金额不变
# 还是8700", "定金20%也就是13000").
_PRICE_WORD = re.compile(
    r"(?:价格?|价钱|租金|费用?|报价|预算|总价|单价|年费|月费|一年|每年|每月|一个月|一天|每天|"
    r"一共|总共|合计|共计|总计|总额|金额|[尾首余货]款|定金|订金|押金|预付款)"
    r"(?:不变)?(?:是|为|要|就|就是|还是|也就是|大概|大约|约)?\s*\Z"
)
_BARE_NUMBER = re.compile(r"(?<![\d.,:/\-])\d[\d,]{2,9}(?:\.\d{1,2})?(?![\d.,:/\-%％万亿千kKwW年月日号点])")


def _after_price_words(text: str, found: list[AmountMatch]) -> list[AmountMatch]:
    taken = [(a.start, a.end) for a in found]
    extra = []
    for m in _BARE_NUMBER.finditer(text):
        if any(s <= m.start() < e for s, e in taken) or not _PRICE_WORD.search(text[max(0, m.start() - 8) : m.start()]):
            continue
        if _QUANTITY_AFTER.match(text[m.end() : m.end() + 4]) or _foreign(text, m.start(), m.end()):
            continue
        yuan = _arabic(m.group(), None)
        if yuan and 0 < yuan <= MAX_AMOUNT_CNY:
            extra.append(AmountMatch(yuan, m.start(), m.end(), False))
    return extra


def _corrected(text: str, amount: AmountMatch, following: AmountMatch | None) -> bool:
    return (
        following is not None
        and following.start - amount.end <= _CORRECTION_REACH
        and bool(_CORRECTION.match(text[amount.end : following.start]))
    )


def _sentence_of(text: str, amount: AmountMatch) -> str:
    for m in _SENTENCE.finditer(text):
        if m.start() <= amount.start < m.end():
            return m.group()
    return ""


# Figures that are about money but are not the deal's amount (README: budget, quote, contract value or
# payment), each a construction of its own:
# - a difference stated with a comparative right before the figure ("贵了三万", "每吨高八百块", "便宜五六块",
#   "差了一千"): the gap between two prices, not a price (the superlatives 最高/最低 state a limit, and "还差四万六"
#   is a sum still owed: both kept);
_DIFFERENCE = re.compile(
    r"(?:(?<![最不提降])(?:贵|便宜|低|高|少)(?:了|出|出了)?|差了|多了)(?:差不多|大概|大约|将近|近|约|个|整整)?\Z"
)
# - a threshold of an approval rule ("超过三十万的项目都要董事会批", "二十万以上的采购要走招标",
#   "金额超过40万必须上会"): a condition on every purchase, not this one ("预算不超过十二万" is a budget and is kept);
_OVER_BEFORE = re.compile(r"(?<!不)(?:超过|超出|高于|大于)\s*\Z")
_THRESHOLD_AFTER = re.compile(r"^\s*(?:以上|以下)?\s*(?:的|都|必须|就要|就得|需要|要|得)")
_RANGE_AFTER = re.compile(r"^\s*(?:以上|以下)的")
# - an indefinite figure ("几十万", "数万", "两万多", "三千多块"): an order of magnitude, not an amount;
_VAGUE_BEFORE = re.compile(r"[几数]\Z")
_VAGUE_AFTER = re.compile(r"^多(?!少)")
# - a business result or a loss ("营收做到了八十万", "停机一天损失五万", "年度目标一千万"): the customer's or the
#   rep's figures, not money between them.
_METRIC_BEFORE = re.compile(r"(?:GMV|gmv|销售额|成交额|营收|产值|业绩|目标(?!价)|损失)[^，,。；;！？!?\n\d]{0,4}\Z")


# A price per item ("一台¥3,900", "2.6万一套", "按人头每月6块", "一个工位一年300") gives way to a total of the
# same text ("三台一共一万二千六"): the deal is what the customer pays in all. Alone, it is the amount.
_COUNTED = r"(?:个(?!月)|位|台|件|套|张|只|箱|吨|包|袋|盒|瓶|份|辆|平米|平方|米|间|场|账号|用户|人头|人)"
_PER_ITEM_BEFORE = re.compile(rf"(?:(?:每|一){_COUNTED}|单价|按人头)[^，,。；;！？!?\n\d]{{0,4}}\Z")
_PER_ITEM_AFTER = re.compile(rf"^[^，,。；;！？!?\n\d]{{0,2}}?(?:一|每){_COUNTED}")


def _per_item(text: str, a: AmountMatch) -> bool:
    before, after = text[max(0, a.start - 10) : a.start], text[a.end : a.end + 5]
    return bool(_PER_ITEM_BEFORE.search(before) or _PER_ITEM_AFTER.match(after))


# A price the two parties' side states ("我们报的十三万五", "你们卖八千六", "我司报价是") is the deal's, ahead of
# one another supplier gave ("华为报的是十一万", "网上同款才五千") in the same text.
_OUR_PRICE = re.compile(
    r"(?:我们|你们|我司|贵司|我方)[^，,。；;！？!?\n\d]{0,3}?(?:报|卖|开价|要价)[^，,。；;！？!?\n\d]{0,3}\Z"
)


def _not_the_deal(text: str, a: AmountMatch) -> bool:
    before, after = text[max(0, a.start - 12) : a.start], text[a.end : a.end + 8]
    if _DIFFERENCE.search(before) or _VAGUE_BEFORE.search(before) or _VAGUE_AFTER.match(after):
        return True
    if _OVER_BEFORE.search(before) and _THRESHOLD_AFTER.match(after):
        return True
    return bool(_RANGE_AFTER.match(after) or _METRIC_BEFORE.search(before))


def deal_amount(text: str) -> int | None:
    """The deal's amount among the figures of a chat or note (README: at most one per text): one with a
    currency marker first, then one a money word introduces, then the first; a figure under 1万 without
    a currency marker counts only when its sentence talks money ("每月大概三千票" is no price)."""
    amounts = [
        a for a in find_amounts(text)
        if (a.explicit_currency or a.yuan >= _BARE_LIMIT or _MONEY_CUE.search(_sentence_of(text, a))
            or _PRICE_WORD.search(text[max(0, a.start - 8) : a.start]))
        and not _not_the_deal(text, a)
    ]
    if not amounts:
        return None

    def cued(a: AmountMatch) -> bool:
        clause = _CLAUSE.search(text, a.start)
        clause_start = max(text.rfind(c, 0, a.start) for c in _CLAUSE_MARKS)
        return bool(_MONEY_CUE.search(text[clause_start + 1 : clause.start() if clause else len(text)]))

    return min(amounts, key=lambda a: (_per_item(text, a), not _OUR_PRICE.search(text[max(0, a.start - 10) : a.start]),
                                      not a.explicit_currency, not cued(a), a.start)).yuan


def parse_amount(text: str) -> int | None:
    """An amount in yuan from a short expression ("50万", "¥39,800", "三万九千八"), or None."""
    text = normalize_text(text).strip()
    if not text:
        return None
    amounts = find_amounts(text)
    if amounts:
        return amounts[0].yuan
    # A bare number typed as a command argument ("39800", "三万九千八") is taken as yuan.
    bare = text.replace(",", "").replace(" ", "")
    yuan = None
    if re.fullmatch(r"\d{1,15}(?:\.\d{1,6})?", bare):
        yuan = _arabic(bare, None)
    elif re.fullmatch(_CNUM, bare):
        yuan = chinese_number(bare)
    return yuan if yuan is not None and 0 < yuan <= MAX_AMOUNT_CNY else None
