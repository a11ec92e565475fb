"""A learned ranker over customer-name candidates (issue #13, round 6).

The rules (people.py, persons.py) each propose a name and a fixed precedence picks one; on text by new
authors that precedence is where most customer misses come from: the wrong person among several, an
English name cut from its surname ("Lucy郑"), an ordinary word taken as a name. Here every proposal is a
candidate, together with forms the rules do not produce (English given name + surname, both lengths of a
Chinese name, a surname with a title, every chat speaker, jieba's person tokens), and a conditional-logit
model trained on TRAINING_POOL labels (benchmarks/train_customer_ranker.py) picks one of them or "none".

Each candidate is described by where it came from (which rule, whether the rules chose it), its shape
(full Chinese name, surname + title, Latin name, Latin + surname), where it stands (customer turn or rep
turn, header speaker, inside a company's name, after an own-side marker or a back-office role, before a
verb of speaking) and hashed character n-grams of its left and right context. Never a phone, an e-mail
or a clause (digits, '@', punctuation, more than 20 characters), never a rep.

Inference is numpy only; the weights (customer_ranker.npz, float32, ~70 kB) load once per process; the
same text always gives the same name. Without the weights file the rules' choice stands.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .chat import ChatLine
from .company import find_companies
from .message_roles import register, role_keys
from .people import (
    CJK_NAME,
    LATIN_EDGE,
    LATIN_LOWER,
    LATIN_UPPER,
    LATIN_WORD,
    SINGLE_SURNAMES,
    SURNAME_PATTERN,
    TITLE_PATTERN,
    TITLED_NAME,
    TITLES,
    corrected_name,
    full_name_for,
    is_rep,
    is_word_not_name,
    latin_person,
    name_mentions,
    plausible_full_name,
    surname_of,
    titled_for_latin,
)
from .persons import person_mentions

# Weights and scores are re-exported: the trainers build and score with them.
from .ranker_scores import Weights as Weights
from .ranker_scores import read_ranker_weights
from .ranker_scores import scores as scores
from .segment import token_at, tokens, word_count, word_flag
from .translit_names import TRANSLIT_CHARS, dotted_names, translit_spans
from .weights_file import ShippedWeights

WEIGHTS_FILE = Path(__file__).with_name("customer_ranker.npz")
HASH_BITS = 14
N_HASHED = 1 << HASH_BITS
MAX_CANDIDATES = 24  # bounds the cost of a long paste
# Round 13 (`MESSAGE_ROLE_KEYS`): where a person stands in one message, the writer of a forward named in a label
# before the first colon or in a sign-off at its end, and the role words of the mention's clause (我们 / 你们 /
# 他们 / 我是 / a third party's role) crossed with whom the message addresses (`message_roles.py`): hashed keys of
# the first occurrence on each side. Held out over 94 authors (11 groups): 92.50 → 92.76% (37 up, 19 down); on the 78
# authors whose misses were never read 92.45 → 92.72% (32 up, 14 down); forwarded single messages 93.80 → 94.16%,
# voice memos 93.06 → 93.60% (tests/data/FINAL_FIELDS.md, round 13).
MESSAGE_ROLE_KEYS = True
# A form of address that opens the message ("刘经理，…": the addressee, the rep), built after reading misses of the
# READ authors: level on the unread ones (92.72 → 92.73%, 10 up / 9 down), so it is off.
MESSAGE_VOCATIVE = False
# Round 15 (`TRANSLIT_CANDIDATES`): a transliterated name written in Chinese (买买提江, 古丽娜尔, 扎西次仁,
# 阿依古丽·买买提) has no surname and is no candidate of the people rules: spans of the closed class of
# transliteration characters (`translit_names.py`, from the Xinhua tables, not from data) are candidates (and the span
# with a title after it), with hashed keys for the share of such characters in any Chinese candidate.
# Off: the candidates and features are round 14's.
TRANSLIT_CANDIDATES = True
# Round 15 (`RARE_SURNAMES`): a surname outside people.py's list of the 300 most common (芮, 裘, 郁, 储, 贝):
# the single surnames of the Hundred Family Surnames (百家姓) with a given name the segmenter reads as a person's
# name, or with a title; and any person token of the segmenter whose first character is such a surname. Chosen after
# reading the READ authors' misses, so judged on the UNREAD ones.
RARE_SURNAMES = True
# Round 15 (`ADDRESS_FORMS`): 小 / 老 + a surname as a form of address before any word (跟老周吃饭, 老许：, 店长小范说),
# not only before a pause or a verb of speaking; 小X is still no dictionary word other than a name or a noun (小时 is
# a noun too: the ranker weighs dict_word). Chosen after reading the READ authors' misses.
ADDRESS_FORMS = True

# Where a candidate came from. m0..m3: people.name_mentions priority; p1..p3: persons.person_mentions
# score; r*: the same found in the rep's chat turns.
SOURCES = (
    "rules", "m0", "m1", "m2", "m3", "p1", "p2", "p3", "rm", "rp", "spk_cust", "spk_other", "latin",
    "latin_sn", "titled", "fullname", "stated", "called", "nr", "short", "long", "display", "display_other",
    "before_title", "after_role", "old",
)
DENSE = (
    *(f"src_{s}" for s in SOURCES),
    "occ_cust", "occ_rep", "first_pos", "cjk_full", "ends_title", "is_latin", "latin_mix", "has_space",
    "length", "in_company", "own_side", "backoffice_before", "speech_after", "word_not_name",
    "contains_other", "inside_other", "same_surname_rules", "n_cands", "is_speaker", "rules_none_here",
    "only_rep_side", "addressed_after", "dict_word", "start_aligned", "end_aligned",
    # the "none" row
    "is_none", "none_rules_none", "none_has_speaker", "none_n_cands", "none_chat",
)
_INDEX = {name: i for i, name in enumerate(DENSE)}

# Not a name: a digit, '@', punctuation or a line break (a phone, an e-mail, a clause).
_NOT_NAME = re.compile(rf"[0-9@.:/，,。！？!?;；、\n（）()\[\]【】<>《》\"“”]|'(?![{LATIN_UPPER}])")
# one to four words with single spaces: a display name cleaned of its "|" ("Ahmed Hassan  Baghdad") is no name
_ROMANISED = re.compile(rf"[{LATIN_UPPER}{LATIN_LOWER}'\-]+(?: [{LATIN_UPPER}{LATIN_LOWER}'\-]+){{0,3}}")
_CJK = "\u4e00-\u9fff"
# An English given name followed by a surname ("Lucy郑", "Nina 孙", "Michael 陈"): the name as written.
_LATIN_SURNAME = re.compile(rf"(?<![A-Za-z])(?P<name>[A-Z][a-z]+ ?[{SINGLE_SURNAMES}])(?![A-Za-z])")
_LATIN = re.compile(rf"(?<![{LATIN_EDGE}@.])(?P<name>[{LATIN_UPPER}][{LATIN_LOWER}]{{2,}}(?: {LATIN_WORD})?)"
                    rf"(?![{LATIN_EDGE}@])")
# "姓区的先生", "免贵姓白": a stated surname with the form of address that follows it.
_STATED = re.compile(rf"姓\s*(?P<sn>{SURNAME_PATTERN})(?:的)?\s*(?P<title>先生|女士|小姐|老板|老师|经理|总|工)")
# "叫方志远", "叫做 沈国华", "一个叫阿May的": the name after 叫.
_CALLED = re.compile(rf"叫(?:做)?\s*(?:{SURNAME_PATTERN}\s+)?"  # an ASR stutter: "叫做 沈 沈国华"
                     rf"(?P<name>{SURNAME_PATTERN} ?[{_CJK}]{{1,2}}|阿[A-Z][a-z]+|[A-Z][a-z]+(?: [A-Z][a-z]+)?)")
# A surname with 老 as a form of address ("老邝"), before a pause or a verb, not a word ("老师", "老板").
_OLD = re.compile(rf"(?P<name>老[{SINGLE_SURNAMES}])(?=[，,。、\s]|说|讲|问|要|想|回|打|发|来|觉得|那边|这边|$)")
# "小何", "小钟": a young person's surname with 小 as a form of address (the twin of 老X), before a pause,
# a verb, a bracket or the end; the rep is addressed so too, which the model learns from where it stands.
_YOUNG = re.compile(rf"(?P<name>小[{SINGLE_SURNAMES}])(?=[^\u4e00-\u9fff]|说|讲|问|要|想|回|打|发|来|觉得|今天|昨天|"
                    rf"那边|这边|也|又|就|还|跟|和|是|$)")
# An English honorific with a surname, Latin or Chinese ("Mr. Lim", "Ms Wong", "Dr. 林"): how a person is
# addressed in English-speaking and Hong Kong / Southeast Asian business, a name form of its own.
_HONORIFIC = re.compile(rf"(?<![A-Za-z])(?P<name>(?:Mr|Mrs|Ms|Miss|Mdm|Dr)\.? ?(?:[A-Z][a-z]+|[{SINGLE_SURNAMES}]))"
                        rf"(?![a-z])")
_HONORIFIC_HEAD = re.compile(r"^(?:Mr|Mrs|Ms|Mdm|Dr)\.")
# "阿杰", "阿坤": 阿 + one character, the southern form of address by a given name (the twin of 小X / 老X),
# before a pause, a verb or the end; not a dictionary word ("阿姨", "阿里").
_AH = re.compile(rf"(?P<name>阿[{_CJK}])(?=[^\u4e00-\u9fff]|说|讲|问|要|想|回|打|发|来|觉得|今天|昨天|那边|这边|"
                 rf"也|又|就|还|跟|和|是|$)")
# A romanised name of three words ("Tan Kok Wai", "Chen Wei Ming"): Hokkien, Cantonese and Malaysian
# Chinese names are written surname + two given syllables; the two-word pattern cut them short. A lookahead,
# so that every run of three is tried ("Met Ong Boon Hwa" holds "Ong Boon Hwa").
_LATIN3 = re.compile(rf"(?<![{LATIN_EDGE}@.])(?=(?P<name>{LATIN_WORD} {LATIN_WORD} {LATIN_WORD})"
                     rf"(?![{LATIN_EDGE}@]))")
# A title after one character the surname list lacks ("贝经理", "储总"): the list holds the 300 most common
# surnames, the rarer ones of the Hundred Surnames are only seen with a title; the model weighs them.
_ANY_TITLED = re.compile(rf"(?P<name>[{_CJK}](?:{'|'.join(t for t in TITLES if len(t) >= 2)}|总))")
# The single surnames of the Hundred Family Surnames (百家姓), the classical list, as language knowledge (round 15).
HUNDRED_SURNAMES = frozenset(
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马"
    "苗凤花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康伍余元卜顾孟平黄和穆萧尹姚邵湛汪"
    "祁毛禹狄米贝明臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田"
    "樊胡凌霍虞万支柯昝管卢莫经房裘缪干解应宗丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊於惠甄曲家封"
    "芮羿储靳汲邴糜松井段富巫乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶"
    "郜黎蓟薄印宿白怀蒲邰从鄂索咸籍赖卓蔺屠蒙池乔阴郁胥能苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍卻璩桑桂濮牛寿通"
    "边扈燕冀郏浦尚农温别庄晏柴瞿阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘匡国文寇广禄阙东欧殳沃利"
    "蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚那简饶空曾毋沙乜养鞠须丰巢关蒯相查后荆红游竺权逯盖益桓公"
)
_NOT_SURNAME_CHARS = frozenset("的了是在我你您他她它们这那个哪每各某本该此其上下前后中大小老新原副正代总和跟与及或"
                               "说问找给让请向对把被从到为约见去来过就也都还要会再又已谢")
# Function-word tags of the segmenter: what follows a surname is no given name when tagged so.
_NOT_GIVEN_FLAGS = frozenset({"u", "ul", "uj", "uz", "ug", "uv", "ud", "p", "c", "r", "d", "m", "q", "t", "f",
                              "x", "y", "e", "o", "mq", "tg", "rr", "rz"})
_NOT_SURNAME_FLAGS = _NOT_GIVEN_FLAGS | {"a", "ad", "an", "v", "vd", "vn"}
# A Chinese full name inside a display name that also carries a Latin one ("林雅婷 Tina Lin").
_DISPLAY_CJK = re.compile(rf"(?<![\u4e00-\u9fff])(?P<name>{CJK_NAME})(?![\u4e00-\u9fff])")
# A full name right before a title ("梁永康先生", "庞丽萍总"): the name without the title.
_BEFORE_TITLE = re.compile(rf"(?P<name>{SURNAME_PATTERN}[{_CJK}]{{1,2}}?)(?={TITLE_PATTERN})")
# A name after a role word or 的 ("财务陈秀英", "的运维负责人 方志远"): both lengths are proposed.
_AFTER_ROLE = re.compile(
    rf"(?:的|财务|采购|会计|出纳|经理|总监|主任|主管|负责人|联系人|对接人|老板|老板娘|助理|特助|工程师|厂长|店长|"
    rf"园长|院长|校长|科长|部长|处长|所长|总裁|董事长|合伙人|创始人|专员|老师)\s?(?P<name>{SURNAME_PATTERN}[{_CJK}]{{1,2}})"
)
_OWN_SIDE = re.compile(r"(?:我们|我司|咱们|我方|本公司)(?:的)?[\u4e00-\u9fff]{0,6}$")
# Back-office roles: the README files the decision maker the rep dealt with, rarely these.
_BACKOFFICE = re.compile(r"(?:财务|会计|出纳|法务|IT|行政|人事|HR|助理|秘书|前台|同事)[^，,。\s]{0,4}$")
_SPEECH = re.compile(r"^\s*(?:在|也|就|又|还|当场|一直|私下)?\s*(?:说|表示|觉得|认为|提到|反馈|透露|要求|希望|答应|"
                     r"同意|问|让|想|要|来电|打|发|微信|签)")
_ADDRESSED = re.compile(r"^\s*[，,]?\s*(?:您好|你好|早|好|，|,)")


@dataclass
class CustomerInput:
    """What the extractor knows when it names the customer (all texts normalised)."""

    turns: Sequence[ChatLine]
    speaker: str | None
    customer_text: str
    rep_text: str
    rep_names: Sequence[str]
    rules_name: str | None


@dataclass
class Candidate:
    name: str
    sources: set[str] = field(default_factory=set)


_ONE_CHAR_TITLES = frozenset(t for t in TITLES if len(t) == 1)


def _titled_not_given(name: str) -> str:
    """"钱总刚" (钱总 + 刚打电话) is the titled form and the next word: a given name does not begin with a
    one-character title unless the two make a longer title ("总监", "总工")."""
    if len(name) == 3 and not name.isascii() and surname_of(name) == name[0] and name[1] in _ONE_CHAR_TITLES \
            and name[1:] not in TITLES:
        return name[:2]
    return name


def _ok(name: str, rep_names: Sequence[str]) -> bool:
    name = name.strip()
    # The period of an English honorific ("Mr. Lim") is part of the name as written, not a clause mark.
    # a romanised full name may be longer than any Chinese one ("Jennifer Lopez-Garcia", 21 letters)
    longest = 32 if _ROMANISED.fullmatch(name) else 20
    if not 2 <= len(name) <= longest or _NOT_NAME.search(_HONORIFIC_HEAD.sub("", name)):
        return False
    return not (rep_names and is_rep(name, rep_names))


def candidates(data: CustomerInput) -> list[Candidate]:
    """Every name the rules or the patterns propose, with its sources; the rules' choice first."""
    found: dict[str, Candidate] = {}

    def add(name: str | None, source: str) -> None:
        if not name:
            return
        name = _titled_not_given(name.strip())
        if not _ok(name, data.rep_names):
            return
        found.setdefault(name, Candidate(name)).sources.add(source)

    add(data.rules_name, "rules")
    speakers = list(dict.fromkeys(t.speaker for t in data.turns if t.speaker))
    for s in speakers:
        add(s, "spk_cust" if s == data.speaker else "spk_other")
    # The parts of a display name ("串串王子 老板 Michael 陈", "🌸Lucy郑🌸"): the cleaned name may have cut them.
    for turn in data.turns:
        if not turn.raw_speaker or not turn.speaker or (data.rep_names and is_rep(turn.speaker, data.rep_names)):
            continue
        source = "display" if turn.speaker == data.speaker else "display_other"
        raw = "".join(ch for ch in turn.raw_speaker if not unicodedata.category(ch).startswith("S"))
        for pattern in (_LATIN_SURNAME, _LATIN, TITLED_NAME):
            for m in pattern.finditer(raw):
                add(m.group("name"), source)
        for m in _DISPLAY_CJK.finditer(raw):
            add(m.group("name").replace(" ", ""), "display_cjk")
        if TRANSLIT_CANDIDATES:  # "阿不来提·吾守尔", "喀什果园-买买提·艾力": the whole name, with its middle dot
            for start, end in translit_spans(raw):
                add(raw[start:end], "display_translit")
            for name in dotted_names(raw):
                add(name, "display_translit")
    ctext, rtext = data.customer_text, data.rep_text
    for mention in name_mentions(ctext):
        add(mention.name, f"m{min(mention.priority, 3)}")
    for p in person_mentions(ctext, surname_of):
        add(p.name, f"p{min(p.score, 3)}")
    if rtext:
        for mention in name_mentions(rtext):
            add(mention.name, "rm")
        for p in person_mentions(rtext, surname_of):
            add(p.name, "rp")
    for text in (ctext, rtext):
        if not text:
            continue
        for m in _LATIN_SURNAME.finditer(text):
            add(m.group("name"), "latin_sn")
        for m in _LATIN.finditer(text):
            if latin_person(text, m.start("name"), m.end("name")):
                add(m.group("name"), "latin")
        for m in _LATIN3.finditer(text):
            if latin_person(text, m.start("name"), m.end("name")):
                add(m.group("name"), "latin3")
        for name in _rare_surname_titled(text):
            add(name, "rare_titled")
        for m in TITLED_NAME.finditer(text):
            add(m.group("name"), "titled")
        for m in _STATED.finditer(text):
            add(m.group("sn") + m.group("title"), "stated")
        for m in _CALLED.finditer(text):
            name = m.group("name")
            if not name.isascii() and not name.startswith("阿"):
                name = name.replace(" ", "")
                add(name, "called")
                if len(name) == 3 and surname_of(name) == name[0]:
                    add(name[:2], "short")
            else:
                add(name, "called")
        for m in _OLD.finditer(text):
            # "老邝" even where the dictionary reads a word across it ("厨师长老邝": 长老)
            add(m.group("name"), "old")
        for m in _YOUNG.finditer(text):
            flag = word_flag(m.group("name"))  # not a word ("小于", "小米")
            if flag is None or flag.startswith("nr"):
                add(m.group("name"), "young")
        for m in _HONORIFIC.finditer(text):
            add(m.group("name"), "honorific")
        for m in _AH.finditer(text):
            flag = word_flag(m.group("name"))
            if flag is None or flag.startswith("nr"):
                add(m.group("name"), "ah")
        for name in _surname_and_word(text):
            add(name, "sn_word")
        if TRANSLIT_CANDIDATES:
            for start, end in translit_spans(text):
                add(text[start:end], "translit")
                title = next((t for t in TITLES if text.startswith(t, end)), None)
                if title:  # "叶尔江经理", "努尔兰老板"
                    add(text[start:end] + title, "translit_titled")
            for name in dotted_names(text):
                add(name, "translit")
        if RARE_SURNAMES:
            for name in _rare_surname_names(text):
                add(name, "rare_sn")
        if ADDRESS_FORMS:
            for m in _ADDRESS_FORM.finditer(text):
                flag = word_flag(m.group("name"))
                # not a common word ("老师", "小时", "老家"): a name or a word the dictionary counts rarely
                if flag is None or flag.startswith("nr") or word_count(m.group("name")) <= _ADDRESS_MAX_COUNT:
                    add(m.group("name"), "address_form")
        for m in _BEFORE_TITLE.finditer(text):
            if not m.group("name").endswith(TITLES):
                add(m.group("name"), "before_title")
        for m in _AFTER_ROLE.finditer(text):
            name = m.group("name")
            add(name, "after_role")
            if len(name) == 3:
                add(name[:2], "after_role")
        for tok in tokens(text):
            if tok.flag in ("nr", "nrfg", "nrt") and 2 <= len(tok.word) <= 4 and surname_of(tok.word):
                add(tok.word, "nr")
    # Both lengths of a Chinese name ("韩磊刚" -> "韩磊", "沈国" -> "沈国华") and the full name behind a
    # title ("郑经理" -> "郑晓红").
    for cand in list(found.values()):
        name = cand.name
        if name.isascii() or not surname_of(name):
            continue
        if name.endswith(TITLES):
            add(full_name_for(name, ctext or rtext), "fullname")
        elif len(name) == 3 and surname_of(name) == name[0]:
            add(name[:2], "short")
        elif len(name) == 2:
            for text in (ctext, rtext):
                at = text.find(name)
                nxt = text[at + 2 : at + 3] if at >= 0 else ""
                if nxt and "\u4e00" <= nxt <= "\u9fff":
                    add(name + nxt, "long")
    trusted = _TRUSTED | ({"translit", "translit_titled", "display_translit"} if TRANSLIT_CANDIDATES else set()) \
        | ({"rare_sn"} if RARE_SURNAMES else set()) | ({"address_form"} if ADDRESS_FORMS else set())
    kept = [c for c in found.values() if c.sources & trusted or _name_like(c.name, data)]
    ordered = sorted(kept, key=lambda c: ("rules" not in c.sources, _first(c.name, data)))
    return ordered[:MAX_CANDIDATES]


