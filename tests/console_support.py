"""The console under test: the real app (build_runtime/build_web_app) on a loopback port with its
WeCom and DingTalk logins pointed at the local fakes, a small book of customers, and a client that
logs in through the fakes' OAuth endpoints exactly as a browser would (following each redirect)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlmodel import col, select

from bot.app import Runtime, build_runtime, build_web_app
from bot.config import DingTalkSettings, Settings, WeComSettings
from store.customers import create_customer
from store.db import session_scope
from store.followups import confirm_followup, create_followup
from store.models import Correction, Member
from store.timeline import add_event
from tests.factories import Org, make_org
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.wecom import FakeWeCom, random_aes_key


@dataclass
class Book:
    mine: int  # rep_a's customer (phone and e-mail known)
    others: int  # rep_b's customer, same team
    draft: int  # rep_a's unconfirmed follow-up on `mine`
    confirmed: int  # rep_a's confirmed follow-up on `mine` (with an amount)


@dataclass
class ConsoleStack:
    runtime: Runtime
    server: TestServer
    wecom: FakeWeCom
    dingtalk: FakeDingTalk
    org: Org
    book: Book

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


def seed_book(runtime: Runtime, org: Org) -> Book:
    now = runtime.worker.clock()
    earlier = now - timedelta(days=3)
    with session_scope(runtime.engine) as s:
        rep_a = s.get(Member, org.rep_a.id)
        rep_b = s.get(Member, org.rep_b.id)
        assert rep_a is not None and rep_b is not None
        rep_b.dingtalk_userid = "lisi-ding"
        s.add(rep_b)
        mine = create_customer(session=s, actor=rep_a, name="蔡经理", company="华康医疗", phone="+8613912345678",
                               email="cai@huakang.cn", stage="需求确认", product="移动CRM", source_channel="抖音",
                               at=earlier)
        done = create_followup(session=s, actor=rep_a, customer_id=mine.id or 0, kind="chat",
                               text="蔡经理要演示，预算 30 万", tags=["要演示"], amount_cny=300_000, at=earlier)
        add_event(session=s, customer_id=mine.id or 0, actor_id=rep_a.id, kind="followup_chat",
                  summary="［要演示］蔡经理要演示，预算 30 万", ref={"followup_id": done.id}, at=earlier)
        confirm_followup(session=s, actor=rep_a, followup_id=done.id or 0, at=earlier + timedelta(minutes=5))
        draft = create_followup(session=s, actor=rep_a, customer_id=mine.id or 0, kind="chat",
                                text="蔡经理说价格太高了，要重新报价", tags=["价格异议"], at=now - timedelta(hours=1))
        add_event(session=s, customer_id=mine.id or 0, actor_id=rep_a.id, kind="followup_chat",
                  summary="［价格异议］蔡经理说价格太高了，要重新报价", ref={"followup_id": draft.id},
                  at=now - timedelta(hours=1))
        other = create_customer(session=s, actor=rep_b, name="周总", company="远航物流", phone="+8613800001111",
                                stage="初步接触", source_channel="官网", at=earlier)
        mine.next_contact_at = now + timedelta(days=2)
        mine.stale_rung = 1
        s.add(mine)
        return Book(mine=mine.id or 0, others=other.id or 0, draft=draft.id or 0, confirmed=done.id or 0)


@contextlib.asynccontextmanager
async def console_stack(tmp_path: Path, database_url: str, clock: Any, *, sandbox: bool = False,
                        dingtalk_corp_id: str | None = None, **settings: Any) -> AsyncIterator[ConsoleStack]:
    wecom = await FakeWeCom().start()
    dingtalk = await FakeDingTalk().start()
    config = Settings(
        database_url=database_url, data_dir=tmp_path / "var",
        wecom=WeComSettings(corp_id=wecom.corp_id, agent_id=wecom.agent_id, secret=wecom.secret,
                            token="genjinTestToken", encoding_aes_key=random_aes_key(), api_base=wecom.url,
                            oauth_base=wecom.url),
        dingtalk=DingTalkSettings(client_id=dingtalk.client_id, client_secret=dingtalk.client_secret,
                                  robot_code=dingtalk.client_id, api_base=dingtalk.base_url,
                                  oapi_base=dingtalk.base_url, login_base=dingtalk.base_url,
                                  corp_id=dingtalk_corp_id),
        **settings,
    )
    runtime = build_runtime(config, clock=clock)
    org = make_org(runtime.engine)
    book = seed_book(runtime, org)
    server = TestServer(build_web_app(runtime, background=False, sandbox=sandbox),
                        host="127.0.0.1")
    await server.start_server()
    try:
        yield ConsoleStack(runtime, server, wecom, dingtalk, org, book)
    finally:
        await server.close()
        await wecom.close()
        await dingtalk.close()
        runtime.engine.dispose()


def supervisor_on_dingtalk(stack: ConsoleStack, userid: str = "chen-ding") -> str:
    """Give 陈主管 a DingTalk user id (what the fake's logins answer with); returns it."""
    with session_scope(stack.runtime.engine) as s:
        supervisor = s.get(Member, stack.org.supervisor.id)
        assert supervisor is not None
        supervisor.dingtalk_userid = userid
        s.add(supervisor)
    return userid


def client() -> aiohttp.ClientSession:
    # unsafe: keep cookies for an IP host (127.0.0.1), as a browser does.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def follow(http: aiohttp.ClientSession, url: str, *, hops: int = 6) -> tuple[aiohttp.ClientResponse, str,
                                                                                     list[str]]:
    """GET `url` following redirects one by one (the cookie jar sees every hop); returns the last
    response, its text, and every URL visited."""
    seen = [url]
    for _ in range(hops):
        async with http.get(url, allow_redirects=False) as resp:
            text = await resp.text()
            if resp.status not in (301, 302, 303, 307):
                return resp, text, seen
            url = str(resp.url.join(aiohttp.client.URL(resp.headers["Location"])))
            seen.append(url)
    raise AssertionError(f"too many redirects: {seen}")


def correction_rows(runtime: Runtime, followup_id: int) -> list[tuple[str, str | None, str | None]]:
    with session_scope(runtime.engine) as s:
        rows = s.exec(select(Correction).where(col(Correction.followup_id) == followup_id)
                      .order_by(col(Correction.id))).all()
        return [(r.field, r.before, r.after) for r in rows]


def load(runtime: Runtime, model: type[Any], row_id: int) -> Any:
    with session_scope(runtime.engine) as s:
        return s.get(model, row_id)

