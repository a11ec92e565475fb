"""Card -> DingTalk StandardCard JSON, golden-file tested (GENJIN_UPDATE_GOLDEN=1 rewrites the files)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.models import Button, Card, CardField, TagToggle
from bot.platforms.dingtalk.render import action_id, action_of, card_actions, render_dingtalk, render_markdown

GOLDEN = Path(__file__).parent / "golden"
TAGS = ["价格异议", "竞品对比", "要报价", "要演示", "决策人", "预算", "合同法务", "付款回款", "售后", "其他"]


def followup_card() -> Card:
    return Card(
        title="请确认跟进记录", subtitle="点标签可增删，确认后保存到客户档案",
        fields=[CardField(label="客户", value="许志强（远东物流）"), CardField(label="电话", value="+8613812345678"),
                CardField(label="金额", value="43万元"),
                CardField(label="下次联系", value="周四 11月19日", warn=True)],
        tags=[TagToggle(name=t, selected=t in ("价格异议", "竞品对比"), action=f"tag:12:{t}") for t in TAGS],
        buttons=[Button(label="确认", action="confirm:12", style="primary")],
        notes=["最近记录：", "· 11-10 电话沟通，客户要求重新报价"],
    )


def duplicate_card() -> Card:
    return Card(title="可能是重复客户", subtitle="「许志强（远东）」与已有客户名字相近",
                fields=[CardField(label="许志强", value="远东物流")],
                buttons=[Button(label="是同一客户：许志强（远东物流）", action="dup_use:3", style="primary"),
                         Button(label="不是，新建客户", action="dup_new")])


@pytest.mark.parametrize("name,card", [("dingtalk_followup", followup_card()),
                                       ("dingtalk_duplicate", duplicate_card())])
def test_golden(name: str, card: Card) -> None:
    rendered = render_dingtalk(card)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("GENJIN_UPDATE_GOLDEN"):
        path.write_text(json.dumps(rendered, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert rendered == json.loads(path.read_text(encoding="utf-8"))


def test_every_tag_and_button_comes_back_as_its_action_key() -> None:
    card = followup_card()
    assert card_actions(render_dingtalk(card)) == {t.action for t in card.tags} | {"confirm:12"}


def test_selected_tags_are_highlighted_and_rows_stay_short() -> None:
    data = render_dingtalk(followup_card())
    rows = [b for b in data["contents"] if b["type"] == "action"]
    assert all(len(r["actions"]) <= 3 for r in rows)
    tag_buttons = {b["label"]["text"]: b["status"] for r in rows for b in r["actions"]}
    assert tag_buttons["✓ 价格异议"] == "primary" and tag_buttons["要报价"] == "normal"
    assert tag_buttons["确认"] == "primary"
    assert all(b["actionType"] == "request" for r in rows for b in r["actions"])


def test_component_ids_are_plain_and_reversible() -> None:
    for action in ("confirm:12", "tag:12:价格异议", "dup_new", "tag:9:a b/c"):
        cid = action_id(action)
        assert cid.isascii() and cid.replace("_", "").isalnum()
        assert action_of(cid) == action
    assert action_of("button_1646816888247") is None  # not ours
    assert action_of("gj_zz") is None


def test_card_without_buttons_goes_out_as_markdown() -> None:
    card = Card(title="本周跟进", fields=[CardField(label="新增", value="3")], notes=["继续加油"])
    assert card_actions(render_dingtalk(card)) == set()
    title, text = render_markdown(card)
    assert title == "本周跟进" and "**新增**：3" in text and "继续加油" in text