# Sources that are names by construction (the rules' choice, a display name); any other Chinese candidate
# must read as a name where it stands, not as an ordinary word ("谢谢您", "方案", "白皮书").
# A name the text introduces outright (叫X, a label, a self-introduction) passes too: a real name may also be
# a dictionary word ("方志" + 远); the model still sees dict_word.
_TRUSTED = frozenset({"rules", "spk_cust", "spk_other", "display", "called", "m0", "m1", "old", "young", "ah",
                      "honorific"})


_RARE_ONLY = "".join(sorted(HUNDRED_SURNAMES - set(SINGLE_SURNAMES) - _NOT_SURNAME_CHARS))
# A rare surname and a title, one character ones too ("郁工", "储姐"); the segmenter decides below.
_RARE_TITLED = re.compile(rf"(?P<name>[{_RARE_ONLY}](?:{'|'.join(TITLES)}))")
# 小 / 老 + a surname before any character that does not continue a word with it (round 15, `ADDRESS_FORMS`).
_ADDRESS_MAX_COUNT = 300  # 老张 256, 老王 190 are names; 老乡 381, 小米 396, 老家 686, 老师 6415 words
_ADDRESS_FORM = re.compile(rf"(?P<name>[小老][{SINGLE_SURNAMES}{_RARE_ONLY}])")


