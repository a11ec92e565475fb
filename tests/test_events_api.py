"""POST /api/events over real HTTP: tokens, idempotency on (source, event id), late matching when the
customer appears (whichever write path), bad input (422 with field and reason, nothing written),
the rate limit, a batch, and the events on the timeline and the console's 市场 filter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import Session, col, select

from bot.app import build_runtime, build_web_app
from store.customers import create_customer, update_customer
from store.db import session_scope
from store.models import Customer, MarketingEvent, Member, TimelineEvent
from tests.factories import make_org
from tests.test_leads_support import TOKEN, lead_settings

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client(settings, tmp_path, clock):
    s = lead_settings(settings, tmp_path, events_rate_limit_per_minute=5)
    runtime = build_runtime(s, clock=clock)
    org = make_org(runtime.engine)
    async with TestClient(TestServer(build_web_app(runtime, background=False))) as c:
        c.runtime, c.org, c.clock = runtime, org, clock  # type: ignore[attr-defined]
        yield c
    runtime.engine.dispose()


def page_view(client, event_id="e1", **over):
    when = (client.clock.now - timedelta(days=1)).isoformat()
    return {"event_id": event_id, "type": "page_view", "occurred_at": when, "title": "A产品",
            "url": "https://www.example.cn/products/a?utm_source=bd", "duration_seconds": 137, **over}


def customer_of(client, name="张伟", **kw):
    with session_scope(client.runtime.engine) as s:
        rep = s.get(Member, client.org.rep_a.id)
        return create_customer(session=s, actor=rep, name=name, at=client.clock.now, **kw).id


def marketing_rows(client, customer_id=None):
    with Session(client.runtime.engine) as s:
        stmt = select(TimelineEvent).where(col(TimelineEvent.kind).startswith("mkt_"))
        if customer_id is not None:
            stmt = stmt.where(col(TimelineEvent.customer_id) == customer_id)
        return list(s.exec(stmt).all())


async def test_unknown_or_missing_token_is_401_and_writes_nothing(client):
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}):
        r = await client.post("/api/events", json=page_view(client, phone="13912345678"), headers=headers)
        assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    with Session(client.runtime.engine) as s:
        assert s.exec(select(MarketingEvent)).all() == []


async def test_matched_event_on_timeline_traceable_and_idempotent(client):
    cid = customer_of(client, phone="+8613912345678")
    r = await client.post("/api/events", json=page_view(client, phone="139 1234 5678"), headers=AUTH)
    assert r.status == 201 and (await r.json()) == {"event_id": "e1", "replayed": False, "matched": True}
    again = await client.post("/api/events", json=page_view(client, phone="139 1234 5678"), headers=AUTH)
    assert again.status == 200 and (await again.json())["replayed"] is True
    rows = marketing_rows(client, cid)
    assert len(rows) == 1
    assert rows[0].summary == "查看了官网页面「A产品」，停留2分17秒（来源 百度）"
    assert rows[0].ref["source"] == "web" and rows[0].ref["event_id"] == "e1"
    assert rows[0].created_at == client.clock.now - timedelta(days=1)  # at the time it happened
    with Session(client.runtime.engine) as s:
        assert len(s.exec(select(MarketingEvent)).all()) == 1


async def test_unmatched_event_is_kept_and_matched_when_the_customer_appears(client):
    r = await client.post("/api/events", json=page_view(client, email="Li@Example.cn"), headers=AUTH)
    assert r.status == 201 and (await r.json())["matched"] is False
    other = await client.post("/api/events", json=page_view(client, "e2", phone="13700001111",
                                                            type="download", title="白皮书"), headers=AUTH)
    assert (await other.json())["matched"] is False
    cid = customer_of(client, name="李娜", email="li@example.cn")  # created: its e-mail matches at once
    assert [e.kind for e in marketing_rows(client, cid)] == ["mkt_page_view"]
    cid2 = customer_of(client, name="王磊")
    assert marketing_rows(client, cid2) == []
    with session_scope(client.runtime.engine) as s:  # a phone added later (another write path) matches too
        rep = s.get(Member, client.org.rep_a.id)
        update_customer(session=s, actor=rep, customer_id=cid2, phone="+8613700001111")
    assert [e.summary for e in marketing_rows(client, cid2)] == ["下载了「白皮书」（来源 百度）"]
    with Session(client.runtime.engine) as s:
        assert {e.customer_id for e in s.exec(select(MarketingEvent)).all()} == {cid, cid2}


async def test_external_id_matches_a_lead_posted_later_by_the_same_source(client):
    r = await client.post("/api/events", json=page_view(client, external_id="crm-77"), headers=AUTH)
    assert (await r.json())["matched"] is False
    lead = await client.post("/api/leads", json={"name": "赵六", "phone": "13600002222", "channel": "官网",
                                                 "external_id": "crm-77"}, headers=AUTH)
    cid = (await lead.json())["customer_id"]
    assert len(marketing_rows(client, cid)) == 1
    r = await client.post("/api/events", json=page_view(client, "e9", external_id="crm-77"), headers=AUTH)
    assert (await r.json())["matched"] is True  # known now: matched at once


@pytest.mark.parametrize("over, errors", [
    ({"type": "visit"}, {("type", "应为 page_view / download / webinar / form_submit / ad_click")}),
    ({"occurred_at": "2026-11-15 10:00"}, {("occurred_at", "缺少时区（如 +08:00 或 Z）")}),
    ({"occurred_at": "yesterday"}, {("occurred_at", "时间格式不正确（ISO 8601，如 2026-11-16T10:00:00+08:00）")}),
    ({"occurred_at": "2031-01-01T00:00:00Z"}, {("occurred_at", "时间在未来")}),
    ({"duration_seconds": -3}, {("duration_seconds", "应在 0 到 86400 秒之间")}),
    ({"duration_seconds": "137"}, {("duration_seconds", "应为秒数（整数）")}),
    ({"url": "javascript:alert(1)"}, {("url", "不是有效的网页地址（需 http/https）")}),
    ({"phone": "123"}, {("phone", "电话号码格式不正确")}),
    ({"phone": None}, {("phone", "电话、邮箱、external_id 至少填一项（用来找到客户）")}),
    ({"event_id": None}, {("event_id", "必填（事件编号，重发时保持不变）")}),
    ({"utm": {"utm_foo": "x"}}, {("utm.utm_foo", "不支持的 UTM 字段")}),
    ({"referrer": "x"}, {("referrer", "不支持的字段")}),
    ({"title": ["A"]}, {("title", "应为文本")}),
])
async def test_bad_input_is_422_with_field_and_reason_and_writes_nothing(client, over, errors):
    r = await client.post("/api/events", json=page_view(client, **{"phone": "13912345678", **over}), headers=AUTH)
    assert r.status == 422
    assert {(e["field"], e["reason"]) for e in (await r.json())["errors"]} == errors
    with Session(client.runtime.engine) as s:
        assert s.exec(select(MarketingEvent)).all() == []


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"\xff\xfe", b'"text"', b"null", b"[1, 2]",
                                  b'{"event_id": {"a": [1]}}', b"1e999999"])
async def test_junk_is_4xx_never_5xx(client, body):
    r = await client.post("/api/events", data=body, headers={**AUTH, "Content-Type": "application/json"})
    assert 400 <= r.status < 500


async def test_batch_all_or_nothing(client):
    bad = [page_view(client, "b1", phone="13912345678"), page_view(client, "b2", phone="13912345678", type="x")]
    r = await client.post("/api/events", json=bad, headers=AUTH)
    assert r.status == 422 and [e["field"] for e in (await r.json())["errors"]] == ["[1].type"]
    good = [page_view(client, "b1", phone="13912345678"), page_view(client, "b2", email="a@b.cn", type="ad_click")]
    r = await client.post("/api/events", json=good, headers=AUTH)
    assert r.status == 200 and [x["event_id"] for x in (await r.json())["results"]] == ["b1", "b2"]
    with Session(client.runtime.engine) as s:
        assert len(s.exec(select(MarketingEvent)).all()) == 2


async def test_rate_limit_per_source(client):
    statuses = [(await client.post("/api/events", json=page_view(client, f"r{i}", phone="13912345678"),
                                   headers=AUTH)).status for i in range(6)]
    assert statuses == [201] * 5 + [429]
    r = await client.post("/api/events", json=page_view(client, "r9", phone="13912345678"), headers=AUTH)
    assert r.status == 429 and int(r.headers["Retry-After"]) > 0


async def test_new_event_rescored_the_lead_at_once(client):
    cid = customer_of(client, phone="+8613912345678")
    for i in range(2):
        await client.post("/api/events", json=page_view(client, f"p{i}", phone="13912345678", title="价格",
                                                        url="https://www.example.cn/pricing"), headers=AUTH)
    with Session(client.runtime.engine) as s:
        customer = s.get(Customer, cid)
        assert customer.lead_score == 22 and {"text": "近3天看了2次价格页", "points": 22} in customer.lead_score_reasons
