"""The DingTalk follow-up card through the card-instance API, in each of its states, as golden JSON (the
request bodies we send), and the fake DingTalk accepting them: createAndDeliver of the draft (1:1 and
group), PUT of the tag-toggled card, and the by-key PUT that turns it confirmed or discarded; plus the
fake's refusals for what the real API refuses. GENJIN_UPDATE_GOLDEN=1 rewrites the files."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.cards.followup import build_followup_card
from bot.extract import DEFAULT_TAGS
from bot.models import Card
from bot.platforms.dingtalk.api import DingTalkApi, DingTalkError
from bot.platforms.dingtalk.inbound import parse_card_click
from bot.platforms.dingtalk.render import CARD_PARAM_KEYS, final_params, param_actions, render_card_params
from store.models import Customer, FollowUp
from tests.fakes.dingtalk import FakeDingTalk

GOLDEN = Path(__file__).parent / "golden"
TEMPLATE = Path(__file__).parent.parent / "bot" / "platforms" / "dingtalk" / "card_template.json"
TZ = ZoneInfo("Asia/Shanghai")
ALL_TAGS = [t.name for t in DEFAULT_TAGS]
TEMPLATE_ID = "genjin-followup.schema"
USER = "wangfang01"


def card(tags: list[str]) -> Card:
    customer = Customer(id=3, name="许志强", company="华康医疗器械", phone="+8675586001234",
                        email="xu.zhiqiang.procurement@huakang-medical-devices.com.cn", owner_id=1, team_id=1,
                        stage="需求确认")
    followup = FollowUp(id=12, customer_id=3, rep_id=1, tags=tags, amount_cny=430000,
                        next_contact_at=datetime(2026, 11, 19, 2, 0, tzinfo=UTC))
    return build_followup_card(followup=followup, customer=customer, history=[], all_tags=ALL_TAGS, tz=TZ)


DRAFT = render_card_params(card(["价格异议"]))
TOGGLED = render_card_params(card(["价格异议", "要报价"]))
STATES: dict[str, dict[str, Any]] = {
    "dingtalk_state_draft": {
        "cardTemplateId": TEMPLATE_ID, "outTrackId": "genjin-41", "callbackType": "STREAM", "userIdType": 1,
        "cardData": {"cardParamMap": DRAFT}, "openSpaceId": f"dtv1.card//IM_ROBOT.{USER}",
        "imRobotOpenSpaceModel": {"supportForward": False}, "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"}},
    "dingtalk_state_tag_toggled": {"outTrackId": "genjin-41", "userIdType": 1, "cardData": {"cardParamMap": TOGGLED}},
    "dingtalk_state_confirmed": {"outTrackId": "genjin-41", "userIdType": 1,
                                 "cardData": {"cardParamMap": final_params("confirmed", "已确认")},
                                 "cardUpdateOptions": {"updateCardDataByKey": True}},
    "dingtalk_state_discarded": {"outTrackId": "genjin-41", "userIdType": 1,
                                 "cardData": {"cardParamMap": final_params("discarded", "已丢弃")},
                                 "cardUpdateOptions": {"updateCardDataByKey": True}},
}


@pytest.mark.parametrize("name", sorted(STATES))
def test_golden(name):
    rendered = json.dumps(STATES[name], ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("GENJIN_UPDATE_GOLDEN"):
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


def test_the_shipped_template_declares_exactly_the_keys_we_fill():
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    assert [v["name"] for v in template["variables"]] == list(CARD_PARAM_KEYS) == list(DRAFT)
    assert all(isinstance(v, str) for v in DRAFT.values())
    fields = DRAFT["fields_md"]
    assert "0755-86001234" in fields.replace(" ", "") and "+86755" not in fields
    assert "xu.zhiqiang.procurement@huakang-medical-devices.com.cn" in fields


def golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
async def dingtalk() -> AsyncIterator[tuple[FakeDingTalk, DingTalkApi]]:
    fake = await FakeDingTalk().start()
    api = DingTalkApi(client_id=fake.client_id, client_secret=fake.client_secret, robot_code=fake.client_id,
                      api_base=fake.base_url)
    yield fake, api
    await api.close()
    await fake.close()


async def test_the_fake_accepts_every_state_and_records_the_in_place_updates(dingtalk):
    fake, api = dingtalk
    draft = golden("dingtalk_state_draft")
    await api.call("POST", "/v1.0/card/instances/createAndDeliver", draft)
    [shown] = [m for m in fake.sent if m.via == "card_instance"]
    assert shown.to == USER and shown.body["params"] == DRAFT
    tag = next(a for a in param_actions(DRAFT) if a.endswith(":要报价"))
    click = parse_card_click(fake.instance_click(user=USER, out_track_id="genjin-41", action=tag), "frame-1")
    assert click.text == tag and click.sender == USER and click.chat is None

    await api.call("PUT", "/v1.0/card/instances", golden("dingtalk_state_tag_toggled"))
    assert fake.instances["genjin-41"]["params"] == TOGGLED
    confirm = next(a for a in fake.live_actions("genjin-41") if a.startswith("confirm:"))
    fake.instance_click(user=USER, out_track_id="genjin-41", action=confirm)

    await api.call("PUT", "/v1.0/card/instances", golden("dingtalk_state_confirmed"))
    params = fake.instances["genjin-41"]["params"]
    assert params["status"] == "confirmed" and params["final_text"] == "已确认"
    assert params["fields_md"] == TOGGLED["fields_md"]  # by key: the rest of the card stays
    assert fake.live_actions("genjin-41") == set()
    with pytest.raises(AssertionError):  # nothing left to tap
        fake.instance_click(user=USER, out_track_id="genjin-41", action=confirm)
    updates = [m for m in fake.sent if m.via == "card_instance_update"]
    assert [u.body["by_key"] for u in updates] == [False, True]
    assert sum(m.via == "card_instance" for m in fake.sent) == 1  # one card in the chat throughout


async def test_group_cards_and_discard(dingtalk):
    fake, api = dingtalk
    await api.create_and_deliver_card(template_id=TEMPLATE_ID, out_track_id="genjin-50", params=DRAFT,
                                      open_conversation_id="cidGroup==")
    [shown] = [m for m in fake.sent if m.via == "card_instance"]
    assert shown.chat == "cidGroup==" and shown.to is None
    click = parse_card_click(fake.instance_click(user=USER, out_track_id="genjin-50",
                                                 action=next(iter(param_actions(DRAFT)))), "frame-2")
    assert click.chat == "cidGroup=="
    await api.call("PUT", "/v1.0/card/instances", {**golden("dingtalk_state_discarded"), "outTrackId": "genjin-50"})
    assert fake.instances["genjin-50"]["params"]["final_text"] == "已丢弃"


@pytest.mark.parametrize("change, message", [
    ({"cardTemplateId": "StandardCard"}, "cardTemplateId"),
    ({"callbackType": "HTTP"}, "callbackType"),
    ({"cardData": {"cardParamMap": {**DRAFT, "status": 1}}}, "strings"),
    ({"imRobotOpenDeliverModel": {}}, "imRobotOpenDeliverModel"),
    ({"openSpaceId": USER}, "openSpaceId"),
    ({"openSpaceId": "dtv1.card//IM_GROUP.cid==", "imGroupOpenDeliverModel": {}}, "robotCode"),
])
async def test_the_fake_refuses_what_dingtalk_refuses(dingtalk, change, message):
    _, api = dingtalk
    with pytest.raises(DingTalkError) as refused:
        await api.call("POST", "/v1.0/card/instances/createAndDeliver", {**golden("dingtalk_state_draft"), **change})
    assert refused.value.status == 400 and message in refused.value.message


async def test_our_client_never_sends_a_non_string_param(dingtalk):
    _, api = dingtalk
    with pytest.raises(ValueError):
        await api.update_card_instance("genjin-41", {"status": 1})  # type: ignore[dict-item]
