"""Neutral Card -> WeCom template_card JSON: golden files for the cards we send, and WeCom's limits
for any card (checked with the fake's own validator). GENJIN_UPDATE_GOLDEN=1 rewrites the files."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cards.followup import build_duplicate_card, build_followup_card
from bot.extract import DEFAULT_TAGS
from bot.models import Button, Card, CardField, TagToggle
from bot.platforms.wecom.render import TAG_QUESTION_KEY, TAG_SUBMIT_KEY, card_actions, render_markdown, render_wecom
from store.models import Customer, FollowUp, TimelineEvent
from tests.fakes.wecom import _check_card

GOLDEN = Path(__file__).parent / "golden"
TZ = ZoneInfo("Asia/Shanghai")
ALL_TAGS = [t.name for t in DEFAULT_TAGS]


def _customer() -> Customer:
    return Customer(id=3, name="许志强", company="华康医疗器械", phone="13812345678", owner_id=1, team_id=1,
                    stage="需求确认")


def _followup(confirmed: bool = False) -> FollowUp:
    return FollowUp(id=12, customer_id=3, rep_id=1, tags=["价格异议", "竞品对比"], amount_cny=430000,
                    next_contact_at=datetime(2026, 11, 19, 2, 0, tzinfo=UTC), stage_hint="合同洽谈",
                    confirmed=confirmed)


def _history() -> list[TimelineEvent]:
    return [TimelineEvent(customer_id=3, kind="customer_created", summary="王芳 新建客户 许志强",
                          created_at=datetime(2026, 11, 10, 3, 0, tzinfo=UTC))]


def followup_card(confirmed: bool = False) -> Card:
    return build_followup_card(followup=_followup(confirmed), customer=_customer(), history=_history(),
                               all_tags=ALL_TAGS, tz=TZ, warnings=["金额请核对"])


def small_card() -> Card:
    return Card(title="请确认跟进记录", subtitle="点标签可增删", fields=[CardField(label="客户", value="张伟")],
                tags=[TagToggle(name="要报价", selected=True, action="tag:7:要报价"),
                      TagToggle(name="要演示", selected=False, action="tag:7:要演示")],
                buttons=[Button(label="确认", action="confirm:7", style="primary")], notes=["最近记录：暂无"])


def duplicate_card() -> Card:
    others = [Customer(id=5, name="许志强", company="华康医疗", owner_id=1, team_id=1),
              Customer(id=9, name="徐志强", company=None, owner_id=1, team_id=1)]
    return build_duplicate_card(name="许志强", company="华康医疗器械", candidates=others)


CASES = {
    "wecom_followup_card": lambda: render_wecom(followup_card(), task_id="genjin_41_0"),
    "wecom_followup_confirmed_card": lambda: render_wecom(followup_card(confirmed=True), task_id="genjin_42_0"),
    "wecom_small_card": lambda: render_wecom(small_card(), task_id="genjin_43_0"),
    "wecom_duplicate_card": lambda: render_wecom(duplicate_card(), task_id="genjin_44_1"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    rendered = json.dumps(CASES[name](), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("GENJIN_UPDATE_GOLDEN"):
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_cards_pass_wecom_limits(name):
    assert _check_card(CASES[name](), set()) is None


def test_tags_that_fit_are_buttons_and_the_rest_a_dropdown():
    small = render_wecom(small_card(), task_id="t1")
    assert [b["key"] for b in small["button_list"]] == ["confirm:7", "tag:7:要报价", "tag:7:要演示"]
    assert [b["text"] for b in small["button_list"]] == ["确认", "✓ 要报价", "要演示"]
    assert "button_selection" not in small

    card = followup_card()
    big = render_wecom(card, task_id="t2")
    # Free button slots (six, less the card's buttons and 「增删标签」) are one-tap toggles: the chosen
    # tags first, then the next ones in order; the dropdown holds the rest.
    free = 6 - len(card.buttons) - 1
    ordered = sorted(card.tags, key=lambda t: not t.selected)
    quick = [t.action for t in ordered[:free]]
    assert [b["key"] for b in big["button_list"]] == [b.action for b in card.buttons] + quick + [TAG_SUBMIT_KEY]
    assert {"tag:12:竞品对比", "tag:12:价格异议"} <= set(quick)  # removing a detected tag: one tap
    selection = big["button_selection"]
    assert selection["question_key"] == TAG_QUESTION_KEY
    rest = [t.action for t in card.tags if t.action not in quick]
    assert [o["id"] for o in selection["option_list"]] == rest
    assert selection["selected_id"] == rest[0]  # the first tag in the dropdown not yet chosen
    assert big["sub_title_text"].startswith("标签：竞品对比、价格异议")
    assert card_actions(big) == {b.action for b in card.buttons} | {f"tag:12:{t}" for t in ALL_TAGS}


@pytest.mark.parametrize("n_tags", [0, 1, 5, 6, 10, 11, 16])
@pytest.mark.parametrize("n_buttons", [1, 3, 7])
def test_any_card_fits_wecom_limits_and_keeps_selected_tags(n_tags, n_buttons):
    tags = [TagToggle(name=f"标签{i}号很长很长很长", selected=i % 4 == 3, action=f"tag:1:标签{i}")
            for i in range(n_tags)]
    buttons = [Button(label=f"按钮{i}" * 5, action=f"b:{i}") for i in range(n_buttons)]
    fields = [CardField(label=f"字段名字{i}号", value="值" * 50) for i in range(8)]
    card = Card(title="标" * 50, subtitle="副" * 60, fields=fields, tags=tags, buttons=buttons, notes=["备注" * 100])
    rendered = render_wecom(card, task_id="genjin_1_0")
    assert _check_card(rendered, set()) is None
    offered = card_actions(rendered)
    assert {t.action for t in tags if t.selected} <= offered  # a chosen tag can always be removed
    assert {b.action for b in buttons} <= offered  # a button past the six slots waits in the dropdown
    assert [b["key"] for b in rendered["button_list"]][:min(n_buttons, 5)] == [b.action for b in buttons][:5]


def test_confirm_and_discard_keep_their_slots_however_many_buttons_the_card_has():
    buttons = [Button(label="确认", action="confirm:1", style="primary")]
    buttons += [Button(label=f"选项{i}", action=f"b:{i}") for i in range(6)]
    buttons.append(Button(label="丢弃", action="discard:1", style="danger"))
    tags = [TagToggle(name=f"标签{i}", selected=i == 0, action=f"tag:1:标签{i}") for i in range(4)]
    rendered = render_wecom(Card(title="请确认跟进记录", tags=tags, buttons=buttons), task_id="genjin_1_0")
    keys = [b["key"] for b in rendered["button_list"]]
    assert keys[0] == "confirm:1" and "discard:1" in keys
    assert {b.action for b in buttons} <= card_actions(rendered)  # the rest wait in the dropdown
    assert len(rendered["sub_title_text"]) <= 160


def test_invalid_task_id_is_refused():
    with pytest.raises(ValueError):
        render_wecom(small_card(), task_id="有中文")


def test_markdown_for_a_card_without_anything_to_click():
    fields = [CardField(label="新增客户", value="3"), CardField(label="逾期", value="1", warn=True)]
    card = Card(title="周报", fields=fields, notes=["本周跟进 12 次"])
    assert "button_list" not in render_wecom(card, task_id="genjin_9_0")
    assert render_markdown(card) == ('**周报**\n新增客户：3\n逾期：<font color="warning">1</font>\n本周跟进 12 次')


def test_buttons_that_read_the_same_once_cut_are_numbered_and_spelled_out():
    same_name = [Customer(id=5, name="许志强", company="华康医疗器械", owner_id=1, team_id=1),
                 Customer(id=6, name="许志强", company="恒瑞物流", owner_id=1, team_id=1)]
    rendered = render_wecom(build_duplicate_card(name="许志强", company=None, candidates=same_name), task_id="t9")
    texts = [b["text"] for b in rendered["button_list"]]
    assert len(set(texts)) == len(texts) and texts[0].startswith("1. ") and texts[1].startswith("2. ")
    assert "1. 是同一客户：许志强（华康医疗器械）" in rendered["sub_title_text"]
    assert "2. 是同一客户：许志强（恒瑞物流）" in rendered["sub_title_text"]
