"""Every scheduled job and the OCR queue, exactly once on two real instances on one PostgreSQL.

Instance A is the app built in this process (build_runtime + build_web_app: worker, outbox sender,
OCR runner with the real engine, scheduler), with two more sweepers in threads beside its scheduler;
instance B is a real `genjin serve` process. Both run on one business clock that starts on a
Wednesday afternoon in Shanghai (A: an injected clock; B: time-machine in its own process, started
from A's instant), so every job is due whatever the real date. The seeded data makes each job fire —
hand-off escalation, approval escalation, recycle warnings and returns, post-visit prompts, promise
reminders, the churn scan, anomaly review, the daily top leads, the stale ladder and its supervisor
digest — and eight screenshots wait in the OCR queue.

Phase one: B starts its pass; A and its sweepers join it over the same due window; B is killed with
SIGKILL inside its pass (its log shows steps and no end of pass). Phase two: the clock moves 11
minutes — past the digest hold (alerts B never folded go on their own) and into a second wave of
due rows (a hand-off, an approval, a recycle warning, a visit, a promise's breach and a stale rung
per team) — B is started again on the moved clock, eight more screenshots arrive, and B's start-up
pass and two more sweepers in A take the second wave at once.

Asserted from the fake WeCom's delivery record, matched to the outbox rows (a card by its task_id,
a text or markdown by recipient and content): every delivery is exactly one sent row and every sent
row one delivery; per job, the deliveries are exactly what the data calls for, to the right members;
what the jobs write besides (timeline lines, escalations, episodes, anomalies) is written once; every
stale alert reached its supervisor once, alone or in one digest; each OCR job ended done with one
record and one card, its file read only under its own claims.
"""
from __future__ import annotations

import asyncio
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from bot.config import Settings, WeComSettings
from bot.models import Card
from bot.ocr import runner as runner_module
from bot.pipeline.media import store_media
from bot.platforms.wecom.render import render_markdown
from bot.scoring.rescore import rescore_due
from scheduler.setup import run_sweeps
from scheduler.worktime import WorkingHours
from store.db import make_engine, session_scope
from store.models import (
    Anomaly,
    Approval,
    ChurnWatch,
    Customer,
    FollowUp,
    HandOff,
    InboundMessage,
    Member,
    OcrJob,
    OutboxMessage,
    OutboxStatus,
    Promise,
    PromiseStatus,
    Role,
    Team,
    TimelineEvent,
    Visit,
)
from store.stages import Stage
from tests.fakes.wecom import FakeWeCom, random_aes_key
from tests.ocr_support import draw_lines, encode
from tests.pg_server import PgServer
from tests.test_two_instances import REPO, ServeProcess, instance_a

pytestmark = pytest.mark.postgres

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 18, 15, 0, tzinfo=TZ)  # a Wednesday, a working day: every window is open
TEAMS = 4
REPS = 6  # per team; one supervisor per team, one admin above them (approvals escalate to the admin)
HANDOFFS = 3  # per team, each unaccepted for two days: one late card per supervisor
APPROVALS = 2  # per team, undecided for two days: escalated to the admin
RECYCLE_WARN = 3  # per team, 58 days idle of 60: one warning card each
RECYCLE_RETURN = 2  # per team, 70 days idle and warned: returned, the owner told
VISITS = 3  # per team, ended three hours ago without a note: one prompt each
PROMISES = 3  # per team: two the rep broke, one the customer's passed: one reminder each
CHURN = 2  # per team, won and silent for 100 days: owner and supervisor alerted
ANOMALY_ENTRIES = 4  # by one rep per team yesterday, over the limit of 3: one review card
STALE = 5  # per team, 20 days idle: the owner's cc and a supervisor alert (digest) each
OCR_IMAGES = 8  # per phase
WAVE2 = timedelta(minutes=5)  # a second wave per job falls due between the two phases
WH = WorkingHours(TZ)  # the default 09:00-18:00 with Chinese holidays, as the instances count
LEASE_SECONDS = 4
OCR_LEASE_SECONDS = 5
DEADLINE_SECONDS = 180  # a bound against hanging, not a speed check: OCR on a loaded machine is slow
CONFIG = f"""
inbox_lease_seconds = {LEASE_SECONDS}
outbox_lease_seconds = {LEASE_SECONDS}
worker_poll_seconds = 0.2
log_level = "WARNING"
[churn]
alert_at = 20
rearm_below = 10
[recycle]
days = {{ "{Stage.FIRST_CONTACT.value}" = 60 }}
[anomalies]
daily_entries_max = 3
[scoring]
top_leads_min_score = 0
[ocr]
lease_seconds = {OCR_LEASE_SECONDS}
"""
CHAT_SHOT = ["许志强 11/16 09:15", "合同我们这边已经盖章了，明天寄回给你", "王芳 11/16 09:18"]
TASK = re.compile(r"^genjin_(\d+)_\d+$")
CONFIRM = re.compile(r"^confirm:(\d+)$")


