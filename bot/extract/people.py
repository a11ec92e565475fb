"""Who is the customer: rep/customer roles in a chat and person mentions in free text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from .chat import ChatLine, clean_display_name
from .segment import token_at, tokens, word_flag
from .textnorm import words

# Common Chinese surnames (compound ones first so 欧阳经理 is not read as 欧 + 阳经理).
COMPOUND_SURNAMES = words(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 令狐 长孙 宇文 司徒 夏侯 端木 轩辕 独孤 南宫 西门 百里 "
    "呼延 澹台 申屠 万俟 闻人 赫连 钟离 太史 公冶 濮阳")
SINGLE_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖萧田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
    "武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒"
    "阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓"
    "古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米杭柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙"
    "荣巫寇桑郎甄丛仲虞敖巩明佘池乐匡钮鞠洪"
    # Less common surnames of the Hundred Family Surnames; a candidate made of one of them and an
    # ordinary word ("索赔", "练习") is rejected by the dictionary check in _is_word_not_name.
    "邝闻冼蔺嵇郦荆扈粟阎廉练蓟邰鄂索赖屠胥逄濮燕冀郏茹慕庾暨阙晁阚竺逯钭湛揭凤伏麻谌漆禹幸植"
)
# Titles customers are addressed by; longest first so 总经理 wins over 总.
TITLES = words("董事长 总经理 副总裁 总裁 副总 总监 经理 主管 主任 老板 老师 律师 会计 工程师 女士 先生 小姐 "
    "局长 处长 科长 部长 院长 校长 厂长 店长 行长 所长 站长 书记 医生 博士 教授 "
    "园长 馆长 护士长 秘书长 组长 队长 社长 大夫 总工 总 工 姐 哥 董")
# Words that look like surname + title but are not people ("施工", "钱总额", "成本").
_FALSE_TITLE_FOLLOWERS = {"总": "额价共部计体量数结账之裁算数和", "工": "作程期资人具艺厂地序单"}
FALSE_TITLE_PAIRS = frozenset(
    words(
        "施工 加工 化工 开工 完工 竣工 复工 停工 动工 用工 分工 手工 监工 罢工 童工 全工 "
        "和总 全总 万总 时总 明总 成总 路总 单工 上工 车工 华工"
    )
)
SURNAME_PATTERN = "(?:" + "|".join(COMPOUND_SURNAMES) + f"|[{SINGLE_SURNAMES}])"
TITLE_PATTERN = "(?:" + "|".join(TITLES) + ")"
TITLED_NAME = re.compile(f"(?P<name>{SURNAME_PATTERN}{TITLE_PATTERN})")
_NOT_NAME_CHARS = set("的了是在我你您他她们这那个下上周天年说和跟与就也都还要会去来过把被给让对从向为约已再谢")
# ASR and some typists put a space between surname and given name ("张 伟").
CJK_NAME = f"{SURNAME_PATTERN} ?[\u4e00-\u9fff]{{1,2}}"
# Latin letters of a romanised name, with the diacritics of Spanish, Portuguese, French, German, Turkish and
# Vietnamese names ("Fernández", "Müller", "Yılmaz", "Võ Thị Bích Ngọc"; round 19): an upper-case first letter,
# then lower-case letters (Latin Extended-A and Vietnamese mix both cases in one range; both are kept).
# Round 20: Cyrillic as well, with the letters Kazakh, Kyrgyz, Uzbek and Mongolian add ("Иван Петров", "Нурлан
# Касымов", "Ганбаатар"): a customer in Russia, Central Asia or Mongolia writes their name so, and no pattern read it.
CYRILLIC_UPPER = "\u0400-\u042f\u0490\u0492\u049a\u04a2\u04ae\u04b0\u04ba\u04d8\u04e8"
CYRILLIC_LOWER = "\u0430-\u045f\u0491\u0493\u049b\u04a3\u04af\u04b1\u04bb\u04d9\u04e9"
LATIN_UPPER = f"A-Z\u00c0-\u00d6\u00d8-\u00de\u0110\u0130\u015e\u0160\u017d{CYRILLIC_UPPER}"
LATIN_LOWER = f"a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u017f\u01a0-\u01b0\u1ea0-\u1ef9{CYRILLIC_LOWER}"
# A romanised name word, with an apostrophe after its first capital or a hyphenated second part kept in it
# ("O'Brien", "D'Souza", "Lopez-Garcia", "Nguyen-Smith": round 20; before, the name was cut at the mark).
LATIN_WORD = f"[{LATIN_UPPER}](?:'[{LATIN_UPPER}])?[{LATIN_LOWER}]+(?:-[{LATIN_UPPER}][{LATIN_LOWER}]+)?"
# The letters a romanised name never starts or ends beside (ASCII and Cyrillic capitals, every lower-case letter
# above).
LATIN_EDGE = f"A-Z{CYRILLIC_UPPER}{LATIN_LOWER}"
_LATIN_NAME = f"{LATIN_WORD}(?: {LATIN_WORD})?"
# "我是远航物流的李明", "我是远航物流的采购李明", "我是远航物流的园长 Guo Ying": the organisation, 的 and a
# role of up to four characters may stand before the name the writer gives.
_SELF_INTRO = re.compile(
    rf"我是(?:[^，,。!！?？\s]{{2,16}}?的)?(?:[\u4e00-\u9fff]{{1,4}}?\s?)??(?P<name>{CJK_NAME}|{_LATIN_NAME})"
    r"(?=[，,。!！?？\s~]|$)"
)
# A signature at the end: "—— 李明", "-王总", "Best, Tom Li", optionally with the organisation in brackets
# ("—— Tom Li（远航物流）").
_SIGNATURE = re.compile(
    rf"(?:——|—|--|-|(?:Best|Regards|Best regards|Thanks|Cheers|BR)[,，]?)\s*"
    rf"(?P<name>{CJK_NAME}|{SURNAME_PATTERN}{TITLE_PATTERN}|{_LATIN_NAME})\s*(?:[(（][^()（）]{{1,20}}[)）])?\s*[。.!！]?\s*$"
)
# English self-introductions: "this is Anna Smith from …", "I'm Tom Li", "my name is Tom Li".
_ENGLISH_INTRO = re.compile(
    r"(?:\b[Tt]his is|\bI am|\bI'm|\b[Mm]y name is)\s+(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+)?)(?![A-Za-z])"
)
# Greetings and honorifics that begin a capitalised pair without being a name ("Hello Mr", "Dear Sir"), and
# (round 19) the days, months and day words an English message capitalises ("by Friday", "Next Tuesday"; April,
# May, June and August are also given names, so they stay).
NOT_LATIN_NAME = frozenset(words(
    "Hello Hi Dear Mr Mrs Ms Miss Sir Madam Best Thanks Regards Good Morning Team "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March July September October "
    "November December Today Tomorrow Tonight Yesterday Weekend Next Last This Please Sorry Our They"))
# Words that make two capitalised words a business or a place, not a person ("Casa Bella Home", "Pacific Sun
# Energy", "Garden City"): checked on the words matched and the word right after them (round 20). Words that are
# also common surnames (Park, Hall, Mills, Banks) are left out.
LATIN_ORG_WORDS = frozenset(word.lower() for word in words(
    "Home Homes Energy Solar Builders Building Construction Goods Trading Traders Foods Food Group Supply Supplies "
    "Solutions Motors Auto Automotive Parts Pty Ltd LLC LLP Inc Co Corp Corporation Company Studio Studios Store "
    "Stores Market Markets Mart Farm Farms Wines Wine Winery Dairy Mining Logistics Freight Shipping Systems Tech "
    "Technologies Plaza City Centre Center Mall Street Road Avenue Hotel Restaurant Cafe Kitchen Kitchens Bakery "
    "Clinic Pharmacy Academy School College University Realty Properties Property Estate Estates Engineering "
    "Industries Industrial Imports Import Exports Export International Holdings Partners Services Equipment "
    "Machinery Electric Electrical Electronics Furniture Design Designs Media Travel Tours Capital Finance "
    "Insurance Medical Health Dental Beauty Fashion Textiles Apparel Seafood Seafoods Produce Brewery Outdoor "
    "Agri Agriculture Resources Minerals Steel Metals Plastics Packaging Printing Labs Lab Network Networks "
    "Sciences Science Cooperative Limitada Ltda GmbH SARL Distribuidora Comercial Comercio Industria Empresa"
))


_NEXT_WORD = re.compile(r"\s+([A-Za-z]+)")


def latin_person(text: str, start: int, end: int) -> bool:
    """Whether the capitalised words at text[start:end] may be a person: no greeting or weekday first ("Dear Ms",
    "Friday"), no business or place word among them or right after them ("Casa Bella Home", "Garden City")."""
    words_ = text[start:end].split()
    if words_[0] in NOT_LATIN_NAME:
        return False
    following = _NEXT_WORD.match(text, end)
    names = words_ + ([following.group(1)] if following else [])
    return not any(word.lower().strip(".,") in LATIN_ORG_WORDS for word in names)


_LABELLED = re.compile(r"(?:客户|联系人|对接人|姓名|客户姓名)\s*[:：]\s*(?P<name>[^\s,，;；。]{2,20})")
_LATIN_FULL = re.compile(rf"(?<![{LATIN_EDGE}@.])(?P<name>{LATIN_WORD} {LATIN_WORD})(?![{LATIN_EDGE}@])")
_MET = re.compile(
    rf"(?:见了|拜访了|联系了|认识了|约了|客户)\s*(?:[^，,。\s]{{2,12}}?的)?(?P<name>{CJK_NAME})"
    r"(?=[，,。、\s(（]|说|聊|谈|表示|反馈|提到|要|想|问|$)"
)
# "张伟张总", "李明李经理": a full name repeated with its title is the strongest free-text evidence.
_NAME_THEN_TITLE = re.compile(rf"(?P<sn>{SURNAME_PATTERN}) ?(?P<given>[\u4e00-\u9fff]{{1,2}}?)(?P=sn){TITLE_PATTERN}")
# "和华康医疗的张伟聊了", "给永安物业的郑华打了电话": someone the rep talked with, of a named company.
_TALKED_WITH = re.compile(
    rf"(?:和|跟|与|给|同)\s*(?:[^，,。\s]{{2,12}}?的)?(?P<name>{CJK_NAME})"
    r"(?=聊|谈|通|见|打|沟通|碰|开会|约|吃饭|签)"
)
_OWN_SIDE = re.compile(r"(?:我们|我司|咱们|我们公司|公司)(?:的)?$")
# The rep's own side further back in the clause: "我们售后部的老钱", "我们的实施经理周工".
_OWN_CLAUSE = re.compile(r"(?:我们|我司|咱们|我方)(?:的)?[\u4e00-\u9fff]{0,6}$")
# "启明物流的钱立新说", "采购黄淑芬说", "周建华说…" (at the start): a full name introduced by 的, a role
# or 叫/是, or opening the text, and followed by a verb of speaking or a pause.
_INTRODUCED = re.compile(
    rf"(?:(?<=的|叫|是)|(?<=采购|财务|经理|总监|主任|老板|主管|会计|负责|联系)|(?<=负责人|联系人|对接人)|"
    # a title right before the name ("设备科长许永刚", "生产厂长蒋国华")
    rf"(?<=科长|厂长|部长|院长|校长|园长|店长|处长|所长|行长|站长|局长|场长|总裁|董事)|^)"
    rf"(?P<name>{SURNAME_PATTERN}[\u4e00-\u9fff]{{1,2}}?)"
    # what the person then does: speaks, calls, meets, talks, eats with the rep
    r"(?=说|表示|反馈|提到|问|要|想|觉得|讲|打电话|打来|打了|通了|来电|聊|谈|见|约|吃|一起|发来|[，,。、:：\s]|$)"
)
# "采购总监 Helen", "运维老大 Jack", "财务Wendy": an English given name after a role or title.
_LATIN_AFTER_ROLE = re.compile(
    r"(?:经理|总监|主管|负责人|老板娘|老板|老大|采购|财务|运营|主任|助理|前台|店长|总|叫|是|的)\s*"
    r"(?P<name>[A-Z][a-z]{2,}(?: [A-Z][a-z]+)?)(?![A-Za-z@.])"
)


# A transcript marks a pause with a space: "安达速运的 老板 褚建新 吃完饭", "的 总经理 施永康 见了". A full
# name standing alone between pauses right after a role is the person that role introduces.
_ROLE_PAUSE_NAME = re.compile(
    r"(?:董事长|总经理|副总|总监|经理|主管|主任|老板娘|老板|负责人|采购|财务|会计|店长|院长|园长|校长|厂长|科长|"
    r"部长|处长|老师|助理|HR|IT|CEO|CTO|的)\s+"
    rf"(?P<name>{SURNAME_PATTERN}[\u4e00-\u9fff]{{1,2}})(?=\s|[，,。!！?？]|$)"
)


@dataclass(frozen=True)
class NameMention:
    name: str
    start: int
    priority: int  # lower is stronger evidence that this is the customer


def full_name_for(titled: str, text: str) -> str | None:
    """The full name behind "胡部长" when the text also spells it out ("叫胡建军", "胡建军 胡部长",
    "白志强开了个会"): the surname plus a one- or two-character given name that ends at a boundary."""
    surname = surname_of(titled)
    if not surname:
        return None
    title = titled[len(surname) :]
    candidates = re.finditer(
        rf"{re.escape(surname)}(?P<given>[\u4e00-\u9fff]{{1,2}}?)"
        rf"(?=\s|[，,。、:：(（]|说|的|和|开|打|聊|反馈|提|问|表示|昨|今|明|$|{re.escape(surname)}{re.escape(title)})",
        text,
    )
    for m in candidates:
        before = text[max(0, m.start() - 4) : m.start()]
        introduced = not before or not re.search(r"[\u4e00-\u9fff]$", before) or before.endswith(
            (*TITLES, "叫", "是", "的", "和", "跟", "与", "了", "人", "购", "务", "员")
        )
        name = surname + m.group("given")
        if introduced and name != titled and plausible_full_name(name) and not name.endswith(TITLES):
            return name
    return None


def surname_of(name: str) -> str | None:
    for compound in COMPOUND_SURNAMES:
        if name.startswith(compound):
            return compound
    return name[0] if name and name[0] in SINGLE_SURNAMES else None


def plausible_full_name(name: str) -> bool:
    return not any(ch in _NOT_NAME_CHARS for ch in name[1:])


# Forms of address the segmenter's dictionary tags as a person although they are ordinary nouns.
# Occupations the dictionary tags as persons too (顾问, 保姆, 保安).
ADDRESS_NOUNS = frozenset(words("师傅 师父 同学 同事 老乡 老师 先生 女士 小姐 阿姨 大姐 大哥 老板 老总 "
                                "顾问 保姆 保安 向导 司机 房东"))


def _inside_word(text: str, start: int) -> bool:
    """text[start] is inside a dictionary word that begins before it: the 施 of "实施经理" or "实施工程师"
    is not a surname. Guessed (out-of-dictionary) and person words do not count: the segmenter often
    joins a preposition to an unknown name."""
    tok = token_at(text, start)
    if tok is None or tok.start == start:
        return False
    flag = word_flag(tok.word)
    return flag is not None and not flag.startswith("nr")


def is_word_not_name(text: str, start: int, name: str) -> bool:
    """A candidate name that is an ordinary word beginning with a surname character: the segmenter reads
    the text there as a word of the dictionary that is not a person ("项目部", "方案", "师傅"), or the
    candidate's first character belongs to the word before it ("实施工程师")."""
    if name in ADDRESS_NOUNS or _inside_word(text, start):
        return True
    if _common_word(name):
        return True
    first = token_at(text, start)
    first = first if first is not None and first.start == start else None
    # "项目部" read as one noun, "方案" as a noun: the word that starts here spans the candidate's first
    # two characters and is no person.
    return first is not None and len(first.word) >= 2 and first.end <= start + len(name) and _common_word(first.word)


