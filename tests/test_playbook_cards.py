"""The playbook cards (hand-off 已接手, recycling 继续跟进/放回公海, approval 批准/驳回) on every card
path: WeCom template cards within WeCom's limits, DingTalk StandardCard and card-instance params, each
button coming back as its action key; contact data masked on cards for people other than the owner."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.cards.playbook import (
    build_approval_card,
    build_handoff_card,
    build_handoff_late_card,
    build_recycle_warning,
)
from bot.models import Card
from bot.platforms.dingtalk.render import card_actions as dingtalk_actions
from bot.platforms.dingtalk.render import param_actions, render_card_params, render_dingtalk
from bot.platforms.wecom.render import card_actions as wecom_actions
from bot.platforms.wecom.render import render_wecom
from store.models import Approval, Customer, HandOff
from store.stages import Stage
from tests.fakes.wecom import _check_card

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


def _customer() -> Customer:
    return Customer(id=7, name="许志强", company="华康医疗器械", phone="13812345678", owner_id=1, team_id=1,
                    stage=Stage.DEMO, region="华北", last_activity_at=AT)


def _cards() -> dict[str, Card]:
    handoff = HandOff(id=3, customer_id=7, stage=Stage.DEMO, stage_event_id=9, member_id=2, role_tag="售前",
                      created_at=AT)
    approval = Approval(id=5, kind="lead_assign", customer_id=7, proposed_member_id=1, rule="华北跨区",
                        reason="抖音线索，华北区域，命中规则「华北跨区」，分配给王芳", approver_id=3, created_at=AT)
    return {
        "handoff": build_handoff_card(handoff=handoff, customer=_customer(), owner_name="王芳",
                                      message="许志强 13812345678 要演示\n客户概况：…", accept_hours=4),
        "handoff_late": build_handoff_late_card(handoff=handoff, customer=_customer(), member_name="李明", hours=4),
        "recycle": build_recycle_warning(customer=_customer(), idle_days=57, return_at=AT, tz=TZ),
        "approval": build_approval_card(approval=approval, customer=_customer(), proposed_name="王芳",
                                        escalated_from="陈主管", decide_by=AT, tz=TZ),
    }


@pytest.mark.parametrize("name", ["handoff", "recycle", "approval"])
def test_every_button_comes_back_on_every_platform(name):
    card = _cards()[name]
    actions = {b.action for b in card.buttons}
    assert actions
    wecom = render_wecom(card, task_id=f"t{name}")
    assert _check_card(wecom, set()) is None
    assert wecom_actions(wecom) == actions
    assert dingtalk_actions(render_dingtalk(card)) == actions
    assert param_actions(render_card_params(card)) == actions


def test_button_keys():
    cards = _cards()
    assert [b.action for b in cards["handoff"].buttons] == ["handoff_ack:3"]
    assert [b.action for b in cards["recycle"].buttons] == ["recycle_keep:7", "recycle_release:7"]
    assert [b.action for b in cards["approval"].buttons] == ["approve:5", "reject:5"]
    assert cards["handoff_late"].buttons == []


def test_cards_for_other_people_mask_the_phone():
    cards = _cards()
    for name in ("handoff", "handoff_late", "approval"):
        text = cards[name].model_dump_json()
        assert "13812345678" not in text, name