def _rare_surname_names(text: str) -> list[str]:
    """Names with a surname of the Hundred Family Surnames outside the common list (round 15, `RARE_SURNAMES`): a
    person token of the segmenter that starts with one ("裘晓东"), such a surname read as a token of its own and the
    next word ("芮|建军"), and such a surname with a title where the pair starts a token ("郁工", "储姐")."""
    found: list[str] = []
    toks = tokens(text)
    for tok, nxt in zip(toks, [*toks[1:], None], strict=False):
        head = tok.word[:1]
        if head not in HUNDRED_SURNAMES or head in _NOT_SURNAME_CHARS:
            continue
        if tok.flag.startswith("nr") and 2 <= len(tok.word) <= 3 and head not in SINGLE_SURNAMES:
            found.append(tok.word)
        elif len(tok.word) == 1 and tok.flag.startswith("nr") and nxt is not None and nxt.start == tok.end \
                and 1 <= len(nxt.word) <= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in nxt.word) \
                and nxt.flag not in _NOT_GIVEN_FLAGS and head not in SINGLE_SURNAMES:
            found.append(tok.word + nxt.word)
    for m in _RARE_TITLED.finditer(text):
        at = token_at(text, m.start())
        if at is not None and at.start == m.start() and at.end <= m.end() + 1:
            found.append(m.group("name"))
    return found


