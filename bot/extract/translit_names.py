"""Transliterated names written in Chinese characters: candidate spans (issue #13, round 15).

Foreign names and the names of China's Uyghur, Kazakh, Tibetan, Mongolian and Hui citizens are written in Chinese
with a small closed class of characters chosen for their sound, not their sense (买买提江, 古丽娜尔, 扎西次仁, 巴特尔,
阿卜杜拉, 奥卢米德); two parts are joined with a middle dot (阿依古丽·买买提). Such a name has no surname from the
Hundred Family Surnames, runs to three to eight characters, and the people rules (built on a surname and one or two
given characters) do not propose it.

The class below is language knowledge, not data: the syllable characters of the Xinhua transliteration tables for
foreign personal names (《世界人名翻译大辞典》 / 《英语姓名译名手册》: 阿埃艾安奥巴拜班贝本比波伯布达丹德迪丁杜多尔法菲
费弗福夫盖戈格古哈海汉赫胡霍基吉加杰卡凯坎科克肯库拉莱兰朗劳雷里利列林卢鲁伦罗洛马迈曼梅蒙米姆穆纳娜内尼努诺
帕佩皮普奇乔萨塞桑森沙莎斯苏索塔泰坦特提图托瓦威韦维沃乌西希谢辛雅亚扬耶伊因尤扎泽兹佐…) and the characters of
the standard Chinese spellings of Uyghur and Kazakh (买提江古丽热依木吐逊艾力努帕迪孜合赛吾别克汗玉素甫卜杜肉罕默
则排再乃…), Tibetan (扎西次仁卓玛旺堆多吉格桑央金拉姆尼达娃平措顿珠增益曲珍嘎朗边强白群培…) and Mongolian (特乌图
雅其宝音朝那满都和额琴敖包日勒呼毕赫孟根坦顺…) personal names. It was written from those tables before any pool
record was read, and no pool name was added to it; one character (叶, the tables' Е / Ye) was added after reading
a READ author's miss.

A span is a maximal run of three to eight class characters (parts of two or more joined by a middle dot), trimmed to
the segmenter's word boundaries (a word reaching across the run's edge is cut there), and not when the segmenter
reads a word of two or more characters inside it as a verb, an adjective, an adverb or a function word (特别, 多么,
可以): the ranker weighs what is left. A name whose parts a middle dot joins is a candidate whatever its characters
(`dotted_names`).
"""

from __future__ import annotations

import re

from .segment import tokens

TRANSLIT_CHARS = frozenset(
    # Xinhua tables for foreign personal names (syllable characters)
    "阿埃艾爱安昂奥澳巴拜班邦鲍贝本比彼毕宾波伯博布查彻达戴黛丹道德登迪蒂丁东杜敦多厄恩尔法凡范菲费芬丰弗福"
    "夫盖甘冈戈格根贡古圭哈海汉豪赫亨胡怀霍基吉加贾杰金卡凯坎康考柯科克肯库夸奎昆拉莱兰朗劳勒雷蕾里利莉丽列"
    "林琳隆卢鲁伦罗洛马玛迈麦曼芒梅门蒙米密敏摩莫默姆穆纳娜奈南瑙内尼妮涅宁纽努诺欧帕派潘佩彭皮珀普奇齐恰"
    "乔切钦丘琼萨塞桑瑟森沙莎舍什施斯松苏索塔泰坦汤特提图托娃瓦万威韦维温沃乌伍西希锡谢辛休雅亚延扬耶伊因"
    "英尤约扎泽詹兹祖佐茨琪珊娅黎缪诺姬"
    # Russian Е and Kazakh Е- / Ер- (叶卡捷琳娜, 叶夫根尼, 叶尔兰): added after a READ author's miss (叶尔江经理) showed
    # the tables above had been copied without it
    "叶"
    # Uyghur and Kazakh personal names in their standard Chinese spelling
    "买提江热依木吐逊力帕迪孜合赛吾别汗玉素甫卜肉罕则排再乃克木拜麦库尔班哈"
    # Tibetan
    "扎次仁卓旺堆吉桑央拉姆玛达娃平措顿珠增益曲珍嘎朗边强白群培觉穷"
    # Mongolian
    "特乌图其宝音朝那满都和额琴敖包日勒呼毕赫孟根坦顺"
)
_DOTS = "·•‧・"
_CLASS = "".join(sorted(TRANSLIT_CHARS))
_RUN = re.compile(rf"[{_CLASS}]{{2,}}(?:[{_DOTS}][{_CLASS}]{{2,}})*")
# The segmenter's reading of a word inside the run that no name is made of: a verb, an adjective, an adverb, a
# pronoun, a numeral, a measure word, a preposition, a conjunction, a particle, a time or place word.
_NOT_NAME_FLAGS = ("v", "a", "d", "r", "m", "q", "p", "c", "u", "y", "e", "o", "t", "f", "s", "z", "b")
MIN_LEN, MAX_LEN = 3, 8


