"""Tag taxonomy: keyword rules with negations, loadable from TOML."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .textnorm import clause_around, normalize_text

# A tag is proposed when its matched keywords weigh this much together: one keyword at full weight
# does it, one a team keeps removing (weight below this) no longer does on its own.
TAG_FIRES = 0.5


@dataclass(frozen=True)
class TagRule:
    name: str
    keywords: tuple[str, ...]
    negations: tuple[str, ...] = ()  # phrases that cancel the tag when in the same clause as a keyword


# "对账报表导不出来": payment words naming a feature of the software, not money changing hands.
FEATURE_WORDS = ("报表", "导不出", "导出", "模块", "功能", "打不开", "报错")
# "他没提降价的事": a reported denial cancels a request or objection said in the same clause.
DENIALS = ("没提", "没有提", "没再提", "没说", "没有说", "没谈", "没问", "没要求")
# Keywords are phrases, not bare nouns: "演示" alone also appears in "上周做完演示" (a past demo, not a
# request) and "报价" in "你们的报价我看了" (reacting to a quote, not asking for one).
DEFAULT_TAGS: tuple[TagRule, ...] = (
    TagRule("竞品对比", (
        "竞品", "友商", "别家", "其他家", "另一家", "另外一家", "其他厂商", "别的厂商", "其他供应商",
        "别的供应商", "原供应商", "现在的供应商", "竞争对手", "比你们便宜", "比你们好", "比你们强",
        "比我们便宜", "货比三家", "几家对比",
        "对比了几家", "用友", "金蝶", "东软", "浪潮", "鼎捷", "销售易", "纷享销客", "泛微", "致远",
        "明源", "畅捷通", "管家婆", "红圈", "简道云", "明道云", "帆软", "有赞", "微盟", "神州数码",
        "Salesforce", "SAP", "Oracle", "HubSpot", "Zoho",
    )),
    TagRule("价格异议", (
        "太贵", "贵了", "偏贵", "有点贵", "比较贵", "价格高", "价格偏高", "报价高", "预期高", "高了不少",
        "便宜", "低一截", "降一些", "降一点", "降点", "降价", "再降", "打折", "打个折", "折扣", "优惠",
        "让利", "少一点", "再少", "砍价", "预算不够", "超预算", "超出预算", "超了预算", "价格能不能",
        "能不能便宜", "最低价", "最低多少",
    ), ("不贵", "价格没问题", "价格可以接受", "价格能接受", "价格合适", "比我们贵", *DENIALS)),
    TagRule("决策链变更", (
        "委员会", "投票决定", "新的财务总监", "新来的", "新上任", "新任", "换了新的", "换了领导", "领导换了",
        "负责人换", "换负责人", "换人了", "离职", "接手", "交接", "审批流程", "多走一道", "多一道审批",
        "加一道", "总经理签字", "老板签字", "老板拍板", "老板要看", "老板决定", "亲自参与", "亲自把关",
        "要上会", "上会讨论", "上会审批", "转给采购", "交给采购", "采购部接手", "由采购", "走招标", "要招标", "董事会",
    )),
    TagRule("要报价", (
        "报价单", "报个价", "报一下价", "出个报价", "出个正式报价", "出报价", "发报价", "发个报价",
        "发一份报价", "发份报价", "正式报价", "报价对比", "详细报价", "提供报价", "方案和报价", "报价吗",
        "报价?", "要报价", "要一份报价", "重新报价", "新报价", "更新报价", "价格表", "价目表", "价格清单",
        "询价", "多少钱", "怎么收费", "什么价格", "价格是多少", "给个价",
    ), ("不需要报价", "不用报价", "报价不用", "先别报", "没有要报价", "没要报价", "别急着报", "不急着报", "不着急报",
        # a quote received, read or passed on: a reaction, not a request
        "收到", "看过", "转给", *DENIALS)),
    TagRule("要演示", (
        "试用", "演示一下", "看个演示", "看看演示", "看一下演示", "看下演示", "做个演示", "安排演示",
        "安排个演示", "想看演示", "要演示", "需要演示", "来演示", "演示给", "现场演示", "线上演示",
        "在线演示", "定制演示", "演示账号", "测试账号", "体验账号", "POC", "demo", "样机", "试点",
        "看演示", "看看演示", "产品演示", "系统的演示", "一次演示", "演示下",
    ), (
        "不需要演示", "不用演示", "无需演示", "不要演示", "不看演示", "演示就不用", "演示不用", "不需要试用",
        "不用试用", "无需试用", "试用就不用", "不需要demo", "不用demo", "不用了", "不需要了", "试用期",
        "以后再说", *DENIALS,
    )),
    TagRule("预约拜访", (
        "拜访", "上门", "过去", "过来", "来我们", "来我司", "去他们", "去她们", "去你们", "来你们", "到你们",
        "到我们", "去贵司", "来贵司", "去公司", "来公司", "见面", "当面", "面谈", "面聊", "开会", "开个会",
        "启动会", "碰头", "碰个面", "参观", "考察", "来访", "到访", "点见", "线上会议", "视频会",
        "腾讯会议", "线上演示", "在线演示", "远程演示", "我去", "去一趟", "走一趟", "过去一趟", "去现场",
        "到现场", "去学校", "去医院", "去工厂", "去厂里", "去店里", "来店里", "到店", "来总部", "去总部",
    ), ("不用过来", "不用过去", "不用来", "不方便见", "取消拜访", "改天再约",
        # a call or a transfer ("下周一再打过去", "款周四打过去"), a meeting of their own, a parcel address
        "打过去", "打电话", "内部", "寄到",
        # things sent, not people going: "报价发过去", "样品寄过来"
        "发过去", "寄过去", "传过去", "转过去", "报过去", "发过来", "寄过来", "传过来", "打过来")),
    TagRule("合同法务", (
        "合同", "法务", "盖章", "用印", "签约", "签合同", "签字盖章", "条款", "律师", "红线", "修订意见",
        "框架协议", "协议", "双章", "骑缝章",
    )),
    TagRule("付款回款", (
        "付款", "回款", "首付", "尾款", "定金", "订金", "预付", "发票", "开票", "到账", "打款", "汇款",
        "转账", "账期", "分期", "结算", "对账", "催款", "欠款", "逾期", "未付", "打过来", "款项", "服务费",
        "月费", "年费",
    ), ("退款", "退回", "退还", "退钱", *FEATURE_WORDS)),
    TagRule("技术问题", (
        "bug", "闪退", "崩溃", "宕机", "故障", "报错", "出错", "异常", "卡顿", "很卡", "打不开", "登不上",
        "登录不了", "用不了", "没法用", "无法使用", "不能用", "算错", "丢失", "丢数据", "出问题", "挂了",
        "投诉", "不稳定", "同步不了", "连不上", "无法登录", "白屏", "数据不对", "坏了", "质量问题",
        "售后一直", "售后不", "售后太慢", "没人处理", "修不好",
    ), ("没问题", "没什么问题", "没有问题", "没出问题")),
    TagRule("流失风险", (
        "退款", "退货", "不续约", "不续费", "不再续", "不打算续", "换掉", "换供应商", "换一家", "换别家",
        "不用你们", "不用我们", "不合作", "终止合作", "停止合作", "解约", "取消合同", "不满意", "很失望",
        "太失望", "考虑换", "转到", "转用", "改用", "选了别家", "选择了别家", "签了别家", "放弃",
        "流失", "丢单", "单子丢了", "丢了单", "没拿下", "黄了",
    ), ("转到采购", "转到财务", "转到法务", "转到技术", "转到售后", "不会换", "不换")),
)


# Written Cantonese function words and their Mandarin equivalents, character for character so that hit
# positions stay valid: "唔再续" is "不再续", "嚟我哋公司" is "来我们公司", "睇下" is "看下".
_CANTONESE = str.maketrans({"唔": "不", "嚟": "来", "睇": "看", "俾": "给", "畀": "给", "嘅": "的", "咗": "了",
                            "佢": "他", "喺": "在", "冇": "没", "搵": "找", "嗰": "那", "哋": "们"})
_CANTONESE_WORDS = (("而家", "现在"), ("乜嘢", "什么"))


def matching_text(text: str) -> str:
    """The text rules are matched against: lower-case, Cantonese function words as Mandarin (same
    length, so positions are the text's)."""
    lowered = text.lower().translate(_CANTONESE)
    for word, mandarin in _CANTONESE_WORDS:
        lowered = lowered.replace(word, mandarin)
    return lowered


# What the prospect uses today: a fault of it, or leaving it, is a reason to buy from us, not our problem.
_INCUMBENT = re.compile(
    r"(?:现在|目前|原来|之前|以前|一直)[^，,。；;！？!?\n]{0,8}?(?:用的|在用|用着|使用的|合作的|的系统|的供应商|那家)"
)
# ... and a prospect who wants to replace what they have.
_REPLACING = re.compile(r"想(?:换|改|升级|替换)|换掉")
# A clause that says the trouble is with us after all.
_OURS = re.compile(r"你们|我们|贵司|咱们")
_SENTENCE_END = re.compile(r"[。！？!?\n]")
INCUMBENT_SCOPED: dict[str, tuple[re.Pattern[str], ...]] = {
    "流失风险": (_INCUMBENT,), "技术问题": (_INCUMBENT, _REPLACING),
    # a price complaint about the current vendor, unless our price is compared with theirs ("比现在的供应商高")
    "价格异议": (re.compile(r"^(?![^。！？!?\n]*比)[^。！？!?\n]*?" + _INCUMBENT.pattern),),
}


def about_incumbent(tag: str, text: str, start: int, end: int, clause: str) -> bool:
    """A hit of `tag` (one of INCUMBENT_SCOPED) speaks of what the prospect uses now: a cue in its
    sentence (punctuated sentences only: a voice memo's pauses are no sentence ends) and no word for
    us in its clause."""
    cues = INCUMBENT_SCOPED.get(tag)
    if not cues or _OURS.search(clause):
        return False
    lo = max(0, start - 120)
    left = max((m.end() for m in _SENTENCE_END.finditer(text, lo, start)), default=lo)
    after = _SENTENCE_END.search(text, end)
    sentence = text[left : after.start() if after else len(text)]
    return any(cue.search(sentence) for cue in cues)


def _pattern(phrases: Sequence[str]) -> re.Pattern[str] | None:
    cleaned = sorted({p.lower() for p in phrases if p}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, cleaned))) if cleaned else None