def _translit_keys(name: str) -> list[str]:
    """How much of a Chinese candidate is written in transliteration characters (hashed keys, round 15)."""
    han = [ch for ch in name if "\u4e00" <= ch <= "\u9fff"]
    if not han:
        return []
    share = sum(ch in TRANSLIT_CHARS for ch in han) / len(han)
    return [f"tl:{_bucket(share)}", f"tl:{_bucket(share)}_{min(len(han), 6)}", f"tl:nosn{int(not surname_of(name))}"]


def _rare_surname_titled(text: str) -> list[str]:
    """A title after a character the surname list lacks, where the segmenter starts a word at that
    character and does not read the pair as a word ("贝经理" but not "财务总监", "副总", "老总")."""
    found: list[str] = []
    for m in _ANY_TITLED.finditer(text):
        head = m.group("name")[0]
        if head in SINGLE_SURNAMES or head in _NOT_SURNAME_CHARS:
            continue
        tok = token_at(text, m.start())
        if tok is None or tok.start != m.start() or tok.end > m.end():
            continue
        # The character read as an adjective, verb or function word ends the word before it ("资历深|总"):
        # no surname.
        if len(tok.word) == 1 and tok.flag in _NOT_SURNAME_FLAGS:
            continue
        flag = word_flag(m.group("name"))
        if flag is None or flag.startswith("nr"):
            found.append(m.group("name"))
    return found


