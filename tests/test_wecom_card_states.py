"""The WeCom follow-up card in each of its states, as golden JSON (what we send to WeCom), and the
fake WeCom accepting that sequence the way document/path/94888 describes it: a draft card sent with
message/send, a tag tap answered by the refreshed card in place (update with a whole template_card),
确认 and 丢弃 answered by a grey, unclickable button (update with `button.replace_name`), each spending
the tap's one-time ResponseCode. GENJIN_UPDATE_GOLDEN=1 rewrites the files."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.cards.followup import build_followup_card
from bot.extract import DEFAULT_TAGS
from bot.models import Card
from bot.platforms.wecom.api import WeComApi, WeComError
from bot.platforms.wecom.render import final_label, render_wecom
from store.models import Customer, FollowUp
from tests.fakes.wecom import FakeWeCom

GOLDEN = Path(__file__).parent / "golden"
TZ = ZoneInfo("Asia/Shanghai")
ALL_TAGS = [t.name for t in DEFAULT_TAGS]
USER = "wangfang"
LONG_EMAIL = "xu.zhiqiang.procurement@huakang-medical-devices.com.cn"


def card(tags: list[str]) -> Card:
    customer = Customer(id=3, name="许志强", company="华康医疗器械", phone="+8675586001234", email=LONG_EMAIL,
                        owner_id=1, team_id=1, stage="需求确认")
    followup = FollowUp(id=12, customer_id=3, rep_id=1, tags=tags, amount_cny=430000,
                        next_contact_at=datetime(2026, 11, 19, 2, 0, tzinfo=UTC))
    return build_followup_card(followup=followup, customer=customer, history=[], all_tags=ALL_TAGS, tz=TZ)


DRAFT = render_wecom(card(["价格异议"]), task_id="genjin_41_0")
TOGGLED = render_wecom(card(["价格异议", "要报价"]), task_id="genjin_42_0")


def update_body(**content: Any) -> dict[str, Any]:
    return {"userids": [USER], "agentid": 1000002, "response_code": "RESPONSE_CODE", **content}


STATES = {
    "wecom_state_draft": DRAFT,
    "wecom_state_tag_toggled": update_body(template_card=TOGGLED),
    "wecom_state_confirmed": update_body(button={"replace_name": final_label("confirm:12")}),
    "wecom_state_discarded": update_body(button={"replace_name": final_label("discard:12")}),
}


@pytest.mark.parametrize("name", sorted(STATES))
def test_golden(name):
    rendered = json.dumps(STATES[name], ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("GENJIN_UPDATE_GOLDEN"):
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


def test_the_card_shows_whole_emails_and_dialable_landlines():
    shown = {f["keyname"]: f["value"] for f in DRAFT["horizontal_content_list"]}
    text = json.dumps(DRAFT, ensure_ascii=False)  # a field past WeCom's six is spelled out below them
    assert LONG_EMAIL in text and "+86755" not in text
    assert shown["电话"].replace(" ", "") == "0755-86001234"


def golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
async def wecom():
    fake = await FakeWeCom().start()
    api = WeComApi(corp_id=fake.corp_id, secret=fake.secret, agent_id=fake.agent_id, api_base=fake.url)
    yield fake, api
    await api.close()
    await fake.close()


async def test_the_fake_accepts_every_state_and_records_the_in_place_updates(wecom):
    fake, api = wecom
    draft = golden("wecom_state_draft")
    await api.send_template_card(USER, draft)
    # Tag tap: the same card, refreshed in place with the tap's code.
    toggled = golden("wecom_state_tag_toggled")
    await api.update_template_card(USER, fake.click(USER, draft["task_id"]), toggled["template_card"])
    # 确认 on the refreshed card: its buttons become one grey 「已确认」.
    confirmed = golden("wecom_state_confirmed")
    code = fake.click(USER, toggled["template_card"]["task_id"])
    await api.finish_template_card(USER, code, confirmed["button"]["replace_name"])
    assert [u["replaces_task_id"] for u in fake.updates] == ["genjin_41_0", "genjin_42_0"]
    final = fake.card_as_shown("genjin_42_0")
    assert final["replace_text"] == "已确认" and "button_list" not in final and "button_selection" not in final
    assert len(fake.sent_to(USER, "template_card")) == 1  # one card in the chat throughout
    # The code of that tap is spent: a second update is refused.
    with pytest.raises(WeComError) as spent:
        await api.finish_template_card(USER, code, "已确认")
    assert spent.value.errcode == 40140


async def test_discarded_and_the_fakes_refusals(wecom):
    fake, api = wecom
    other = render_wecom(card([]), task_id="genjin_50_0")
    await api.send_template_card(USER, other)
    discarded = golden("wecom_state_discarded")
    code = fake.click(USER, "genjin_50_0")
    with pytest.raises(WeComError) as empty:  # replace_name is required
        await api.finish_template_card(USER, code, " ")
    assert empty.value.errcode == 40063
    fake.advance(72 * 3600 + 1)  # a tap's code lives 72 h
    with pytest.raises(WeComError) as late:
        await api.finish_template_card(USER, code, "已丢弃")
    assert late.value.errcode == 40140
    await api.finish_template_card(USER, fake.click(USER, "genjin_50_0"), discarded["button"]["replace_name"])
    assert fake.updates[-1]["replace_name"] == "已丢弃"
    assert fake.card_as_shown("genjin_50_0")["replace_text"] == "已丢弃"
