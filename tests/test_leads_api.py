"""POST /api/leads over real HTTP: UTM parsing, tokens, the rate limit, the 422 paths (nothing
written), and end to end: a posted lead reaches the right rep's WeCom chat (fake WeCom) with its reason."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import Session, select

from bot.app import build_runtime, build_web_app
from bot.config import LeadSettings, _default_channels
from bot.leads.api import RateLimiter
from bot.leads.channels import ChannelTable, UrlError, channel_of, parse_utm
from store.models import Customer, LeadAssignment, LeadTouch, OutboxMessage, TimelineEvent
from tests.factories import make_org
from tests.fakes.wecom import wecom_stack
from tests.test_leads_support import RULES, TOKEN, lead_settings

AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = {"name": "张伟", "phone": "13912345678", "company": "华康医疗", "region": "华东",
        "landing_url": "https://www.example.cn/lp?utm_source=dy&utm_campaign=%E5%8F%8C11&utm_medium=cpc"}


@pytest.mark.parametrize("url, expected", [
    ("https://a.cn/p?utm_source=dy&utm_medium=cpc&utm_campaign=%E5%8F%8C11",
     {"utm_source": "dy", "utm_medium": "cpc", "utm_campaign": "双11"}),
    ("https://a.cn/?UTM_SOURCE=XHS&Utm_Term=crm+系统", {"utm_source": "XHS", "utm_term": "crm 系统"}),
    ("https://a.cn/#/form?utm_source=bd&utm_content=banner", {"utm_source": "bd", "utm_content": "banner"}),
    ("https://a.cn/?utm_source=dy#/f?utm_source=bd", {"utm_source": "dy"}),  # the real query wins
    ("www.a.cn/landing?utm_source=zhihu", {"utm_source": "zhihu"}),  # pasted without a scheme
    ("https://a.cn/?utm_source=&utm_source=wx&utm_source=dy", {"utm_source": "wx"}),  # first non-empty
    ("https://a.cn/？utm_source＝dy", {"utm_source": "dy"}),  # full-width punctuation from a Chinese IME
    ("https://a.cn/?gclid=1&from=timeline", {}),
    ("", {}),
])
def test_parse_utm(url, expected):
    assert parse_utm(url) == expected


@pytest.mark.parametrize("url", ["ftp://a.cn/?utm_source=dy", "javascript:alert(1)", "https://[::1/?utm_source=dy",
                                 "http:///nohost?utm_source=dy"])
def test_parse_utm_refuses_non_web_addresses(url):
    with pytest.raises(UrlError):
        parse_utm(url)


def test_channel_table_maps_codes_and_names_and_flags_unknown():
    table = ChannelTable(_default_channels())
    assert table.resolve("DY").name == "抖音" and table.resolve(" xhs ").name == "小红书"
    assert table.resolve("抖音").known and table.resolve("ｄｙ").name == "抖音"
    unknown = table.resolve("NewApp")
    assert (unknown.name, unknown.raw, unknown.known) == ("NewApp", "NewApp", False)
    # The explicit field wins over utm_source; neither: None (the caller refuses, never guesses).
    assert channel_of(explicit="展会", utm={"utm_source": "dy"}, table=table).name == "展会"
    assert channel_of(explicit=None, utm={"utm_source": "dy"}, table=table).name == "抖音"
    assert channel_of(explicit=" ", utm={}, table=table) is None


def test_rate_limiter_sliding_window():
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.retry_after("web") == 0 and limiter.retry_after("web") == 0
    assert limiter.retry_after("web") == 60 and limiter.retry_after("other") == 0
    now[0] = 30.0
    assert limiter.retry_after("web") == 30
    now[0] = 60.5
    assert limiter.retry_after("web") == 0


@pytest.fixture
async def client(settings, tmp_path, clock):
    s = lead_settings(settings, tmp_path, rate_limit_per_minute=5)
    runtime = build_runtime(s, clock=clock)
    org = make_org(runtime.engine)
    async with TestClient(TestServer(build_web_app(runtime, background=False))) as c:
        c.runtime, c.org = runtime, org  # type: ignore[attr-defined]
        yield c
    runtime.engine.dispose()


def nothing_written(client) -> bool:
    with Session(client.runtime.engine) as s:
        return all(not s.exec(select(m)).all()
                   for m in (Customer, LeadTouch, LeadAssignment, TimelineEvent, OutboxMessage))


async def test_post_creates_assigns_and_then_touches(client):
    r = await client.post("/api/leads", json=GOOD, headers=AUTH)
    assert r.status == 201
    body = await r.json()
    assert body["owner"] == "王芳" and body["channel"] == "抖音" and not body["duplicate"] and not body["pool"]
    assert body["reason"] == "抖音线索，华东区域，命中规则「抖音华东」，A组轮流分配，本次轮到王芳，分配给王芳"
    again = await client.post("/api/leads", json={**GOOD, "phone": "+86 139 1234 5678", "channel": "xhs"}, headers=AUTH)
    assert again.status == 200 and (await again.json())["duplicate"] is True
    with Session(client.runtime.engine) as s:
        assert len(s.exec(select(Customer)).all()) == 1 and len(s.exec(select(LeadTouch)).all()) == 2


async def test_unknown_channel_accepted_and_flagged(client):
    r = await client.post("/api/leads", json={**GOOD, "landing_url": "https://a.cn/?utm_source=tt_ads"}, headers=AUTH)
    body = await r.json()
    assert r.status == 201 and body["channel"] == "tt_ads" and body["channel_flagged"] is True and body["pool"]


@pytest.mark.parametrize("payload, errors", [
    ({}, {("name", "必填"), ("phone", "电话和邮箱至少填一项"),
          ("channel", "缺少渠道：落地页地址里没有 utm_source，也没有填写 channel")}),
    ({**GOOD, "phone": "12345"}, {("phone", "电话号码格式不正确")}),
    ({**GOOD, "email": "not-an-email"}, {("email", "邮箱格式不正确")}),
    ({**GOOD, "landing_url": "https://a.cn/no-utm"},
     {("channel", "缺少渠道：落地页地址里没有 utm_source，也没有填写 channel")}),
    ({**GOOD, "landing_url": "ftp://a.cn/?utm_source=dy"}, {("landing_url", "不是有效的网页地址（需 http/https）")}),
    ({**GOOD, "name": "张" * 101}, {("name", "过长（最多 100 个字符）")}),
    ({**GOOD, "nickname": "小张"}, {("nickname", "不支持的字段")}),
    ({**GOOD, "company": ["华康"], "region": True}, {("company", "应为文本"), ("region", "应为文本")}),
    ({**GOOD, "name": "   "}, {("name", "必填")}),
    ([GOOD], {("(body)", "应为 JSON 对象")}),
])
async def test_validation_errors_are_422_with_field_and_reason_and_write_nothing(client, payload, errors):
    r = await client.post("/api/leads", json=payload, headers=AUTH)
    assert r.status == 422
    body = await r.json()
    assert body["error"] == "validation"
    assert {(e["field"], e["reason"]) for e in body["errors"]} == errors
    assert nothing_written(client)


async def test_auth_json_and_rate_limit(client):
    assert (await client.post("/api/leads", json=GOOD)).status == 401
    wrong = await client.post("/api/leads", json=GOOD, headers={"Authorization": "Bearer nope-nope-nope-nope"})
    assert wrong.status == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    bad = await client.post("/api/leads", data=b"{name:", headers={**AUTH, "Content-Type": "application/json"})
    assert bad.status == 400 and (await bad.json())["error"] == "invalid_json"
    assert nothing_written(client)
    statuses = []
    for i in range(4):
        body = {**GOOD, "phone": f"1390000000{i}", "name": "赵钱孙李"[i]}
        statuses.append((await client.post("/api/leads", json=body, headers=AUTH)).status)
    assert statuses == [201] * 4  # 5 per minute: the bad JSON above counted too
    limited = await client.post("/api/leads", json=GOOD, headers=AUTH)
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    assert (await limited.json())["error"] == "rate_limited"


async def test_lead_reaches_the_right_reps_wecom_chat_with_its_reason(db_url, tmp_path, clock):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    leads = LeadSettings(rules_file=rules, sources={"web": TOKEN})
    async with wecom_stack(db_url, tmp_path / "var", clock=clock, leads=leads) as st:
        make_org(st.runtime.engine)
        async with aiohttp.ClientSession() as http:
            r = await http.post(str(st.server.make_url("/api/leads")), json={**GOOD, "action": "下载白皮书"},
                                headers=AUTH)
            assert r.status == 201
        await st.runtime.sender.run_once()
        [sent] = st.fake.sent_to("wangfang", "template_card")
        card = sent["template_card"]
        assert card["main_title"]["title"] == "新线索：张伟"
        assert card["sub_title_text"].startswith(
            "分配原因：抖音线索，华东区域，命中规则「抖音华东」，A组轮流分配，本次轮到王芳，分配给王芳")
        fields = {f["keyname"]: f["value"] for f in card["horizontal_content_list"]}
        assert fields["渠道"] == "抖音" and fields["活动"] == "双11" and fields["电话"] == "13912345678"  # dialable
        assert {b["text"] for b in card["button_list"]} >= {"认领", "退回公海"}
        assert st.fake.sent_to("liming") == []