def _common_word(word: str) -> bool:
    """A dictionary word that is neither a person nor a proper noun: place and other proper names
    ("龙海", "高明") are given names as often as they are places."""
    flag = word_flag(word)
    return flag is not None and not flag.startswith("nr") and flag not in ("ns", "nz", "nt", "j", "eng")


# A surname with 老 is a form of address (老周, 老聂) unless the dictionary knows the word (老师, 老乡,
# 老顾客): checked for the two and the three characters.
_OLD_SURNAME = re.compile(f"老(?P<sn>[{SINGLE_SURNAMES}])")
# "王总您好，…" at the start of a message addresses its reader, who is the rep.
_ADDRESSEE_AFTER = re.compile(r"^\s*[，,]?\s*(?:您好|你好)")


def _titled_mentions(text: str) -> list[NameMention]:
    found = []
    for m in TITLED_NAME.finditer(text):
        name = m.group("name")
        title_char = name[-1]
        follower = text[m.end() : m.end() + 1]
        if name in FALSE_TITLE_PAIRS or (follower and follower in _FALSE_TITLE_FOLLOWERS.get(title_char, "")):
            continue
        before = text[max(0, m.start() - 10) : m.start()]
        if _OWN_SIDE.search(before[-6:]) or _OWN_CLAUSE.search(before):
            continue  # "我们王总", "我们售后部的王工": the rep's own side
        if _inside_word(text, m.start()):
            continue  # "实施经理" is a role, not 施经理
        if _ADDRESSEE_AFTER.match(text[m.end() :]) and not text[: m.start()].strip():
            continue  # "陈经理您好，我是…": the reader, not the writer
        found.append(NameMention(name, m.start(), 3))
    for m in _OLD_SURNAME.finditer(text):
        two, three = m.group(), text[m.start() : m.end() + 1]
        # The dictionary reads 老周 as a time word ("old week"); any other reading is a word, not a person.
        if word_flag(two) not in (None, "nr", "t") or (len(three) == 3 and word_flag(three) is not None):
            continue
        if _OWN_CLAUSE.search(text[max(0, m.start() - 10) : m.start()]) or _inside_word(text, m.start()):
            continue
        found.append(NameMention(two, m.start(), 3))
    return found


