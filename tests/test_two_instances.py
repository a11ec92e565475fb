"""Two full genjin instances on one PostgreSQL database against the fake WeCom, the way a team scales
out: instance A is the app built in this process (build_runtime + build_web_app: worker, outbox
sender, scheduler), instance B is a real `genjin serve` process. 300 pasted chats arrive through
the WeCom callback, split between the two like a load balancer would, together with pre-visit cards
falling due and reps fighting over the same pool leads. Half-way through, B is killed with SIGKILL
(a crash, not a stop) and started again.

Asserted: every chat is stored once, recorded once (one follow-up) and answered with exactly one
card in the fake's record; every outbox row marked sent is exactly one message in the fake's record
(no duplicates, nothing dropped or failed); each contested lead has exactly one winner and nobody
passes the daily cap; every due visit gets exactly one pre-visit card. What WeCom's own duplicate
check absorbed (re-sends after the crash) is counted and printed, with the other counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import Session, col, func, select

from bot.app import build_runtime, build_web_app
from bot.clock import system_clock
from bot.config import Settings, WeComSettings
from store.db import make_engine, session_scope
from store.models import (
    Customer,
    FollowUp,
    InboundMessage,
    LeadAssignment,
    Member,
    OutboxMessage,
    OutboxStatus,
    Role,
    Team,
    Visit,
)
from tests.conftest import WALL_CLOCK_ENV
from tests.fakes.wecom import FakeWeCom, WeComCallbackDriver, random_aes_key
from tests.pg_server import PgServer

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parent.parent
CHATS = 300
CHATTERS = 16  # rep01..rep16 paste chats (about 19 each: under WeCom's 30 a minute per member)
CLAIMERS = ["rep17", "rep18", "rep19", "rep20"]  # fight over the pool
POOL_LEADS = 10
DAILY_CAP = 5
VISITS = 10
LEASE_SECONDS = 4  # inbox and outbox leases: how soon a killed instance's rows are taken over
DEADLINE_SECONDS = 120  # a bound against hanging, not a speed check: a loaded machine is slower
COMPANIES = ["华信物流", "万通物流", "华康医疗", "远景科技", "东方重工", "蓝海贸易", "金桥建材", "恒泰食品"]
SURNAMES = ["朱", "许", "陈", "林", "黄", "周", "吴", "郑", "孙", "马", "胡", "郭"]
CONFIRM = re.compile(r"^confirm:(\d+)$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chat_text(i: int) -> str:
    return (f"和{COMPANIES[i % len(COMPANIES)]}{i}号店的{SURNAMES[i % len(SURNAMES)]}总聊了，"
            f"客户想了解移动CRM，预算{10 + i % 50}万，电话139{10000000 + i:08d}")


def seed(url: str, now: datetime) -> tuple[list[int], list[int]]:
    """The team, the pool leads (ids) and the customers with a visit due for its pre-visit card."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            team = Team(name="华东销售一组", created_at=now)
            s.add(team)
            s.flush()
            reps = [Member(team_id=team.id or 0, display_name=f"销售{n:02d}", role=Role.REP,
                           wecom_userid=f"rep{n:02d}", created_at=now) for n in range(1, 21)]
            s.add_all([*reps, Member(team_id=team.id or 0, display_name="陈主管", role=Role.SUPERVISOR,
                                     wecom_userid="sup", created_at=now)])
            s.flush()
            pool = [Customer(name=f"公海客户{k}", team_id=team.id or 0, owner_id=None, created_at=now)
                    for k in range(POOL_LEADS)]
            visited = [Customer(name=f"拜访客户{k}", company="华信物流", team_id=team.id or 0, owner_id=reps[k].id,
                                last_activity_at=now, created_at=now) for k in range(VISITS)]
            s.add_all([*pool, *visited])
            s.flush()
            s.add_all([Visit(customer_id=c.id or 0, rep_id=c.owner_id or 0, scheduled_at=now + timedelta(minutes=10),
                             goal="演示方案", created_at=now) for c in visited])
            return [c.id or 0 for c in pool], [c.id or 0 for c in visited]
    finally:
        engine.dispose()