@lru_cache(maxsize=256)
def compiled_rule(rule: TagRule) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    return _pattern(rule.keywords), _pattern(rule.negations)


def find_tag_hits(
    text: str, rules: Sequence[TagRule], *, scope: Callable[[str, int, int], str] = clause_around
) -> dict[str, list[int]]:
    """Positions of un-negated keyword hits per tag; ``text`` must already be normalised.

    A negation cancels the keyword hits that share its ``scope`` (the clause by default).
    """
    return {tag: [pos for pos, _ in found] for tag, found in find_keyword_hits(text, rules, scope=scope).items()}


def find_keyword_hits(
    text: str, rules: Sequence[TagRule], *, scope: Callable[[str, int, int], str] = clause_around
) -> dict[str, list[tuple[int, str]]]:
    """Like find_tag_hits, with the keyword of each hit: (position, keyword) per tag. Learned keyword
    weights (bot/understanding/learning.py) are per keyword, so the tagger needs to know which fired."""
    lowered = matching_text(text)
    hits: dict[str, list[tuple[int, str]]] = {}
    for rule in rules:
        keywords, negations = compiled_rule(rule)
        if keywords is None:
            continue
        for m in keywords.finditer(lowered):
            clause = scope(lowered, m.start(), m.end())
            if negations is not None and negations.search(clause):
                continue
            if about_incumbent(rule.name, lowered, m.start(), m.end(), clause):
                continue
            hits.setdefault(rule.name, []).append((m.start(), m.group()))
    return hits


