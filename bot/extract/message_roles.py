"""Where a mention stands in one message: the role words of its clause, the message's register, its line (round 13).

A forwarded single message and a voice memo are written to a plan the candidate rankers read only through a few
characters around a span. Who wrote a forward is named in a label before the first colon ("X（Y）：") or in a
sign-off at the end ("—— name，firm", a short last line, a line with a phone or an e-mail); a writer introduces
themselves (我是 / 我们是 / 我叫 / 本人); and the pronoun of a clause says whose side a firm or a person is on: the
speaker's (我们 / 我司 / 咱们 / 本公司), the addressee's (你们 / 贵司 / 您那边), someone talked about (他们 / 对方 /
人家), or a third party's role (a carrier, a supplier, the customer's own client, a bank, a parent group, a branch,
a competitor). Which side 我们 is depends on who speaks: in a message to the rep (it says 你 / 您 / 你们 / 贵司) 我们
is the customer's firm, in a rep's own memo about a visit (他们 / 他 and no 你) it is the rep's. So each role is
also crossed with the message's register. A form of address that opens a message ("刘经理，…") names the addressee,
in a customer's message the rep (`vocative`: the company ranker reads it, the customer ranker measured it level).

The word classes are closed grammatical sets (pronouns, self-introducing verbs) and the ordinary nouns for the
parties of a sale; nothing here is taken from a record. Every key is a string the rankers hash.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Clause breaks: a role word speaks for the clause it stands in.
_CLAUSE_BREAK = re.compile(r"[，,。！!？?；;\n]")
# The classes of role words, longest forms first inside each pattern.
_ROLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("self", re.compile(r"我是|我们是|我們是|我叫|本人是?|我这边是|我们这边是|我在|我係")),
    ("own", re.compile(r"我们|我們|我司|咱们|我方|本公司|本店|本厂|我哋|我家|我这边")),
    ("addr", re.compile(r"你们|你們|贵司|贵公司|贵方|你司|您那边|你那边|您们|你哋")),
    ("third", re.compile(r"他们|她们|他們|佢哋|对方|人家|他家|她家|那家")),
    ("party", re.compile(r"合作方|供应商|供货商|物流|快递|承运|货代|银行|代理商?|经销商|分销商|渠道商|加盟商|"
                         r"竞品|竞争对手|友商|同行|之前用的|现在用的|原来用的|集团|总部|母公司|子公司|分公司|分店|"
                         r"门店|甲方|乙方|厂家|房东|物业|客户|终端")),
)
_ADDRESSEE = re.compile(r"你|您|贵司|贵公司|你哋")
_THIRD_PERSON = re.compile(r"他|她|佢")
# A contact line of a signature: a long digit run, an e-mail, a contact label.
_CONTACT = re.compile(r"\d{7,}|\d{3,4}[- ]\d{3,4}[- ]?\d{3,4}|@|电话|手机|邮箱|地址|微信|"
                      r"Tel|TEL|tel|Mobile|Email|E-mail")
# A sign-off before a name at the end of a message: a dash run, "from", a closing greeting.
_SIGN_OFF = re.compile(r"(?:——|—|-{1,2}|~|～|by|By|From|from|落款|此致|谢谢|感谢|祝好|Regards|regards|Best|best)"
                       r"\s*[，,:：]?\s*$")
_LABEL_END = re.compile(r"[：:]")
# A form of address opens a message or follows its label, and a pause follows it ("刘经理，…", "X：钱先生，…").
_OPENING = re.compile(r"^\s*(?:[^\n：:]{0,40}[：:])?\s*(?:Hi|Hello|Dear|hi|你好|您好|嗨)?\s*[，,]?\s*$")
_PAUSE_AFTER = re.compile(r"^\s*[，,！!~～、\s]")
SIGNATURE_LINE = 30  # a signature line is short


@lru_cache(maxsize=256)
def register(text: str) -> str:
    """Who the message speaks to: `you` (it addresses someone: a customer's message to the rep), `3p` (it talks
    about a third person and addresses nobody: a rep's memo), else `plain`."""
    if _ADDRESSEE.search(text):
        return "you"
    if _THIRD_PERSON.search(text):
        return "3p"
    return "plain"


def role_classes(text: str) -> list[str]:
    """The classes of role words anywhere in a text (self, own, addr, third, party), in `_ROLES` order."""
    return [role for role, pattern in _ROLES if pattern.search(text)]


def role_keys(text: str, start: int, end: int, reg: str, *, vocative: bool = True) -> list[str]:
    """Keys for the mention text[start:end]: role words before and after it in its clause (alone and crossed with
    the register), and where it stands in the message (a label before the first colon, the first or last line, a
    short signature line, a contact line, after a sign-off; with `vocative`, a form of address that opens it)."""
    keys: list[str] = []
    head = _CLAUSE_BREAK.split(text[max(0, start - 14) : start])[-1]
    tail = _CLAUSE_BREAK.split(text[end : end + 10])[0]
    for where, part in (("b", head), ("a", tail)):
        for role, pattern in _ROLES:
            if pattern.search(part):
                keys += [f"mr{where}:{role}", f"mr{where}:{role}:{reg}"]
    if not head.strip():
        keys.append(f"mrclause0:{reg}")  # the mention opens its clause
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    line = text[line_start:line_end]
    first_line, last_line = line_start == 0, line_end == len(text.rstrip())
    if first_line:
        colon = _LABEL_END.search(text, 0, line_end)
        if colon and end <= colon.start() and colon.start() <= 40:
            keys.append("mrlabel")  # "X（Y）：…": who wrote the message
    if vocative and first_line and _PAUSE_AFTER.match(text[end : end + 2]) and _OPENING.match(text[:start]):
        keys.append("mrvocative")  # the addressee: in a message to the rep, the rep
    if last_line and not first_line:
        keys.append("mrlastline" + ("short" if len(line) <= SIGNATURE_LINE else ""))
    elif first_line and not last_line:
        keys.append("mrfirstline")
    if _CONTACT.search(line):
        keys.append("mrcontact")
    if _SIGN_OFF.search(text[line_start:start]):
        keys.append("mrsignoff")
    tail_share = (len(text) - start) / max(len(text), 1)
    keys.append(f"mrtail{min(int(tail_share * 4), 3)}")  # which quarter of the message, from the end
    return keys
