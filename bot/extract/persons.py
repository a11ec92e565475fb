"""People named in free text, from the segmenter's person tags (jieba nr) plus the context that
makes a name the customer's: a title or role before it ("采购经理叫钱文斌", "研发部的吕刚"), a verb of
speaking after it ("刘建国说"), and no own-side marker ("我们技术总监").

A token is a person only if it starts with a known surname, is 2–4 characters, and has no digit,
'@' or sentence punctuation: a phone number, an e-mail or a clause is never a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .people import TITLES, is_word_not_name, plausible_full_name
from .segment import tokens

_PERSON_FLAGS = frozenset({"nr", "nrfg", "nrt"})
# Words right before a name that introduce a customer-side person.
_INTRO = re.compile(
    r"(?:叫|是|姓|找|见了|见|约了|拜访了|联系了|和|跟|与|给|同|接到|对接人|负责人|联系人|"
    r"经理|总监|主任|主管|老板|老板娘|厂长|店长|院长|校长|处长|科长|部长|局长|总|董事长|总经理|采购|财务|会计|"
    r"工程师|老师|医生|护士长|的)\s*$"
)
# Words right after a name that make it the subject of what the note reports.
_SPEAKS = re.compile(
    r"^\s*(?:说|表示|反馈|提到|问|要|想|觉得|认为|希望|回复|答应|同意|打电话|来电|电话|发来|这边|那边|的)"
)
# The rep's own side: "我们技术总监", "我司的王工", "我们区域总监".
_OWN_SIDE = re.compile(r"(?:我们|我司|咱们|我方|公司)(?:的)?[\u4e00-\u9fff]{0,6}$")
_NOT_NAME = re.compile(r"[0-9@.:/，,。！？!?\s]")


@dataclass(frozen=True)
class PersonMention:
    name: str
    start: int
    score: int  # higher is stronger evidence of a customer-side person


def person_mentions(text: str, surname_of: object) -> list[PersonMention]:
    """Person-tagged tokens with a surname, scored by their context; strongest first, then earliest.

    ``surname_of`` is people.surname_of (passed in to keep this module free of the surname tables)."""
    found: list[PersonMention] = []
    for tok in tokens(text):
        word = tok.word
        if tok.flag not in _PERSON_FLAGS or not 2 <= len(word) <= 4 or _NOT_NAME.search(word):
            continue
        if not callable(surname_of) or not surname_of(word) or not plausible_full_name(word):
            continue
        if is_word_not_name(text, tok.start, word):
            continue  # "师傅", "顾问": the dictionary's person tag on a form of address or an ordinary word
        if text.startswith(TITLES, tok.end) and len(word) <= 2 and word == surname_of(word):
            continue  # "司马经理": a (compound) surname before a title is the titled form, found as such
        before = text[max(0, tok.start - 8) : tok.start]
        if _OWN_SIDE.search(before) and not before.rstrip().endswith(("叫", "是")):
            continue
        score = 1
        if _INTRO.search(before):
            score += 2
        if _SPEAKS.match(text[tok.end : tok.end + 4]):
            score += 1
        found.append(PersonMention(word, tok.start, score))
    found.sort(key=lambda p: (-p.score, p.start))
    return found