def name_mentions(text: str) -> list[NameMention]:
    """Candidate customer names in free text (notes, forwarded messages), strongest first."""
    found: list[NameMention] = []
    for pattern, priority in ((_LABELLED, 0), (_SELF_INTRO, 1), (_SIGNATURE, 1), (_ENGLISH_INTRO, 1),
                              (_LATIN_FULL, 2), (_MET, 2), (_TALKED_WITH, 2)):
        for m in pattern.finditer(text):
            name = m.group("name").strip()
            if pattern in (_SELF_INTRO, _MET, _TALKED_WITH) and not name.isascii():
                name = name.replace(" ", "")
                if not plausible_full_name(name):
                    continue
                if not name.isascii() and is_word_not_name(text, m.start("name"), name):
                    continue
            if pattern is _LATIN_FULL and not latin_person(text, m.start("name"), m.end("name")):
                continue  # "Dear Ms. Wang": a greeting, not a name; "Casa Bella Home": a business
            if pattern is _LABELLED and ("的" in name or (not name.isascii() and len(name) > 6)):
                continue  # "来访客户：宏达机电的设备主管 …": a description after the label, not a name
            found.append(NameMention(clean_display_name(name), m.start(), priority))
    for m in _INTRODUCED.finditer(text):
        name = m.group("name")
        own_side = _OWN_SIDE.search(text[max(0, m.start() - 8) : m.start()].removesuffix("的"))
        if plausible_full_name(name) and not name.endswith(TITLES) and name not in FALSE_TITLE_PAIRS and not own_side \
                and not is_word_not_name(text, m.start("name"), name):
            found.append(NameMention(name, m.start(), 2))
    for m in _ROLE_PAUSE_NAME.finditer(text):
        name = m.group("name")
        if plausible_full_name(name) and not name.endswith(TITLES) and name not in FALSE_TITLE_PAIRS \
                and not is_word_not_name(text, m.start("name"), name):
            found.append(NameMention(name, m.start("name"), 2))
    for m in _LATIN_AFTER_ROLE.finditer(text):
        found.append(NameMention(m.group("name"), m.start("name"), 2))
    for m in _NAME_THEN_TITLE.finditer(text):
        name = m.group("sn") + m.group("given")
        if plausible_full_name(name) and not _OWN_SIDE.search(text[max(0, m.start() - 6) : m.start()]):
            found.append(NameMention(name, m.start(), 1))
    found.extend(_titled_mentions(text))
    found.sort(key=lambda n: (n.priority, n.start))
    return found


