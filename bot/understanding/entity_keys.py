"""Who and what a clause talks about, as a few hashed keys of the learned tag model (issue #13, round 14).

A customer's paraphrase of a rival, a risk or a new decision maker rarely shares a word with the training text:
a rival is named by its brand ("用的是X"), as "别家" or "他们那边"; a new approver is "新来的总监" or "换了老板".
What such clauses share is the kind of thing they name and what happens to it, so each clause gets keys for

- the entities it names: an organisation or another proper noun (jieba's nt / nz, a word ending in a firm's head noun:
  公司, 集团, 科技 …), a capitalised Latin word (a brand), an all-capital acronym, another firm named by a determiner
  (别家, 其他厂商, 另一家, 友商, 同行), a third party's side (他们家 / 他们那边 / 人家), a person (jieba's nr, a surname
  with a title), a role with authority (老板, 领导, 总监, 董事会, 股东, 总部 …), the customer itself doing the work
  (自己做, 自研);
- what the clause does with it: compare (比 / 相比 / 不如 / 更), use or switch (用 / 换 / 选 / 签 / 合作),
  change a person (新来 / 换了 / 接手 / 离职 / 调走), decide or approve (审批 / 拍板 / 说了算 / 上会),
  try or evaluate (试用 / 评估 / 看看), stop (停 / 暂停 / 终止 / 不续);
- each entity crossed with each act in the same clause.

The word classes are closed grammatical classes of Chinese (determiners of "other", third-person reference, kinship of
titles and roles, aspect and change verbs), not strings of records. The keys go through the same side and negation
scopes as the n-grams (learned_layer), so a negated clause or a rep's turn can still only lower a tag that a negation
or an offer may only lower.
"""

from __future__ import annotations

import re

from bot.extract.people import TITLES
from bot.extract.segment import tokens

_FIRM_HEAD = re.compile(r"(?:公司|集团|科技|软件|网络|信息|技术|股份|有限|平台|厂|工厂|银行|物流|医药|电子|实业|控股|"
                        r"商贸|贸易|传媒|系统|云)$")
_OTHER_FIRM = re.compile(r"(?:别|其他|其它|另外|另|别的)(?:的)?(?:一)?(?:家|个|些)?"
                         r"(?:公司|厂家|厂商|供应商|服务商|品牌|平台|系统|软件|产品|方案|渠道|代理|商家)"
                         r"|别家|另一家|另外一家|其他家|其它家|友商|同行|竞品|竞争对手|对手")
_THEIR_SIDE = re.compile(r"(?:他们|她们|佢哋)(?:家|那边|那里|那儿|公司|的产品|的系统|的方案)|人家(?:的)?")
_ROLE = re.compile(r"老板|领导|董事长|董事会|董事|总经理|总裁|副总|老总|总监|经理|主管|主任|负责人|"
                   r"股东|高层|管理层|决策层|上级|上面|总部|集团|合伙人|创始人|法务|财务|采购")
_SELF_DO = re.compile(r"自己(?:做|搞|开发|来|弄|建|招|养|干|研发|维护)|自研|自建|自主开发|内部(?:做|开发|解决)")
_COMPARE = re.compile(r"比(?!较)|相比|对比|比较|不如|更")
_USE = re.compile(r"用|换|选|签|合作|接入|对接|迁|转到|上了|买")
_CHANGE = re.compile(r"新来|新任|新上任|刚上任|上任|换了|换人|换成|更换|接手|接替|接管|交接|"
                     r"调走|调岗|调任|离职|辞职|退休|空降|改由|转由|重组|收购|并购|合并")
_DECIDE = re.compile(r"审批|批准|拍板|签字|过会|上会|说了算|点头|定夺|做主|决定|同意")
_TRY = re.compile(r"试用|试试|试一下|评估|考察|调研|看看效果|测试")
_STOP = re.compile(r"暂停|停掉|停用|终止|不续|解约|撤|取消")
_ACTS = (("cmp", _COMPARE), ("use", _USE), ("change", _CHANGE), ("decide", _DECIDE), ("try", _TRY), ("stop", _STOP))
_CAPITALISED = re.compile(r"(?<![A-Za-z])[A-Z][a-z]{2,}")
_ACRONYM = re.compile(r"(?<![A-Za-z])[A-Z]{2,5}(?![A-Za-z])")
_PERSON_TITLES = tuple(t for t in TITLES if len(t) >= 2 or t == "总")


def clause_entity_keys(clause: str) -> set[str]:
    """The entity, act and entity-by-act keys of one clause (its original case: a capital marks a brand)."""
    text = clause.strip()
    if not text:
        return set()
    lower = text.lower()
    entities: set[str] = set()
    for tok in tokens(lower):
        word = tok.word
        if tok.flag == "nt" or (len(word) >= 3 and _FIRM_HEAD.search(word)):
            entities.add("firm")
        elif tok.flag == "nz" and len(word) >= 2:
            entities.add("proper")
        elif tok.flag.startswith("nr") and len(word) >= 2:
            entities.add("person")
        if word.endswith(_PERSON_TITLES) and len(word) >= 2 and tok.flag.startswith("nr"):
            entities.add("titled")
    if _CAPITALISED.search(text):
        entities.add("brand")
    if _ACRONYM.search(text):
        entities.add("acronym")
    for name, pattern in (("other_firm", _OTHER_FIRM), ("their_side", _THEIR_SIDE), ("role", _ROLE),
                          ("self_do", _SELF_DO)):
        if pattern.search(lower):
            entities.add(name)
    acts = {name for name, pattern in _ACTS if pattern.search(lower)}
    keys = {f"e:{e}" for e in entities} | {f"a:{a}" for a in acts}
    keys.update(f"ea:{e}:{a}" for e in entities for a in acts)
    return keys
