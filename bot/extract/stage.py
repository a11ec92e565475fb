"""Deal stage hint: every stage whose signals appear is a candidate; the most advanced one wins."""

from __future__ import annotations

import re
from collections.abc import Collection

from store.stages import Stage

from .tags import TagRule, find_tag_hits
from .textnorm import sentence_around

# Stage signals reuse the tag matcher so negations ("不需要演示") cancel them the same way.
_STAGE_SIGNALS: tuple[TagRule, ...] = (
    TagRule(Stage.FIRST_CONTACT, (
        "了解一下", "先了解", "感兴趣", "有兴趣", "兴趣很大", "初步", "认识了", "第一次", "留了电话",
        "加了微信", "加微信", "留言", "咨询", "介绍了", "名片", "立项",
    )),
    TagRule(Stage.NEEDS_CONFIRMED, (
        "预算", "需求", "报价", "采购", "方案", "多少钱", "选型", "配一套", "想统一", "想上", "想做", "想要",
        "供应商", "规模",
    ), ("不需要报价",)),
    TagRule(Stage.DEMO, (
        "演示", "试用", "poc", "demo", "方案讲解", "讲方案", "方案汇报", "产品介绍会", "样机", "试点",
    ), ("不需要演示", "不用演示", "无需演示", "不要演示", "演示就不用", "不需要试用", "不用试用")),
    TagRule(Stage.NEGOTIATION, (
        "合同", "盖章", "签约", "签合同", "法务", "条款", "议价", "谈判", "降价", "再降", "降一些", "降点",
        "打折", "折扣", "优惠", "便宜", "太贵", "价格高", "预期高",
    ), ("续约", "不续约")),
    TagRule(Stage.WON, (
        "到账", "回款", "尾款", "发票", "开票", "月费", "年费", "服务费", "续费", "售后", "验收", "交付",
        "上线后", "老客户", "这几年", "续约", "已签约", "签完合同", "合同签了", "已经签了",
    )),
    TagRule(Stage.LOST, (
        "决定不续约", "不续约了", "不再续约", "终止合作", "解约", "选了别家", "选择了别家", "签了别家",
        "丢单", "转到", "改用", "换成了", "已经换了", "不合作了", "流失了",
    ), ("如果", "要是", "再不", "否则", "不然", "考虑", "可能", "下次", "转到采购", "转到财务", "转到法务")),
)
# Tags that on their own imply a stage (a product defect or a churn threat means they already bought).
_TAG_STAGES = {
    "技术问题": Stage.WON, "流失风险": Stage.WON, "价格异议": Stage.NEGOTIATION, "合同法务": Stage.NEGOTIATION,
    "要演示": Stage.DEMO, "要报价": Stage.NEEDS_CONFIRMED, "竞品对比": Stage.NEEDS_CONFIRMED,
}
_CONTRACT_SIGNED = re.compile("合同(?:已经)?签(?:了|完)|已(?:经)?签(?:约|合同)|签完合同")
# A deal lost to a competitor: a choosing verb in the same sentence as the competitor, not a condition.
_CHOSE = re.compile("选了|选择了|定了|签了|决定用|转到|改用|换成|换了|用了")
_CONDITIONAL = re.compile("如果|要是|再不|否则|不然|考虑|可能|打算|想")
_COMPETITOR_TAG = "竞品对比"


def lost_to_competitor(text: str, competitor_hits: Collection[int]) -> bool:
    for position in competitor_hits:
        sentence = sentence_around(text, position, position + 1)
        if _CHOSE.search(sentence) and not _CONDITIONAL.search(sentence):
            return True
    return False


def stage_hint(text: str, tags: Collection[str], *, lost: bool = False) -> Stage | None:
    """The most advanced stage signalled by normalised ``text`` and the extracted tags, or None."""
    # Sentence scope: "看过别人演示过…，不需要演示了" declines a demo across commas.
    found = set(find_tag_hits(text, _STAGE_SIGNALS, scope=sentence_around))
    if lost:
        found.add(Stage.LOST)
    found.update(_TAG_STAGES[t] for t in tags if t in _TAG_STAGES)
    if Stage.NEGOTIATION in found and _CONTRACT_SIGNED.search(text):
        found.add(Stage.WON)
    for stage in reversed(Stage):  # declared in deal order, 已流失 last: the most advanced wins
        if stage in found:
            return stage
    return None