def is_rep(name: str, rep_names: Sequence[str]) -> bool:
    cleaned = clean_display_name(name)
    for rep in rep_names:
        rep_clean = clean_display_name(rep)
        if not rep_clean:
            continue
        if rep_clean == cleaned or rep_clean in cleaned or fuzz.ratio(rep_clean, cleaned) >= 90:
            return True
    return False


def _address_score(speaker: str, others_text: str) -> int:
    """How the other side addresses this speaker: 许总/蔡经理 means customer, 小范 means rep."""
    surname = surname_of(speaker)
    if not surname:
        return 0
    score = 0
    for title in TITLES:
        if f"{surname}{title}" in others_text:
            score += 3
            break
    if re.search(f"(?<![\u4e00-\u9fff])小{surname}|[，,。!！\\s]小{surname}|^小{surname}", others_text):
        score -= 3
    return score


def _voice_score(text: str) -> int:
    # Reps say 您 to customers; customers refer to the vendor as 你们 / 贵司.
    polite = min(text.count("您"), 3)
    vendor = min(len(re.findall("你们|贵司|贵公司", text)), 3)
    return vendor - polite


def customer_speaker(turns: Sequence[ChatLine], rep_names: Sequence[str] = ()) -> str | None:
    """The speaker in a chat who is the customer (the one who is not the rep)."""
    speakers: list[str] = []
    for turn in turns:
        if turn.speaker and turn.speaker not in speakers:
            speakers.append(turn.speaker)
    candidates = [s for s in speakers if not is_rep(s, rep_names)]
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    scores: dict[str, int] = {}
    for speaker in candidates:
        own = "\n".join(t.text for t in turns if t.speaker == speaker)
        others = "\n".join(t.text for t in turns if t.speaker != speaker)
        scores[speaker] = 2 * _address_score(speaker, others) + _voice_score(own)
    # Ties go to the earliest speaker: a pasted thread usually starts with the customer's message.
    return max(candidates, key=lambda s: (scores[s], -candidates.index(s)))