class BusinessClock:
    """Real time running from START, plus whatever the test moves it by (both instances agree)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t0 = time.monotonic()
        self.offset = timedelta(0)

    def at(self, mono: float) -> datetime:
        return self.start + timedelta(seconds=mono - self.t0) + self.offset

    def __call__(self) -> datetime:
        return self.at(time.monotonic())


def serve_at(clock: BusinessClock) -> list[str]:
    """`genjin serve` with its wall clock on `clock` (time-machine, in that process only). The instant
    goes with the system-wide monotonic time it was read at (time-machine leaves monotonic alone), so
    the process starts its clock where ours is by then, however long its start-up takes."""
    code = ("import datetime, sys, time, time_machine; "
            "at = datetime.datetime.fromisoformat(sys.argv[1]) "
            "+ datetime.timedelta(seconds=time.monotonic() - float(sys.argv[2])); "
            "time_machine.travel(at, tick=True).start(); "
            "from bot.cli import main; sys.exit(main(['serve']))")
    mono = time.monotonic()
    return [sys.executable, "-c", code, clock.at(mono).isoformat(), repr(mono)]


def seed(url: str, now: datetime, media_dir: Path) -> dict[str, Any]:
    """The teams and, for each job, the rows that make it due at `now`."""
    engine = make_engine(url)

    def ago(**kw: float) -> datetime:
        return now - timedelta(**kw)

    expect: dict[str, Any] = {"ocr_jobs": {}}
    try:
        with session_scope(engine) as s:
            admin_team = Team(name="销售总部", created_at=now)
            s.add(admin_team)
            s.flush()
            s.add(Member(team_id=admin_team.id or 0, display_name="刘总监", role=Role.ADMIN, wecom_userid="admin",
                         created_at=now))
            for t in range(1, TEAMS + 1):
                team = Team(name=f"华东销售{t}组", created_at=now)
                s.add(team)
                s.flush()
                tid = team.id or 0
                sup = Member(team_id=tid, display_name=f"主管{t}", role=Role.SUPERVISOR, wecom_userid=f"t{t}sup",
                             created_at=now)
                reps = [Member(team_id=tid, display_name=f"销售{t}-{n}", role=Role.REP, wecom_userid=f"t{t}r{n}",
                               created_at=now) for n in range(1, REPS + 1)]
                s.add_all([sup, *reps])
                s.flush()
                r = {n: reps[n - 1].id or 0 for n in range(1, REPS + 1)}

                def customer(name: str, owner: int | None, stage: str = Stage.DEMO, *, tid: int = tid,
                             **kw: Any) -> Customer:
                    c = Customer(name=name, company=f"{name}公司", team_id=tid, owner_id=owner, stage=stage,
                                 created_at=ago(days=150), **{"last_activity_at": now - timedelta(hours=1), **kw})
                    s.add(c)
                    s.flush()
                    return c

                def followup(c: Customer, rep: int, at: datetime, *, checked: bool = True) -> FollowUp:
                    f = FollowUp(customer_id=c.id or 0, rep_id=rep, text="电话沟通了需求和上线时间", confirmed=True,
                                 created_at=at, confirmed_at=at, anomaly_checked_at=at if checked else None)
                    s.add(f)
                    s.flush()
                    return f

                # Hand-offs (to rep 6, in the 售前 role).
                for k in range(HANDOFFS):
                    c = customer(f"交接客户{t}{k:02d}", r[1])
                    ev = TimelineEvent(customer_id=c.id or 0, kind="stage_changed", summary="阶段变更为 方案演示",
                                       created_at=ago(days=2))
                    s.add(ev)
                    s.flush()
                    s.add(HandOff(customer_id=c.id or 0, stage=Stage.DEMO, stage_event_id=ev.id or 0,
                                  member_id=r[6], role_tag="售前", due_at=ago(days=2), created_at=ago(days=2)))
                # Approvals held by the team's supervisor.
                for k in range(APPROVALS):
                    c = customer(f"审批客户{t}{k:02d}", None, Stage.FIRST_CONTACT)
                    s.add(Approval(kind="lead_assign", customer_id=c.id or 0, proposed_member_id=r[3],
                                   reason="跨区域分配，需要主管批准", approver_id=sup.id or 0, due_at=ago(days=2),
                                   created_at=ago(days=2)))
                # Pool recycling: warnings, and returns of customers warned five days ago.
                for k in range(RECYCLE_WARN):
                    customer(f"回收预警{t}{k:02d}", r[2], Stage.FIRST_CONTACT, last_activity_at=ago(days=58))
                for k in range(RECYCLE_RETURN):
                    customer(f"回收公海{t}{k:02d}", r[3], Stage.FIRST_CONTACT, last_activity_at=ago(days=70),
                             recycle_warned_at=ago(days=5))
                # Visits that ended three hours ago with no note (rep 4).
                for k in range(VISITS):
                    c = customer(f"拜访客户{t}{k:02d}", r[4])
                    s.add(Visit(customer_id=c.id or 0, rep_id=r[4], scheduled_at=ago(hours=4), goal="演示方案",
                                created_at=ago(days=3)))
                # Promises past due (rep 5).
                for k in range(PROMISES):
                    c = customer(f"承诺客户{t}{k:02d}", r[5])
                    f = followup(c, r[5], ago(days=1))
                    by_rep = k < 2
                    s.add(Promise(customer_id=c.id or 0, followup_id=f.id or 0, rep_id=r[5],
                                  promiser="rep" if by_rep else "customer", promiser_name="我" if by_rep else "王总",
                                  what="发报价单" if by_rep else "回复合同意见", due_text="今天中午",
                                  due_at=ago(hours=1 if by_rep else 3), sent_at=ago(days=1),
                                  status=PromiseStatus.OPEN, remind_at=ago(days=1), created_at=ago(days=1)))
                # Won customers gone silent (rep 6): the churn scan alerts (silence alone is capped at
                # churn.weights.silence_cap, 25.2 by default: the line is set below it).
                for k in range(CHURN):
                    c = customer(f"成交客户{t}{k:02d}", r[6], Stage.WON, last_activity_at=ago(days=100))
                    for days in (120, 110, 100):
                        followup(c, r[6], ago(days=days))
                # Too many entries by rep 1 yesterday: the anomaly review.
                c = customer(f"录入客户{t}", r[1])
                for k in range(ANOMALY_ENTRIES):
                    followup(c, r[1], ago(days=1, minutes=k), checked=False)
                # The stale ladder: 20 days idle, owned by reps 1..5.
                for k in range(STALE):
                    customer(f"滞留客户{t}{k:02d}", r[1 + k], last_activity_at=ago(days=20), stale_due_at=ago(hours=1))
                # Wave two: due five minutes after START, so only after the clock moves (phase two).
                due = now + WAVE2
                c = customer(f"交接客户{t}{HANDOFFS:02d}", r[1])
                ev = TimelineEvent(customer_id=c.id or 0, kind="stage_changed", summary="阶段变更为 方案演示",
                                   created_at=WH.before(due, timedelta(hours=4)))
                s.add(ev)
                s.flush()
                s.add(HandOff(customer_id=c.id or 0, stage=Stage.DEMO, stage_event_id=ev.id or 0, member_id=r[6],
                              role_tag="售前", due_at=ev.created_at, created_at=ev.created_at))
                c = customer(f"审批客户{t}{APPROVALS:02d}", None, Stage.FIRST_CONTACT)
                s.add(Approval(kind="lead_assign", customer_id=c.id or 0, proposed_member_id=r[3],
                               reason="跨区域分配，需要主管批准", approver_id=sup.id or 0,
                               due_at=ev.created_at, created_at=ev.created_at))
                customer(f"回收预警{t}{RECYCLE_WARN:02d}", r[2], Stage.FIRST_CONTACT,
                         last_activity_at=due - timedelta(days=57))
                c = customer(f"拜访客户{t}{VISITS:02d}", r[4])
                s.add(Visit(customer_id=c.id or 0, rep_id=r[4], goal="演示方案", created_at=ago(days=3),
                            scheduled_at=WH.before(due, timedelta(hours=2)) - timedelta(minutes=60)))
                c = customer(f"承诺客户{t}{PROMISES:02d}", r[5])  # its reminder now, its breach in wave two
                f = followup(c, r[5], ago(days=1))
                s.add(Promise(customer_id=c.id or 0, followup_id=f.id or 0, rep_id=r[5], promiser="rep",
                              promiser_name="我", what="发报价单", due_text="今天中午", due_at=due, sent_at=ago(days=1),
                              status=PromiseStatus.OPEN, remind_at=ago(days=1), created_at=ago(days=1)))
                # Rung 2 (supervisor alert) now, rung 3 (high risk) in wave two.
                customer(f"滞留客户{t}{STALE:02d}", r[5], last_activity_at=WH.before(due, timedelta(hours=120)),
                         stale_due_at=ago(hours=1))
    finally:
        engine.dispose()
    queue_screenshots(url, now, media_dir, expect["ocr_jobs"], wave=1)
    return expect


def queue_screenshots(url: str, now: datetime, media_dir: Path, jobs: dict[str, int], *, wave: int) -> None:
    """OCR_IMAGES chat screenshots from rep 2 of each team, waiting in the OCR queue (job id by file name)."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            for k in range(OCR_IMAGES):
                t = 1 + k % TEAMS
                rep = s.exec(select(Member).where(col(Member.wecom_userid) == f"t{t}r2")).one()
                lines = [*CHAT_SHOT, f"好的许总，收到后安排{wave}月{k + 1}号上线培训"]  # one file per job
                ref = store_media(encode(draw_lines(lines)), media_dir, "png")
                inbound = InboundMessage(platform="wecom", msg_id=f"ocr{wave}-{k}", sender=f"t{t}r2", kind="image",
                                         media_ref=ref, status="done", received_at=now)
                s.add(inbound)
                s.flush()
                job = OcrJob(inbound_id=inbound.id or 0, member_id=rep.id or 0, media_ref=ref, media_kind="image",
                             created_at=now)
                s.add(job)
                s.flush()
                jobs[Path(ref).name] = job.id or 0
    finally:
        engine.dispose()
    assert len(jobs) == wave * OCR_IMAGES  # one file per job