def weighted_tags(
    hits: dict[str, list[tuple[int, str]]], weights: Mapping[tuple[str, str], float] | None
) -> dict[str, list[int]]:
    """The tags whose distinct keywords weigh at least TAG_FIRES together (a keyword's weight is 1.0
    unless a team taught otherwise), with their hit positions."""
    if not weights:
        return {tag: [p for p, _ in found] for tag, found in hits.items()}
    kept: dict[str, list[int]] = {}
    for tag, found in hits.items():
        total = sum(weights.get((tag, kw), 1.0) for kw in {k for _, k in found})
        if total >= TAG_FIRES:
            kept[tag] = [p for p, _ in found]
    return kept


def _string_list(value: object, where: str, field: str, *, required: bool) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where}: '{field}' must be a list of non-empty strings")
    if required and not value:
        raise ValueError(f"{where}: '{field}' must not be empty")
    return tuple(normalize_text(v).strip() for v in value)


@lru_cache(maxsize=8)
def tag_rules(path: Path | None) -> tuple[TagRule, ...]:
    """The configured rules (`tags_file`), read once per path: every message and memo asks."""
    return load_tag_rules(path)


def load_tag_rules(path: Path | None) -> tuple[TagRule, ...]:
    """Read ``[[tag]]`` tables (name, keywords, optional negations); None gives DEFAULT_TAGS."""
    if path is None:
        return DEFAULT_TAGS
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"tag rules file {path} cannot be read: {exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"tag rules file {path} is not valid TOML: {exc}") from exc
    tables = data.get("tag")
    if not isinstance(tables, list) or not tables:
        raise ValueError(f"tag rules file {path} has no [[tag]] tables")
    rules: list[TagRule] = []
    for index, table in enumerate(tables, start=1):
        where = f"{path}: [[tag]] #{index}"
        if not isinstance(table, dict):
            raise ValueError(f"{where} is not a table")
        unknown = set(table) - {"name", "keywords", "negations"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where}: 'name' must be a non-empty string")
        name = normalize_text(name).strip()
        if any(r.name == name for r in rules):
            raise ValueError(f"{where}: duplicate tag name {name!r}")
        keywords = _string_list(table.get("keywords"), where, "keywords", required=True)
        negations = _string_list(table.get("negations"), where, "negations", required=False)
        rules.append(TagRule(name, keywords, negations))
    return tuple(rules)