# What a person the note reports does: speaks, judges, asks, promises ("高经理说", "Kevin 想",
# "Tom 对报价不满意").
_REPORTED = (r"\s*(?:在|也|就|又|还|当场|一直)?\s*"
             r"(?:说|表示|觉得|认为|提到|反馈|透露|要求|希望|答应|同意|对|问|让|想|要)")
# A person who is no longer there: "之前的 Vivian 调走了", "王经理退休了".
_GONE = r"\s*(?:已经)?(?:离职|调走|走了|退休|不在了|不管了|不负责)"


def _forms(name: str, text: str) -> list[str]:
    """How the text refers to a person again: the name itself, a Latin given name, or the surname
    with a title ("高敏" -> "高经理")."""
    forms = [name]
    if " " in name and name.isascii():
        forms.append(name.split()[0])
    elif not name.isascii() and not name.endswith(TITLES):
        surname = surname_of(name)
        if surname:
            forms.extend(m.group() for m in re.finditer(f"{re.escape(surname)}{TITLE_PATTERN}", text))
    return forms


def _does(name: str, text: str, what: str) -> bool:
    return any(re.search(rf"(?<![A-Za-z]){re.escape(form)}(?![A-Za-z]){what}", text) for form in _forms(name, text))


def reported_person(chosen: str, candidates: Sequence[str], text: str) -> str:
    """Of several people a note names, the customer is the one whose words or judgement it reports
    ("见了采购 A 和财务经理 B … 高经理说…"), not one who has left or is only present. ``chosen`` stays
    unless it neither speaks nor acts and exactly one other candidate does, or it has left."""
    others = [c for c in dict.fromkeys(candidates) if c != chosen and not _same_person(c, chosen)
              and not _appositive(chosen, c, text)]
    if not others:
        return chosen
    gone = _does(chosen, text, _GONE)
    if _does(chosen, text, _REPORTED) and not gone:
        return chosen
    speaking: list[str] = []
    for c in others:
        if _does(c, text, _REPORTED) and not _does(c, text, _GONE) and not any(_same_person(c, o) for o in speaking):
            speaking.append(c)  # one person said two ways ("高敏", "高经理") counts once
    return speaking[0] if len(speaking) == 1 or (gone and speaking) else chosen