def _surname_and_word(text: str) -> list[str]:
    """A surname the segmenter cut off as a token of its own, with the next word as the given name
    ("薛|建平", "秦|海峰"): a given name that is also a dictionary word is read as that word, so the
    person is no token. Not when the next token is a function word (a particle, a pronoun, a time word)."""
    toks = tokens(text)
    found: list[str] = []
    for tok, nxt in zip(toks, toks[1:], strict=False):
        # The surname character itself read as a function word ("我和|售后") is a conjunction, not a name.
        if len(tok.word) != 1 or tok.word not in SINGLE_SURNAMES or nxt.start != tok.end \
                or tok.flag in _NOT_GIVEN_FLAGS:
            continue
        if not 1 <= len(nxt.word) <= 2 or not all("\u4e00" <= ch <= "\u9fff" for ch in nxt.word):
            continue
        if nxt.flag in _NOT_GIVEN_FLAGS or nxt.word[0] in _ONE_CHAR_TITLES:
            continue
        found.append(tok.word + nxt.word)
    return found


def _name_like(name: str, data: CustomerInput) -> bool:
    if name.isascii() or re.search("[A-Za-z]", name) or name.endswith(TITLES):
        return True
    core = name.replace(" ", "")
    if not plausible_full_name(core):
        return False
    for text in (data.customer_text, data.rep_text):
        at = text.find(name)
        if at >= 0:
            return not is_word_not_name(text, at, core)
    return True


