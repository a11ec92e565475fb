"""Shared helpers for the edge tests (bad input over HTTP and chat); holds no tests itself.

One app with every HTTP endpoint mounted (sandbox API, /api/leads, the WeCom callback, /healthz)
on a real database, a signer for WeCom callbacks on the app's injected clock, and a snapshot of
everything an endpoint could write, so a test can assert that a refused request stored nothing.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.app import Runtime, build_runtime, build_web_app
from bot.config import LeadSettings, Settings, WeComSettings
from store.models import Customer, InboundMessage, LeadTouch, OutboxMessage
from tests.factories import Org, make_org
from tests.fakes.wecom import random_aes_key, wecom_encrypt, wecom_signature

LEAD_TOKEN = "edge-web-form-token-0123456789"
LEAD_AUTH = {"Authorization": f"Bearer {LEAD_TOKEN}"}
WECOM_TOKEN = "edgeToken"
CORP_ID = "wwedgecorp0001"
CJK = re.compile(r"[\u4e00-\u9fff]")
_msg_ids = itertools.count(1)


def edge_settings(db_url: str, data_dir: Path, **overrides: Any) -> Settings:
    wecom = WeComSettings(corp_id=CORP_ID, agent_id=1000002, secret="unused", token=WECOM_TOKEN,
                         encoding_aes_key=random_aes_key(), api_base="http://127.0.0.1:9")  # nothing listens
    values: dict[str, Any] = {"database_url": db_url, "data_dir": data_dir, "max_body_bytes": 1024 * 1024,
                              "max_audio_bytes": 64 * 1024, "wecom": wecom,
                              "leads": LeadSettings(sources={"web": LEAD_TOKEN}), **overrides}
    return Settings(**values)


@dataclass
class Edge:
    client: TestClient
    runtime: Runtime
    org: Org
    clock: Callable[[], datetime]

    @property
    def engine(self) -> Any:
        return self.runtime.engine

    def signed_callback(self, plain_xml: str, *, timestamp: str | None = None) -> tuple[dict[str, str], bytes]:
        """What WeCom would POST for `plain_xml`, signed at `timestamp` (default: the app's clock)."""
        wecom = self.runtime.settings.wecom
        assert wecom is not None
        timestamp = timestamp if timestamp is not None else str(int(self.clock().timestamp()))
        nonce = str(int.from_bytes(os.urandom(4), "big"))
        encrypted = wecom_encrypt(plain_xml, wecom.encoding_aes_key.get_secret_value(), wecom.corp_id)
        query = {"msg_signature": wecom_signature(wecom.token.get_secret_value(), timestamp, nonce, encrypted),
                 "timestamp": timestamp, "nonce": nonce}
        body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return query, body.encode()

    def signed_verify(self, echo: str, *, timestamp: str) -> dict[str, str]:
        wecom = self.runtime.settings.wecom
        assert wecom is not None
        echostr = wecom_encrypt(echo, wecom.encoding_aes_key.get_secret_value(), wecom.corp_id)
        signature = wecom_signature(wecom.token.get_secret_value(), timestamp, "7", echostr)
        return {"msg_signature": signature, "timestamp": timestamp, "nonce": "7", "echostr": echostr}

    def stored(self) -> dict[str, int]:
        """Everything an endpoint could write: rows per table and files under media/."""
        with Session(self.engine) as s:
            counts = {m.__name__: int(s.exec(select(func.count()).select_from(m)).one())
                      for m in (InboundMessage, Customer, LeadTouch, OutboxMessage)}
        media = self.runtime.settings.media_dir
        counts["media_files"] = sum(1 for p in media.rglob("*") if p.is_file()) if media.exists() else 0
        return counts

    def inbox(self) -> list[InboundMessage]:
        with Session(self.engine) as s:
            return list(s.exec(select(InboundMessage).order_by(col(InboundMessage.id))).all())

    def replies_to(self, recipient: str, after_id: int = 0) -> list[OutboxMessage]:
        with Session(self.engine) as s:
            return list(s.exec(select(OutboxMessage).where(col(OutboxMessage.recipient) == recipient,
                                                           col(OutboxMessage.id) > after_id)
                               .order_by(col(OutboxMessage.id))).all())

    def last_outbox_id(self) -> int:
        with Session(self.engine) as s:
            return int(s.exec(select(func.max(OutboxMessage.id))).one() or 0)

    async def say(self, member: str, text: str) -> list[str]:
        """A sandbox chat message through HTTP and the worker; the texts answered to the sender."""
        before = self.last_outbox_id()
        r = await self.client.post("/sandbox/api/messages",
                                   json={"member": member, "text": text, "msg_id": f"edge-{next(_msg_ids)}"})
        assert r.status == 200, await r.text()
        self.runtime.worker.drain()
        return [o.payload.get("text") or o.payload.get("card", {}).get("title", "")
                for o in self.replies_to(member, before)]


def text_xml(user: str, content: str, msg_id: str, create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


def voice_xml(user: str, media_id: str, msg_id: str, create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><Format><![CDATA[amr]]></Format>"
            f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


@contextlib.asynccontextmanager
async def edge_app(db_url: str, tmp_path: Path, clock: Callable[[], datetime], *, sandbox: bool = True,
                   **overrides: Any) -> AsyncIterator[Edge]:
    """The whole HTTP surface (sandbox mounted unless sandbox=False, as under `genjin serve`)."""
    runtime = build_runtime(edge_settings(db_url, tmp_path / "var", **overrides), clock=clock)
    org = make_org(runtime.engine)
    try:
        async with TestClient(TestServer(build_web_app(runtime, sandbox=sandbox, background=False))) as client:
            yield Edge(client, runtime, org, clock)
    finally:
        runtime.engine.dispose()