def _appositive(name: str, other: str, text: str) -> bool:
    """"老周 就是他们车队长": ``other`` restates who ``name`` is, right after it."""
    return re.search(rf"{re.escape(name)}\s*[，,]?\s*(?:也就是|就是|即)\s*(?:他们|她们|他|她)?(?:的)?\s*"
                     rf"{re.escape(other)}", text) is not None


def _same_person(a: str, b: str) -> bool:
    return a in b or b in a or (not a.isascii() and not b.isascii() and surname_of(a) == surname_of(b) is not None
                                and (a.endswith(TITLES) or b.endswith(TITLES)))


# An ASR or typist's self-correction: "叫韦强 说错了 是韦刚", "Amy 罗 不对 是罗佳".
_CORRECTION = re.compile(
    rf"\s*[^，,。\s]{{0,3}}\s*(?:不对|不是|说错了|错了)\s*[,，]?\s*(?:是|叫)?\s*(?P<fix>{CJK_NAME}|{_LATIN_NAME})"
)


def corrected_name(name: str, text: str) -> str:
    """The name a speaker corrects to right after saying ``name``, if any."""
    at = text.find(name)
    if at < 0:
        return name
    m = _CORRECTION.match(text, at + len(name))
    if not m:
        return name
    fix = m.group("fix").replace(" ", "") if not m.group("fix").isascii() else m.group("fix")
    return fix if fix.isascii() or plausible_full_name(fix) else name