def _first(name: str, data: CustomerInput) -> int:
    text = data.customer_text + "\n" + data.rep_text
    at = text.find(name)
    return at if at >= 0 else len(text)


def _hash(key: str) -> int:
    return zlib.crc32(key.encode("utf-8")) & (N_HASHED - 1)


def _occurrences(name: str, text: str, limit: int = 3) -> list[int]:
    found: list[int] = []
    at = text.find(name)
    while at >= 0 and len(found) < limit:
        found.append(at)
        at = text.find(name, at + 1)
    return found


def _shape(name: str) -> str:
    if name.isascii():
        return "L2" if " " in name else "L1"
    if re.search("[A-Za-z]", name):
        return "LS"
    if name.endswith(TITLES):
        sn = surname_of(name) or ""
        return "T" + name[len(sn) :]
    return f"C{len(name)}" if surname_of(name) else f"X{len(name)}"


def featurize(data: CustomerInput, cands: Sequence[Candidate]) -> tuple[npt.NDArray[np.float32], list[list[int]]]:
    """Dense features and hashed indices per row: one row per candidate, then the "none" row."""
    rows = len(cands) + 1
    dense = np.zeros((rows, len(DENSE)), dtype=np.float32)
    hashed: list[list[int]] = []
    ctext, rtext = data.customer_text, data.rep_text
    full = ctext + "\n" + rtext
    spans = [(c.start, c.end) for c in find_companies(ctext)] if ctext else []
    names = [c.name for c in cands]
    rules_sn = surname_of(data.rules_name) if data.rules_name else None
    for i, cand in enumerate(cands):
        f = dense[i]
        name = cand.name
        for s in cand.sources:
            # Sources added after the dense layout was fixed are hashed only, so older weights still load.
            if f"src_{s}" in _INDEX:
                f[_INDEX[f"src_{s}"]] = 1.0
        occ_c, occ_r = _occurrences(name, ctext), _occurrences(name, rtext)
        f[_INDEX["occ_cust"]] = np.log1p(len(occ_c))
        f[_INDEX["occ_rep"]] = np.log1p(len(occ_r))
        f[_INDEX["only_rep_side"]] = float(not occ_c and bool(occ_r))
        first = full.find(name)
        f[_INDEX["first_pos"]] = first / max(len(full), 1) if first >= 0 else 1.0
        shape = _shape(name)
        f[_INDEX["cjk_full"]] = float(shape in ("C2", "C3"))
        f[_INDEX["ends_title"]] = float(shape.startswith("T"))
        f[_INDEX["is_latin"]] = float(shape in ("L1", "L2"))
        f[_INDEX["latin_mix"]] = float(shape == "LS")
        f[_INDEX["has_space"]] = float(" " in name)
        f[_INDEX["length"]] = len(name) / 4.0
        f[_INDEX["in_company"]] = float(any(a < s_end and a + len(name) > s for a in occ_c for s, s_end in spans))
        f[_INDEX["is_speaker"]] = float(bool(cand.sources & {"spk_cust", "spk_other"}))
        f[_INDEX["same_surname_rules"]] = float(bool(rules_sn) and surname_of(name) == rules_sn
                                                and name != data.rules_name)
        f[_INDEX["contains_other"]] = float(any(o != name and o in name for o in names))
        f[_INDEX["inside_other"]] = float(any(o != name and name in o for o in names))
        f[_INDEX["n_cands"]] = len(cands) / 10.0
        f[_INDEX["rules_none_here"]] = float(data.rules_name is None)
        keys = ["shape:" + shape, f"nsrc:{len(cand.sources)}", "last:" + name[-1]]
        keys.extend("src:" + s for s in cand.sources if f"src_{s}" not in _INDEX)
        if TRANSLIT_CANDIDATES and not name.isascii():
            keys.extend(_translit_keys(name))
        if shape in ("C2", "C3"):
            # which characters given names are made of ("防", "加" are rarely in one)
            keys.extend("given:" + ch for ch in name[len(surname_of(name) or "") :])
        flag = word_flag(name.replace(" ", ""))
        f[_INDEX["dict_word"]] = float(flag is not None and not flag.startswith("nr"))
        if occ_c and not name.isascii():
            # a name usually starts and ends where the segmenter cuts ("韩磊|刚来" does not end at a cut)
            start_tok, end_tok = token_at(ctext, occ_c[0]), token_at(ctext, occ_c[0] + len(name) - 1)
            f[_INDEX["start_aligned"]] = float(start_tok is not None and start_tok.start == occ_c[0])
            f[_INDEX["end_aligned"]] = float(end_tok is not None and end_tok.end == occ_c[0] + len(name))
        keys.extend("src+shape:" + s + shape for s in cand.sources)
        own = back = speech = addressed = word = False
        for scope, text, positions in (("C", ctext, occ_c), ("R", rtext, occ_r)):
            for at in positions:
                left, right = text[max(0, at - 8) : at], text[at + len(name) : at + len(name) + 4]
                own |= bool(_OWN_SIDE.search(left))
                back |= bool(_BACKOFFICE.search(left))
                speech |= bool(_SPEECH.match(right))
                addressed |= scope == "R" and bool(_ADDRESSED.match(right))
                if not name.isascii() and scope == "C":
                    word |= is_word_not_name(text, at, name)
                l3, r3 = text[max(0, at - 3) : at], right[:3]
                keys.extend(f"{scope}L{n}:{l3[-n:]}" for n in (1, 2, 3) if len(l3) >= n)
                keys.extend(f"{scope}R{n}:{r3[:n]}" for n in (1, 2, 3) if len(r3) >= n)
                keys.extend(f"L{n}:{l3[-n:]}" for n in (1, 2) if len(l3) >= n)
                keys.extend(f"R{n}:{r3[:n]}" for n in (1, 2) if len(r3) >= n)
        keys.extend(_speaker_keys(name, data))
        if re.search("[A-Za-z]", name):
            keys.extend(_latin_run_keys(name, full))
        keys.extend(_discourse_keys(name, data, bool(cand.sources & {"spk_cust", "spk_other"})))
        keys.extend(_word_context_keys(name, ctext, occ_c, "C"))
        keys.extend(_word_context_keys(name, rtext, occ_r, "R"))
        if MESSAGE_ROLE_KEYS:
            for scope, text, positions in (("C", ctext, occ_c), ("R", rtext, occ_r)):
                if positions:
                    keys.extend(scope + k for k in role_keys(text, positions[0], positions[0] + len(name),
                                                             register(text), vocative=MESSAGE_VOCATIVE))
        f[_INDEX["own_side"]] = float(own)
        f[_INDEX["backoffice_before"]] = float(back)
        f[_INDEX["speech_after"]] = float(speech)
        f[_INDEX["addressed_after"]] = float(addressed)
        f[_INDEX["word_not_name"]] = float(word)
        hashed.append(sorted({_hash(k) for k in keys}))
    none = dense[len(cands)]
    none[_INDEX["is_none"]] = 1.0
    none[_INDEX["none_rules_none"]] = float(data.rules_name is None)
    none[_INDEX["none_has_speaker"]] = float(data.speaker is not None)
    none[_INDEX["none_n_cands"]] = len(cands) / 10.0
    none[_INDEX["none_chat"]] = float(any(t.speaker for t in data.turns))
    hashed.append([])
    return dense, hashed