def serve_command() -> list[str]:
    """`genjin serve`. In CI's run with the wall clock moved years ahead (time-machine, in this
    process only) B is started on the same moved clock, from this very instant: two servers whose
    clocks agree, as NTP keeps them."""
    if not os.environ.get(WALL_CLOCK_ENV):
        return [sys.executable, "-m", "bot.cli", "serve"]
    code = ("import datetime, sys, time_machine; "
            "time_machine.travel(datetime.datetime.fromisoformat(sys.argv[1]), tick=True).start(); "
            "from bot.cli import main; sys.exit(main(['serve']))")
    return [sys.executable, "-c", code, datetime.now(UTC).isoformat()]


class ServeProcess:
    """`genjin serve` in its own process, on the same database and fake WeCom."""

    def __init__(self, env: dict[str, str], log: Path, command: list[str] | None = None) -> None:
        self.command = command
        self.port = _free_port()
        self.log = log
        self.env = {**env, "GENJIN_PORT": str(self.port)}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> ServeProcess:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.command or serve_command(), env=self.env, cwd=self.log.parent,
                                         stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(self.url + "/healthz") as resp:
                        if resp.status == 200:
                            return self
                await asyncio.sleep(0.2)
        raise AssertionError("genjin serve did not come up\n" + self.log.read_text(errors="replace")[-3000:])

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)  # a crash: no cleanup, open transactions die with it
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@contextlib.asynccontextmanager
async def instance_a(settings: Settings, clock: Callable[[], datetime] = system_clock) -> AsyncIterator[str]:
    """The app built in this process, background loops and all; yields its callback URL."""
    runtime = build_runtime(settings, clock=clock)  # the wall clock by default, as `genjin serve` has
    server = TestServer(build_web_app(runtime), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url(settings.wecom.callback_path if settings.wecom else "/"))
    finally:
        await server.close()
        runtime.engine.dispose()


class Callbacks:
    """WeCom pushing callbacks through a load balancer: to the instance asked for, and to A when
    that one does not answer (killed)."""

    def __init__(self, drivers: dict[str, WeComCallbackDriver]) -> None:
        self.drivers = drivers
        self.limit = asyncio.Semaphore(12)
        self.rerouted = 0

    async def push(self, target: str, user: str, text: str, msg_id: str) -> None:
        async with self.limit:
            for name in (target, "a"):
                driver = self.drivers[name]
                try:
                    delivery = await driver.push(driver.text_xml(user, text, msg_id=msg_id))
                except aiohttp.ClientError:
                    self.rerouted += 1
                    continue
                if delivery.final == 200:
                    return
            raise AssertionError(f"callback {msg_id} was not accepted")