def fuller_latin_name(name: str, text: str) -> str:
    """"Grace" when the text also writes "Grace Lin": the full name the person is filed under."""
    if " " in name or not re.fullmatch(r"[A-Z][a-z]+", name):
        return name
    m = re.search(rf"(?<![A-Za-z]){re.escape(name)} (?P<last>[A-Z][a-z]+)(?![A-Za-z])", text)
    return f"{name} {m.group('last')}" if m and m.group("last") not in NOT_LATIN_NAME else name


_STATED_SURNAME = re.compile(rf"(?:我|免贵|^|[，,。\s])姓(?P<sn>{SURNAME_PATTERN})")
_LATIN_DISPLAY = re.compile(r"[A-Za-z][A-Za-z .'-]*")


def name_behind_nickname(speaker: str, own_text: str, other_text: str) -> str:
    """A display name that is no person's name ("晴天", "果果妈", "小雨老师", a shop's name) gives way to
    what the chat itself says: a full name the customer writes, else the surname the customer states
    ("我姓白") with the title the rep addresses them by ("白女士您好"), else that address alone."""
    familiar = speaker[:1] in ("老", "小", "大", "阿") and surname_of(speaker[1:]) == speaker[1:]
    if surname_of(speaker) or familiar or _LATIN_DISPLAY.fullmatch(speaker):
        return speaker  # a name, or a familiar form of one ("老邓", "小米", "大刘")
    stated = _STATED_SURNAME.search(own_text)
    # The rep's address ("严老师您好") is exactly what is wanted here, so no reader/writer filtering.
    addressed = [m.group("name") for m in TITLED_NAME.finditer(other_text) if m.group("name") not in FALSE_TITLE_PAIRS
                 and not _inside_word(other_text, m.start())]
    surname = stated.group("sn") if stated else (surname_of(addressed[0]) if addressed else None)
    if not surname:
        return speaker
    for tok in tokens(own_text):  # "李明辉，味享家食品": the full name the customer gives
        if tok.flag.startswith("nr") and tok.word.startswith(surname) and len(tok.word) in (2, 3) \
                and plausible_full_name(tok.word) and not is_word_not_name(own_text, tok.start, tok.word):
            return tok.word
    titled = [a for a in addressed if surname_of(a) == surname]
    return titled[0] if titled else speaker


def titled_for_latin(name: str, text: str) -> str:
    """"Bruce 姓何 何总": a Latin given name said with the surname is filed as the surname with the title
    the text uses, since no full name is given."""
    if not re.fullmatch(r"[A-Z][a-z]+", name):
        return name
    at = text.find(name)
    m = re.match(rf"\s*[，,]?\s*(?:他|她)?姓\s*(?P<sn>{SURNAME_PATTERN})", text[at + len(name) :]) if at >= 0 else None
    if not m:
        return name
    titled = re.search(f"{re.escape(m.group('sn'))}{TITLE_PATTERN}", text)
    return titled.group() if titled else name