# A form of address built on a surname: a title ("王总", "王姐") or 小 / 老 ("小王", "老王").
_ADDRESS_TITLE = re.compile(rf"^\s*@?(?:{TITLE_PATTERN})")


def _bucket(share: float) -> str:
    return "0" if share == 0 else "1" if share < 0.34 else "2" if share < 0.67 else "3"


def _speaker_keys(name: str, data: CustomerInput) -> list[str]:
    """How a chat speaker stands in the conversation (hashed keys only, so older weights still load).

    In a chat the customer is one of the speakers; which one is a matter of conversational roles, not of
    words: who opens, how large a share of the turns they write, whether they address others with 您
    (the seller's politeness is asymmetric: the rep says 您 to the customer far more than the other way
    round), and how the others address them (a customer by surname + title, a rep by 小 + surname)."""
    turns = [t for t in data.turns if t.speaker]
    if not turns:
        return []
    own = [t for t in turns if t.speaker == name]
    if not own:
        return []
    keys = ["spk:first" if turns[0].speaker == name else "spk:not_first",
            "spk:share" + _bucket(len(own) / len(turns)),
            "spk:you" + _bucket(sum("您" in t.text for t in own) / len(own))]
    speakers = {t.speaker for t in turns}
    keys.append(f"spk:n{min(len(speakers), 4)}")
    sn = surname_of(name) if not name.isascii() else None
    others = [t.text for t in turns if t.speaker != name]
    if sn:
        for text in others:
            for at in _occurrences(sn, text, limit=4):
                rest = text[at + len(sn) :]
                before = text[at - 1 : at] if at else ""
                if before == "小":
                    keys.append("spk:addr_young")
                elif before == "老":
                    keys.append("spk:addr_old")
                elif _ADDRESS_TITLE.match(rest):
                    keys.append("spk:addr_title" + ("_start" if at <= 1 else ""))
    if any(name in text for text in others):
        keys.append("spk:named_by_other")
    keys.extend(_voice_keys(name, own, turns))
    # The words of the display name besides the name: a department, a company, a role ("售前", "采购").
    raw = next((t.raw_speaker for t in own if t.raw_speaker), None)
    if raw and name in raw:
        for tok in tokens(raw.replace(name, " ")):
            word = tok.word.strip("-_@|·()（） ")
            if len(word) >= 2 and not word.isdigit():
                keys.append("disp:" + word)
            if tok.flag:
                keys.append("dispflag:" + tok.flag)
    return keys


# The customer's voice names the vendor (你们, 贵司); the seller's voice commits to a service for the other
# side (发您, 给您, 我安排); a senior party calls the other 小X. Pronoun and register, not topic words.
_VENDOR_VOICE = re.compile(r"你们|贵司|贵公司|贵方")
_SELLER_VOICE = re.compile(r"[发给回报约帮陪]您|您看|我(?:这边|们)?(?:马上|今天|明天|下午|稍后|回头|尽快)?"
                           r"(?:安排|准备|整理|让|发|送|带|申请|请示|跟进|过去|过来)")
_SAYS_YOUNG = re.compile(rf"(?:^|[^\u4e00-\u9fff])小[{SINGLE_SURNAMES}](?=[，,\s。！!？?]|$)")


