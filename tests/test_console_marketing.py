"""The customer 360 page with marketing events (the 市场 source, traceable to the API call) and the
lead score with its reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.scoring.rescore import rescore_customers
from bot.scoring.weights import load_weights
from store.db import session_scope
from store.marketing import EventRecord, record_marketing_event
from tests.console_support import client, console_stack, follow


@pytest.fixture
async def stack(tmp_path, db_url, clock):
    async with console_stack(tmp_path, db_url, clock) as s:
        yield s


async def test_marketing_events_filterable_traceable_and_the_score_explained(stack):
    now = stack.runtime.worker.clock()
    with session_scope(stack.runtime.engine) as s:
        record_marketing_event(session=s, source="官网表单", at=now, event=EventRecord(
            event_id="pv-001", type="page_view", occurred_at=now - timedelta(hours=3), title="价格方案",
            url="https://www.example.cn/pricing", duration_seconds=137, phone="+8613912345678"))
        rescore_customers(session=s, customer_ids=[stack.book.mine], weights=load_weights(None), now=now)
    async with client() as http:
        stack.wecom.login_user = "wangfang"
        resp, text, _ = await follow(http, stack.url(f"/console/login/wecom?next=/console/customers/{stack.book.mine}"))
        assert resp.status == 200
        assert "线索评分" in text and "近3天看了1次价格页 +11" in text
        assert "查看了官网页面「价格方案」，停留2分17秒" in text and "价格太高" in text
        resp, text, _ = await follow(http, stack.url(f"/console/customers/{stack.book.mine}?source=市场"))
        assert "查看了官网页面「价格方案」" in text and "价格太高" not in text
        assert "市场事件 官网表单/pv-001" in text  # the API call it came from: source and event id