def snapshot(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            inbox = dict(s.exec(select(InboundMessage.status, func.count()).group_by(InboundMessage.status)).all())
            outbox = dict(s.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
            return {"inbox": inbox, "outbox": outbox}
    finally:
        engine.dispose()


async def test_two_instances_kill_9_exactly_once(pg_server: PgServer, pg_template: str, tmp_path: Path) -> None:
    started = time.monotonic()
    url = pg_server.create_database(f"two_instances_{os.getpid()}", template=pg_template)
    now = system_clock()  # both instances run on the wall clock, like production
    pool_ids, visit_customer_ids = seed(url, now)

    fake = await FakeWeCom().start()
    token, aes_key = "genjinTestToken", random_aes_key()
    wecom = WeComSettings(corp_id=fake.corp_id, agent_id=fake.agent_id, secret=fake.secret, token=token,
                          encoding_aes_key=aes_key, api_base=fake.url)
    common = {"inbox_lease_seconds": LEASE_SECONDS, "outbox_lease_seconds": LEASE_SECONDS,
              "worker_poll_seconds": 0.2}
    settings_a = Settings(database_url=url, data_dir=tmp_path / "a", wecom=wecom, log_level="WARNING",
                          leads={"pool_daily_claim_cap": DAILY_CAP}, **common)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GENJIN_")},
        "PYTHONPATH": str(REPO), "GENJIN_CONFIG": str(tmp_path / "none.toml"), "GENJIN_DATABASE_URL": url,
        "GENJIN_DATA_DIR": str(tmp_path / "b"), "GENJIN_LOG_LEVEL": "WARNING",
        "GENJIN_INBOX_LEASE_SECONDS": str(LEASE_SECONDS), "GENJIN_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "GENJIN_WORKER_POLL_SECONDS": "0.2", "GENJIN_LEADS__POOL_DAILY_CLAIM_CAP": str(DAILY_CAP),
        "GENJIN_WECOM__CORP_ID": wecom.corp_id, "GENJIN_WECOM__AGENT_ID": str(wecom.agent_id),
        "GENJIN_WECOM__SECRET": fake.secret, "GENJIN_WECOM__TOKEN": token,
        "GENJIN_WECOM__ENCODING_AES_KEY": aes_key, "GENJIN_WECOM__API_BASE": wecom.api_base,
    }
    b = ServeProcess(env, tmp_path / "b.log")
    b2 = ServeProcess(env, tmp_path / "b2.log")

    def driver(callback_url: str) -> WeComCallbackDriver:
        return WeComCallbackDriver(callback_url, token=token, aes_key=aes_key, corp_id=wecom.corp_id,
                                   agent_id=wecom.agent_id)

    msg_ids = [f"7{i:06d}" for i in range(CHATS)]
    try:
        async with instance_a(settings_a) as a_url:
            await b.start()
            async with driver(a_url) as da, driver(b.url + wecom.callback_path) as db_, \
                    driver(b2.url + wecom.callback_path) as db2:
                lb = Callbacks({"a": da, "b": db_, "b2": db2})
                user = [f"rep{1 + i % CHATTERS:02d}" for i in range(CHATS)]

                # Phase 1: both instances take chats and the contested claims.
                first = [lb.push("ab"[i % 2], user[i], chat_text(i), msg_ids[i]) for i in range(CHATS // 2)]
                claims = [lb.push("ab"[(k + n) % 2], rep, f"认领 #{lead}", f"8{n}{k:04d}")
                          for k, lead in enumerate(pool_ids) for n, rep in enumerate(CLAIMERS)]
                await asyncio.gather(*first, *claims)
                # Slow WeCom down a little so B is caught between WeCom's answer and its mark.
                fake.delay("/cgi-bin/message/send", 0.15, times=30)
                await asyncio.sleep(0.6)
                b.kill()

                # Phase 2: A alone, then B back after its restart.
                half = CHATS // 2 + CHATS // 4
                await asyncio.gather(*(lb.push("a", user[i], chat_text(i), msg_ids[i])
                                       for i in range(CHATS // 2, half)))
                await b2.start()
                await asyncio.gather(*(lb.push(("a", "b2")[i % 2], user[i], chat_text(i), msg_ids[i])
                                       for i in range(half, CHATS)))

                deadline = time.monotonic() + DEADLINE_SECONDS
                while time.monotonic() < deadline:
                    state = await asyncio.to_thread(snapshot, url)
                    busy = {k: v for k, v in state["inbox"].items() if k in ("pending", "processing")} or {
                        k: v for k, v in state["outbox"].items() if k in ("pending", "processing")}
                    previsit = sum("拜访提醒" in str(m.get("template_card") or m.get("markdown")) for m in fake.sent)
                    if not busy and previsit >= VISITS:
                        break
                    await asyncio.sleep(0.5)
                else:
                    raise AssertionError(f"not done in {DEADLINE_SECONDS} s: {state}")
    finally:
        b.stop()
        b2.stop()
        await fake.close()

    engine = make_engine(url)
    try:
        with Session(engine) as s:
            inbound = s.exec(select(InboundMessage).where(col(InboundMessage.msg_id).in_(msg_ids))).all()
            followups = s.exec(select(FollowUp)).all()
            outbox = s.exec(select(OutboxMessage)).all()
            claim_rows = s.exec(select(LeadAssignment).where(col(LeadAssignment.kind) == "claim")).all()
            visits_by_customer = {v.customer_id: v for v in s.exec(select(Visit)).all()}
            claimer_ids = {m.wecom_userid: m.id for m in s.exec(select(Member)).all()}
    finally:
        engine.dispose()

    # Every chat: one inbox row, handled once, one follow-up record.
    assert Counter(r.msg_id for r in inbound) == Counter(msg_ids)
    assert {r.status for r in inbound} == {"done"}
    record_of = {f.source_inbound_id: f for f in followups}
    assert len(followups) == len(record_of) == CHATS
    assert set(record_of) == {r.id for r in inbound}

    # Every chat: exactly one card in the member's WeCom chat, the card of its own record.
    cards = [m for m in fake.sent if m["msgtype"] == "template_card"]
    confirmed = Counter(int(x.group(1)) for m in cards for b in m["template_card"].get("button_list", [])
                        if (x := CONFIRM.match(b["key"])))
    assert sorted(confirmed) == sorted(f.id for f in followups) and set(confirmed.values()) == {1}

    # Every row marked sent is exactly one message in the fake's record: nothing twice, nothing lost.
    assert fake.dropped == []
    assert {r.status for r in outbox} <= {OutboxStatus.SENT, OutboxStatus.MERGED}
    sent_rows = Counter(r.recipient for r in outbox if r.status == OutboxStatus.SENT)
    assert Counter(m["touser"] for m in fake.sent) == sent_rows
    task_ids = Counter(m["template_card"]["task_id"] for m in cards)
    assert set(task_ids.values()) == {1}
    texts = Counter((m["touser"], str(m.get("text") or m.get("markdown"))) for m in fake.sent
                    if m["msgtype"] != "template_card")
    assert set(texts.values()) <= {1}

    # Contested pool claims: one winner per lead, told so once; nobody over the daily cap.
    assert Counter(r.customer_id for r in claim_rows) == Counter(pool_ids)
    assert max(Counter(r.member_id for r in claim_rows).values()) <= DAILY_CAP
    told_won = [m for m in fake.sent if m["msgtype"] == "text" and m["text"]["content"].startswith("已认领 公海客户")]
    assert len(told_won) == POOL_LEADS
    assert {r.member_id for r in claim_rows} <= {claimer_ids[c] for c in CLAIMERS}

    # Due pushes: one pre-visit card per visit, to the visit's rep.
    previsit = [m for m in fake.sent if "拜访提醒" in str(m.get("template_card") or m.get("markdown"))]
    assert len(previsit) == VISITS
    reps_of_visits = {f"rep{k + 1:02d}" for k in range(VISITS)}
    assert {m["touser"] for m in previsit} == reps_of_visits
    assert len(visits_by_customer) == VISITS and set(visits_by_customer) == set(visit_customer_ids)

    # WeCom's duplicate check only ever saw re-sends of rows whose sender died holding them.
    resent = sum(r.attempts > 1 for r in outbox if r.status == OutboxStatus.SENT)
    assert len(fake.absorbed) <= resent
    retried_inbox = sum(r.attempts > 1 for r in inbound)
    print(f"\ntwo instances on PostgreSQL, B killed with SIGKILL mid-run and restarted: messages={CHATS} "
          f"claims={len(claims)} (contested leads={POOL_LEADS}, winners={len(claim_rows)}) "
          f"outbox rows sent={sum(sent_rows.values())} deliveries={len(fake.sent)} "
          f"duplicates absorbed by WeCom's duplicate check={len(fake.absorbed)} "
          f"outbox rows re-sent after a lost claim={resent} inbox rows taken over={retried_inbox} "
          f"callbacks rerouted={lb.rerouted} seconds={time.monotonic() - started:.1f}")