def translit_spans(text: str) -> list[tuple[int, int]]:
    """Start and end of each transliterated-name span in `text` (normalised), left to right."""
    if not text:
        return []
    spans: list[tuple[int, int]] = []
    toks = None
    for m in _RUN.finditer(text):
        if len(m.group().replace("·", "")) < MIN_LEN:
            continue
        if toks is None:
            toks = tokens(text)
        inside = [t for t in toks if t.start < m.end() and t.end > m.start()]
        if not inside:
            continue
        # A first or last word that reaches outside the run is cut at the run's edge when what lies inside is two
        # characters or more (the segmenter glues 的 to a name it does not know: "的|吾斯曼"), else dropped.
        while inside and inside[0].start < m.start() and inside[0].end - m.start() < 2:
            inside = inside[1:]
        while inside and inside[-1].end > m.end() and m.end() - inside[-1].start < 2:
            inside = inside[:-1]
        # and words the segmenter reads as no name, from either end
        while inside and _no_name_word(inside[0].word, inside[0].flag):
            inside = inside[1:]
        while inside and _no_name_word(inside[-1].word, inside[-1].flag):
            inside = inside[:-1]
        if not inside or any(_no_name_word(t.word, t.flag) for t in inside):
            continue
        # the whole run, and without a last word of one character: "阿卜杜拉约了" may end in a verb the segmenter
        # does not read as one; the ranker weighs both
        ends = [min(inside[-1].end, m.end())]
        if len(inside) >= 2 and len(inside[-1].word) == 1:
            ends.append(inside[-2].end)
        start = max(inside[0].start, m.start())
        for end in ends:
            if MIN_LEN <= end - start <= MAX_LEN + 2 and text[start] not in _DOTS and text[end - 1] not in _DOTS:
                spans.append((start, end))
    return spans


# Characters that do not continue a name after it: particles, pronouns, verbs of speaking and motion, prepositions
# (people.py's `_NOT_NAME_CHARS`, less 来, which spells names: 阿不来提).
_AFTER_NAME = frozenset("的了是在我你您他她们这那个下上周天年说和跟与就也都还要会去过把被给让对从向为约已再谢")
# One-character words that open no name: a preposition, a conjunction, a pronoun, a verb, an adverb ("跟|阿依古丽").
_LEAD_FLAGS = frozenset({"p", "c", "r", "v", "d", "u", "uj", "ul"})
_DOTTED = re.compile(rf"(?P<left>[\u4e00-\u9fff]{{1,8}})[{_DOTS}](?P<right>[\u4e00-\u9fff]{{1,8}})")


def dotted_names(text: str) -> list[str]:
    """Names whose parts a middle dot joins (阿不来提·吾守尔): in Chinese the dot (间隔号) joins the parts of a foreign
    or minority name whatever characters spell them. The part before the dot is cut at a word boundary of the segmenter
    two to five characters before it, the part after at one two to five characters after the dot (the shortest and the
    longest of each); the ranker weighs the forms."""
    found: list[str] = []
    for m in _DOTTED.finditer(text):
        toks = tokens(text)
        # the part after the dot ends before a function word or a verb of speaking ("…·吾守尔说要报价")
        right_end = m.start("right") + next((i for i, ch in enumerate(m.group("right")) if ch in _AFTER_NAME),
                                            len(m.group("right")))
        starts = [t.start for t in toks if m.start("left") <= t.start and 2 <= m.end("left") - t.start <= 5
                  and not _no_name_word(t.word, t.flag) and not (len(t.word) == 1 and t.flag in _LEAD_FLAGS)]
        ends = [t.end for t in toks if t.end <= right_end and 2 <= t.end - m.start("right") <= 5]
        if 2 <= right_end - m.start("right") <= 5:
            ends.append(right_end)
        for a in sorted({min(starts, default=-1), max(starts, default=-1)} - {-1}):
            for b in sorted({min(ends, default=-1), max(ends, default=-1)} - {-1}):
                found.append(text[a:b])
    return found


def _no_name_word(word: str, flag: str) -> bool:
    return len(word) >= 2 and flag.startswith(_NOT_NAME_FLAGS) or len(word) == 1 and flag in ("u", "uj", "p", "c")