def _voice_keys(name: str, own: Sequence[ChatLine], turns: Sequence[ChatLine]) -> list[str]:
    """The register of a speaker's own turns and where they stand in the exchange (hashed keys)."""
    n = len(own)
    keys = ["spk:vendor" + _bucket(sum(bool(_VENDOR_VOICE.search(t.text)) for t in own) / n),
            "spk:seller" + _bucket(sum(bool(_SELLER_VOICE.search(t.text)) for t in own) / n),
            "spk:ask" + _bucket(sum(("？" in t.text or "?" in t.text or "吗" in t.text) for t in own) / n)]
    if turns[-1].speaker == name:
        keys.append("spk:last")
    if any(_SAYS_YOUNG.search(t.text) for t in own):
        keys.append("spk:says_young")
    # Who answers this speaker: the turn after theirs, by another speaker, in the seller's register.
    replies = [b for a, b in zip(turns, turns[1:], strict=False) if a.speaker == name and b.speaker != name]
    if replies:
        keys.append("spk:answered_seller" + _bucket(sum(bool(_SELLER_VOICE.search(t.text)) for t in replies)
                                                    / len(replies)))
    return keys


def _discourse_keys(name: str, data: CustomerInput, is_speaker: bool) -> list[str]:
    """Where a named person stands in the discourse (hashed keys): introducing themselves in their own
    clause, the titled form of a speaker's name, a person only talked about in a chat (an internal chat
    between colleagues about a customer has no vendor voice at all)."""
    keys: list[str] = []
    for text in (data.customer_text, data.rep_text):
        at = text.find(name)
        if at > 0:
            clause = re.split(r"[，,。！!？?；;\n]", text[max(0, at - 24) : at])[-1]
            if re.search(r"我(?:是|叫)|本人", clause):
                keys.append("disc:self_intro")
            break
    speakers = {t.speaker for t in data.turns if t.speaker}
    if not speakers:
        return keys
    sn = surname_of(name) if not name.isascii() else None
    if sn and name.endswith(TITLES) and any(s != name and surname_of(s) == sn for s in speakers):
        keys.append("disc:titled_of_speaker")
    if not is_speaker:
        vendor = any(_VENDOR_VOICE.search(t.text) for t in data.turns)
        keys.append("disc:nonspk_vendor" + str(int(vendor)))
        by = {t.speaker for t in data.turns if t.speaker and name in t.text}
        keys.append(f"disc:nonspk_by{min(len(by), 2)}")
        if sn and any(surname_of(s) == sn for s in speakers):
            keys.append("disc:nonspk_speaker_sn")
    return keys


_CAP_RUN = re.compile(r"[A-Z][A-Za-z&'.]*(?:[ ]+(?:[A-Z][A-Za-z&'.]*|&))*")


def _latin_run_keys(name: str, text: str) -> list[str]:
    """The run of capitalised words a Latin candidate stands in, and its words (hashed keys): a person's
    name is two or three words, a firm's name runs longer or ends in a word of trade ("… Trading Ltd"),
    and the words themselves tell given names from English common nouns across authors."""
    keys = ["latw:" + w.lower() for w in re.findall("[A-Za-z]+", name)]
    at = text.find(name)
    if at < 0:
        return keys
    for m in _CAP_RUN.finditer(text):
        if m.start() <= at < m.end():
            words_before = len(text[m.start() : at].split())
            words_after = len(text[at + len(name) : m.end()].split())
            keys += [f"latrun:{min(words_before, 2)}_{min(words_after, 2)}"]
            rest = text[at + len(name) : m.end()].split()
            if rest:
                keys.append("latR:" + rest[0].lower())
            break
    return keys


def _word_context_keys(name: str, text: str, positions: Sequence[int], scope: str) -> list[str]:
    """The segmenter's words right before and after a mention (a verb of handing over, a role noun, a
    particle): a word generalises over spellings where the character n-grams do not."""
    keys: list[str] = []
    for at in positions[:2]:
        before = token_at(text, at - 1) if at > 0 else None
        after = token_at(text, at + len(name)) if at + len(name) < len(text) else None
        if before is not None and before.end <= at:
            keys += [f"{scope}LW:{before.word}", f"LF:{before.flag}"]
        if after is not None and after.start >= at + len(name):
            keys += [f"{scope}RW:{after.word}", f"RF:{after.flag}"]
    return keys


def read_weights(path: Path) -> Weights:
    return read_ranker_weights(path, dense_names=DENSE, n_hashed=N_HASHED, ranker="customer ranker")


SHIPPED = ShippedWeights(WEIGHTS_FILE, read_weights, name="customer_ranker")


def load_weights() -> Weights | None:
    """The trained weights, read once per process (None without a usable file: the rules decide)."""
    return SHIPPED.get()


def choose_customer(data: CustomerInput) -> str | None:
    """The candidate the model ranks first, or None when "none" ranks first; the rules' choice without
    weights."""
    weights = load_weights()
    if weights is None:
        return data.rules_name
    cands = candidates(data)
    if not cands:
        return None
    dense, hashed = featurize(data, cands)
    best = int(np.argmax(scores(weights, dense, hashed)))
    if best == len(cands):
        return None
    # A speaker's self-correction ("叫韦强 说错了 是韦刚") names the person corrected to, and a Latin given
    # name said with the surname ("Kevin，姓梁，梁总") is the surname with its title, whatever ranked.
    return titled_for_latin(corrected_name(cands[best].name, data.customer_text), data.customer_text)
