"""Stage-only features of the learned layer (issue #13, round 8): tense, aspect and negation attached to a deal event.

The hashed n-grams of learned_layer see "签" and "还没" as separate grams once words stand between them
("还没把合同签下来"), so a stage head cannot tell a contract signed from one still to sign. Here every deal-event
word of a clause (a class from a small lexicon: meeting, needs, demo, price, contract, payment, delivery, lost) is
paired with the nearest tense / aspect / negation / hedge marker before it in the same clause (已经, 还没, 准备, 想,
如果, 不 …), with the first such marker after it (a topicalised event: "演示…已经做完了") and with the aspect
particle right after it (了, 过, 完), scoped by side (the customer's words or the
rep's turns). The pairs are hashed into a small block of their own that only the stage head reads, so the tag head's
features and weights are untouched.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache

from bot.extract.textnorm import clauses

ASPECT_BITS = 12
N_ASPECT = 1 << ASPECT_BITS
MAX_CLAUSES = 40  # as learned_layer: bounds the cost of a very long paste

# Deal events, one class per funnel step they usually evidence (the model learns what each pairing means).
_EVENTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("meet", r"见面|拜访|接触|认识|上门|碰面|通话|加了?微信"),
        ("needs", r"需求|预算|调研|痛点|规模|用量|选型"),
        ("demo", r"演示|试用|试点|测试|poc|demo|样机|样品|讲解|参观"),
        ("price", r"报价|价格|价钱|折扣|优惠|便宜|单价|总价|[贵低高]"),
        ("contract", r"合同|协议|条款|法务|用印|盖章|签"),
        ("paid", r"付款|打款|回款|到账|货款|款项|发票|尾款|首付|定金|预付|下单|订单|采购"),
        ("live", r"上线|验收|交付|部署|安装|发货|续约|续费|使用|在用"),
        ("lost", r"放弃|取消|终止|流失|换成|改用|选了|不考虑|不采购|不续"),
    )
)
# Markers before the event, longest first so 还没 is not read as 没, 已经 not as 已.
_BEFORE: tuple[tuple[str, str], ...] = (
    ("done", "已经|早就|刚刚|已|刚"),
    ("notyet", "还没有|还没|尚未|没有|未|没"),
    ("plan", "准备|打算|计划|将要|即将|安排|约了|下周|下个月|明天|后天|月底"),
    ("want", "希望|想要|需要|想|要"),
    ("hedge", "如果|要是|假如|可能|也许|或许|考虑|看看|的话"),
    ("neg", "不用|无需|不要|不必|别|不"),
)
_BEFORE_RE = re.compile("|".join(f"(?P<{name}>{alts})" for name, alts in _BEFORE))
_AFTER_RE = re.compile(r"[了过完好掉]")
_SCOPES = ("C", "R")  # the customer's words, the rep's turns


def _clause_pairs(clause: str) -> set[str]:
    pairs: set[str] = set()
    for name, pattern in _EVENTS:
        for m in pattern.finditer(clause):
            before = "-"
            for marker in _BEFORE_RE.finditer(clause[: m.start()]):
                before = marker.lastgroup or "-"  # the nearest marker before the event wins
            after = _AFTER_RE.match(clause, m.end(), min(len(clause), m.end() + 3))
            aspect = after.group() if after else "-"
            # A topicalised event ("演示…已经做完了") has its marker after it: the first one in the clause.
            comment = _BEFORE_RE.search(clause, m.end())
            later = comment.lastgroup if comment else "-"
            pairs.update((f"{name}|{before}", f"{name}|+{aspect}", f"{name}|{before}|{aspect}", f"{name}|>{later}"))
    return pairs


def _hash(key: str) -> int:
    return zlib.crc32(key.encode("utf-8")) & (N_ASPECT - 1)


@lru_cache(maxsize=16)
def aspect_indices(customer_text: str, rep_text: str) -> tuple[int, ...]:
    """The sorted hashed indices (0 … N_ASPECT-1) of every event-marker pairing of a message, by side."""
    customer = clauses(customer_text)[:MAX_CLAUSES]
    seen = set(customer)
    rep = [c for c in clauses(rep_text)[:MAX_CLAUSES] if c not in seen]
    found: set[int] = set()
    for scope, side in zip(_SCOPES, (customer, rep), strict=True):
        for clause in side:
            found.update(_hash(f"{scope}|{pair}") for pair in _clause_pairs(clause.lower()))
    return tuple(sorted(found))