def sent_rows(url: str) -> tuple[list[OutboxMessage], dict[str, int]]:
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            rows = list(s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())
            users = {m.wecom_userid or "": m.id or 0 for m in s.exec(select(Member)).all()}
            return rows, users
    finally:
        engine.dispose()


def quiet(url: str, now: datetime) -> tuple[bool, dict[str, Any]]:
    """No outbox row in flight or due, no OCR job unfinished."""
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            outbox = s.exec(select(OutboxMessage.status, OutboxMessage.next_attempt_at)
                            .where(col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.PROCESSING])))
            busy = [(st, due) for st, due in outbox.all() if st == OutboxStatus.PROCESSING or due is None or due <= now]
            held = s.exec(select(OutboxMessage.id).where(col(OutboxMessage.status) == OutboxStatus.PENDING)).all()
            ocr = s.exec(select(OcrJob.status).where(col(OcrJob.status).in_(["pending", "processing"]))).all()
            return not busy and not ocr, {"outbox_busy": len(busy), "held": len(held), "ocr_open": len(ocr)}
    finally:
        engine.dispose()


async def wait_until(check: Callable[[], tuple[bool, dict[str, Any]]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        done, state = await asyncio.to_thread(check)
        if done:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what}: not done in {DEADLINE_SECONDS} s: {state}")


class Sweepers:
    """n more sweepers in this process, each one pass of run_sweeps on its own engine, all at once."""

    def __init__(self, url: str, settings: Settings, clock: BusinessClock, n: int) -> None:
        self.errors: list[BaseException] = []
        gate = threading.Barrier(n)

        def one() -> None:
            engine = make_engine(url)
            try:
                gate.wait()
                run_sweeps(engine, settings, clock())
            except BaseException as exc:  # reported by join()
                self.errors.append(exc)
            finally:
                engine.dispose()

        self.threads = [threading.Thread(target=one, name=f"sweeper-{i}") for i in range(n)]
        for th in self.threads:
            th.start()

    async def join(self) -> None:
        for th in self.threads:
            await asyncio.to_thread(th.join)
        assert not self.errors, self.errors


SWEEP_EVENTS = ("stale_rung_fired", "stale_digest_queued", "anomaly_filed", "promise_reminder", "churn_alerts",
                "handoff_escalated", "customer_recycled", "approval_escalated", "push_sweeps")
EVENT = re.compile(r"\[info\s*\]\s+(\w+)")
OCR_READ = re.compile(r"\[info\s*\]\s+ocr_read\s.*\bjob_id=(\d+)")


def ocr_reads(log: Path) -> Counter[int]:
    """The files a `genjin serve` finished reading, by OCR job id (its log)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return Counter(int(m.group(1)) for line in text.splitlines() if (m := OCR_READ.search(line)))


def log_events(log: Path) -> list[str]:
    """The sweep steps an instance logged (INFO), in order; push_sweeps ends a pass."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return [m.group(1) for line in text.splitlines() if (m := EVENT.search(line)) and m.group(1) in SWEEP_EVENTS]


async def wait_for_log(log: Path, events: set[str], seconds: float, after: int = 0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not events & set(log_events(log)[after:]):
        await asyncio.sleep(0.02)


def delivered_row_ids(fake: FakeWeCom, rows: list[OutboxMessage]) -> Counter[int]:
    """Each message in the fake's record, as the outbox row it came from: a card by its task_id, a
    text or a markdown card by (recipient, content). -1 for a message no row accounts for."""
    by_content: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        if row.status != OutboxStatus.SENT:
            continue
        if row.kind == "card":
            content = render_markdown(Card.model_validate(row.payload["card"]))
        else:
            content = str(row.payload.get("text", ""))
        by_content.setdefault((row.recipient, content), []).append(row.id or 0)
    got: Counter[int] = Counter()
    for m in fake.sent:
        if m["msgtype"] == "template_card":
            match = TASK.match(m["template_card"]["task_id"])
            got[int(match.group(1)) if match else -1] += 1
            continue
        content = m["text"]["content"] if m["msgtype"] == "text" else m["markdown"]["content"]
        ids = by_content.get((m["touser"], content))
        got[ids.pop(0) if ids else -1] += 1
    return got


async def test_every_scheduled_job_and_ocr_exactly_once_on_two_instances(
        pg_server: PgServer, pg_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    url = pg_server.create_database(f"two_instances_jobs_{os.getpid()}", template=pg_template)
    data_dir = tmp_path / "data"  # shared: both instances read the OCR queue's files
    expect = seed(url, START, data_dir / "media")
    config = tmp_path / "genjin.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("GENJIN_CONFIG", str(config))

    fake = await FakeWeCom().start()
    token, aes_key = "genjinTestToken", random_aes_key()
    wecom = WeComSettings(corp_id=fake.corp_id, agent_id=fake.agent_id, secret=fake.secret, token=token,
                          encoding_aes_key=aes_key, api_base=fake.url)
    settings = Settings(database_url=url, data_dir=data_dir, wecom=wecom)
    # The lead scores as the previous scoring run left them: every rep with an open customer gets a
    # top-leads card (min score 0).
    engine = make_engine(url)
    try:
        assert rescore_due(engine, settings, START) > 0
    finally:
        engine.dispose()
    clock = BusinessClock(START)
    # Instance A reads with the real OCR engine; each finished read is counted by job.
    reads_a: Counter[int] = Counter()
    real_read = runner_module.read_file

    def counted_read(path: Path, **kw: Any) -> str:
        text = real_read(path, **kw)
        with reads_lock:
            reads_a[by_ref[path.name]] += 1
        return text

    reads_lock = threading.Lock()
    by_ref = expect["ocr_jobs"]
    monkeypatch.setattr(runner_module, "read_file", counted_read)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GENJIN_")},
        "PYTHONPATH": str(REPO), "GENJIN_CONFIG": str(config), "GENJIN_DATABASE_URL": url,
        "GENJIN_DATA_DIR": str(data_dir), "GENJIN_LOG_LEVEL": "INFO", "GENJIN_WECOM__CORP_ID": wecom.corp_id,
        "GENJIN_WECOM__AGENT_ID": str(wecom.agent_id), "GENJIN_WECOM__SECRET": fake.secret,
        "GENJIN_WECOM__TOKEN": token, "GENJIN_WECOM__ENCODING_AES_KEY": aes_key, "GENJIN_WECOM__API_BASE": fake.url,
    }
    b = ServeProcess(env, tmp_path / "b.log", serve_at(clock))
    b2: ServeProcess | None = None
    try:
        # B comes up and sweeps at start; once it is inside its pass (a stale rung fired), A — its
        # scheduler's start-up pass and two more sweepers — takes the same window at once, and B is
        # killed mid-pass: at its first step after A joined, or a second later.
        await b.start()
        await wait_for_log(b.log, {"stale_rung_fired"}, DEADLINE_SECONDS)
        before_a = len(log_events(b.log))
        async with instance_a(settings, clock=clock):
            extra = Sweepers(url, settings, clock, 2)
            await wait_for_log(b.log, set(SWEEP_EVENTS), 1.0, after=before_a)
            b.kill()  # mid-pass: its open transaction dies with it
            b_did = log_events(b.log)
            await extra.join()
            await wait_until(lambda: quiet(url, clock()), "after the kill")

            # Past the stale digest's hold: B's unfolded alerts go on their own. B restarts on the moved
            # clock and sweeps the second wave, beside two more sweepers in A.
            clock.offset += timedelta(minutes=11)
            b2 = ServeProcess(env, tmp_path / "b2.log", serve_at(clock))
            await b2.start()
            await asyncio.to_thread(queue_screenshots, url, clock(), data_dir / "media", by_ref, wave=2)
            await asyncio.sleep(0.3)  # its start-up pass is under way
            extra = Sweepers(url, settings, clock, 2)
            await extra.join()
            await wait_until(lambda: quiet(url, clock()), "after the restart")
            await asyncio.sleep(1.0)  # a late sender would show up now
    finally:
        b.stop()
        if b2 is not None:
            b2.stop()
        await fake.close()

    rows, users = await asyncio.to_thread(sent_rows, url)
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            handoffs = s.exec(select(HandOff)).all()
            approvals = s.exec(select(Approval)).all()
            visits = s.exec(select(Visit)).all()
            promises = s.exec(select(Promise).where(col(Promise.due_text) == "今天中午")).all()
            watches = s.exec(select(ChurnWatch)).all()
            jobs = s.exec(select(OcrJob)).all()
            events = Counter(s.exec(select(TimelineEvent.kind)).all())
            anomalies = s.exec(select(Anomaly)).all()
            recycled = s.exec(select(Customer).where(col(Customer.name).startswith("回收公海"))).all()
            ocr_followups = s.exec(select(FollowUp).where(
                col(FollowUp.source_inbound_id).in_([j.inbound_id for j in jobs]))).all()
    finally:
        engine.dispose()

    # The fake's record and the outbox agree one to one: nothing twice, nothing lost, nothing dropped.
    assert fake.dropped == []
    assert {r.status for r in rows} <= {OutboxStatus.SENT, OutboxStatus.MERGED}, Counter(r.status for r in rows)
    delivered = delivered_row_ids(fake, rows)
    sent = [r for r in rows if r.status == OutboxStatus.SENT]
    assert delivered == Counter(r.id for r in sent)

    def job(pattern: str) -> list[OutboxMessage]:
        return [r for r in sent if re.match(pattern, r.dedupe_key or "")]

    sups = {f"t{t}sup" for t in range(1, TEAMS + 1)}
    counts: dict[str, int] = {}

    def check(name: str, pattern: str, expected: int, recipients: set[str]) -> None:
        found = job(pattern)
        counts[name] = sum(delivered[r.id or 0] for r in found)
        assert counts[name] == len(found) == expected, (name, counts[name], len(found), expected)
        assert {r.recipient for r in found} == recipients, name

    check("handoff_late", "handoff_late:", TEAMS * (HANDOFFS + 1), sups)
    assert all(h.escalated_at is not None for h in handoffs)
    check("approval_escalation", "approval:", TEAMS * (APPROVALS + 1), {"admin"})
    assert {(a.level, a.approver_id) for a in approvals} == {(1, users["admin"])}
    check("recycle_warning", "recycle_warn:", TEAMS * (RECYCLE_WARN + 1), {f"t{t}r2" for t in range(1, TEAMS + 1)})
    check("recycle_return", "recycled:", TEAMS * RECYCLE_RETURN, {f"t{t}r3" for t in range(1, TEAMS + 1)})
    assert len(recycled) == TEAMS * RECYCLE_RETURN and all(c.owner_id is None for c in recycled)
    check("postvisit", "postvisit:", TEAMS * (VISITS + 1), {f"t{t}r4" for t in range(1, TEAMS + 1)})
    assert all(v.prompted_at is not None for v in visits)
    check("promise", "promise:", TEAMS * (PROMISES + 2), {f"t{t}r5" for t in range(1, TEAMS + 1)})
    assert len(promises) == TEAMS * (PROMISES + 1) and all(p.broken_at is not None for p in promises)
    check("churn_alert", "churn:", TEAMS * CHURN * 2, sups | {f"t{t}r6" for t in range(1, TEAMS + 1)})
    assert sum(w.episode_started_at is not None for w in watches) == TEAMS * CHURN
    check("anomaly", "anomaly:", TEAMS, sups)
    top_leads_reps = {f"t{t}r{n}" for t in range(1, TEAMS + 1) for n in range(1, 6)}  # rep 6: only won ones
    check("top_leads", "topleads:", len(top_leads_reps), top_leads_reps)
    check("stale_cc", r"stale:\d+:\d+:[23]:cc$", TEAMS * (STALE + 2), top_leads_reps)  # reps 1-5 own them

    # What the jobs wrote besides the pushes, once each: a claim lost to the other instance writes nothing.
    assert events["handoff_late"] == TEAMS * (HANDOFFS + 1)
    assert events["approval_escalated"] == TEAMS * (APPROVALS + 1)
    assert events["recycle_warned"] == TEAMS * (RECYCLE_WARN + 1)
    assert events["lead_recycle"] == TEAMS * RECYCLE_RETURN
    assert events["promise_broken"] == TEAMS * (PROMISES + 1)
    assert events["churn_alert"] == TEAMS * CHURN
    assert events["high_risk"] == TEAMS * (STALE + 1)
    assert events["stale_alert"] == TEAMS
    assert len(anomalies) == TEAMS

    # The stale ladder's supervisor alerts: each reached its supervisor once, alone or in one digest.
    alerts = [r for r in rows if re.match(r"^stale:\d+:\d+:[23]:sup\d+$", r.dedupe_key or "")]
    assert len(alerts) == TEAMS * (STALE + 2)
    digests = {r.id: r for r in job("stale_digest:")}
    alone = [r for r in alerts if r.status == OutboxStatus.SENT]
    folded = [r for r in alerts if r.status == OutboxStatus.MERGED]
    assert all(r.merged_into_id in digests for r in folded)
    assert all(delivered[r.id or 0] == 1 for r in [*alone, *digests.values()])
    assert len(alone) + len(folded) == TEAMS * (STALE + 2)
    counts["stale_digest"] = len(digests)
    counts["stale_alert_alone"] = len(alone)
    counts["stale_alert_in_digest"] = len(folded)
    assert digests, "no digest at all: the sweeps did not fold"

    # OCR: every job done once, its record made once, its card in the rep's chat once.
    assert len(jobs) == 2 * OCR_IMAGES and {j.status for j in jobs} == {"done"}
    assert len(ocr_followups) == 2 * OCR_IMAGES
    confirm = Counter(int(x.group(1)) for m in fake.sent if m["msgtype"] == "template_card"
                      for btn in m["template_card"].get("button_list", []) if (x := CONFIRM.match(btn["key"])))
    assert {f.id: confirm[f.id or 0] for f in ocr_followups} == {f.id: 1 for f in ocr_followups}
    # ... and read under its own claim each time: a second read only after a claim was lost (B killed
    # holding it, or a lease that ran out while the CPU was starved), never two runners on one claim.
    reads_b, reads_b2 = ocr_reads(tmp_path / "b.log"), ocr_reads(tmp_path / "b2.log")
    for j in jobs:
        reads = reads_a[j.id or 0] + reads_b[j.id or 0] + reads_b2[j.id or 0]
        assert 1 <= reads <= j.attempts, (j.id, reads, j.attempts)
    counts["ocr_jobs"] = len(jobs)
    counts["ocr_reads"] = sum(reads_a.values()) + sum(reads_b.values()) + sum(reads_b2.values())
    counts["ocr_reads_by_b2"] = sum(reads_b2.values())
    counts["ocr_cards"] = sum(confirm[f.id or 0] for f in ocr_followups)
    ocr_retaken = sum(j.attempts > 1 for j in jobs)

    # B was killed inside its pass, having done part of it (its log: steps, no end of pass).
    assert "stale_rung_fired" in b_did and "push_sweeps" not in b_did, b_did
    b_steps = Counter(b_did)
    b2_steps = Counter(log_events(tmp_path / "b2.log"))

    families = Counter((r.dedupe_key or "reply").split(":")[0] for r in sent)
    resent = sum(r.attempts > 1 for r in sent)
    assert len(fake.absorbed) <= resent
    print(f"\njobs on two instances (PostgreSQL; B killed with SIGKILL mid-sweep, restarted on a clock 11 min on): "
          f"{counts} deliveries={len(fake.sent)} sent rows={len(sent)} by key={dict(families)} "
          f"duplicates absorbed by WeCom's duplicate check={len(fake.absorbed)} outbox rows re-sent={resent} "
          f"OCR jobs taken over={ocr_retaken} B before the kill={dict(b_steps)} B after the restart={dict(b2_steps)} "
          f"seconds={time.monotonic() - started:.1f}")
