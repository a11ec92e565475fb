"""The history snippet (bot/cards/snippet.py): marketing behaviour, the customer's own words,
promises and stage changes; no system noise. Pure ranking, then the pre-visit card from the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.cards.snippet import Candidate, history_snippet
from scheduler.previsit import sweep_previsit
from store.customers import create_customer
from store.db import session_scope
from store.followups import create_followup
from store.marketing import EventRecord, record_marketing_event
from store.models import FollowUp, Member, OutboxMessage, TimelineEvent
from store.timeline import add_event
from store.visits import schedule_visit
from tests.factories import T0, make_org

CHAT = "张伟 11/19 14:03\n价格能不能再低一点？我们下季度上线\n王芳 11/19 14:05\n好的，我帮您申请"
PROMISE_CHAT = "张伟 11/19 14:03\n报价什么时候有\n王芳 11/19 14:05\n我们周五前把报价发您"


def ev(kind: str, summary: str, hours_ago: float, **ref: object) -> TimelineEvent:
    return TimelineEvent(customer_id=1, kind=kind, summary=summary, ref=dict(ref),
                         created_at=T0 - timedelta(hours=hours_ago))


def fu(fid: int, text: str, tags: list[str] | None = None) -> FollowUp:
    return FollowUp(id=fid, customer_id=1, rep_id=1, kind="chat", text=text, tags=tags or [], created_at=T0)


def test_noise_is_dropped_and_what_matters_is_shown():
    rows = [  # newest first, as the store gives them
        Candidate(ev("stage_refused", "阶段变更被拒：初步接触 → 已成交", 1)),
        Candidate(ev("stage_refused", "阶段变更被拒：初步接触 → 已成交", 2)),
        Candidate(ev("stage_refused", "阶段变更被拒：初步接触 → 已成交", 3)),
        Candidate(ev("merged", "合并客户 张伟（#9）", 4)),
        Candidate(ev("followup_confirmed", "确认跟进记录（无标签）", 5, followup_id=7)),
        Candidate(ev("followup_chat", "张伟 11/19 14:03 价格能不能再低一点？", 6, followup_id=7),
                  fu(7, CHAT, ["价格异议"]), "王芳"),
        Candidate(ev("mkt_page_view", "查看了官网页面「A产品」，停留2分17秒", 30)),
        Candidate(ev("stage_changed", "阶段 初步接触 → 需求确认", 48)),
        Candidate(ev("customer_created", "王芳 新建客户 张伟", 100)),
    ]
    lines = [s.summary for s in history_snippet(rows, now=T0)]
    assert lines == ["［价格异议］客户说：「价格能不能再低一点？我们下季度上线」",
                     "查看了官网页面「A产品」，停留2分17秒", "阶段 初步接触 → 需求确认"]


def test_a_promise_outranks_a_plain_record_and_the_entry_itself_is_left_out():
    rows = [
        Candidate(ev("followup_chat", "刚写的这条", 0, followup_id=3), fu(3, "刚写的这条")),
        Candidate(ev("visit_scheduled", "预约拜访 周四 15:00", 1)),
        Candidate(ev("followup_note", "打了电话", 2, followup_id=2),
                  FollowUp(id=2, customer_id=1, rep_id=1, kind="note", text="打了电话，没接", tags=[], created_at=T0)),
        Candidate(ev("followup_chat", "张伟 11/19 14:03 报价什么时候有", 3, followup_id=1),
                  fu(1, PROMISE_CHAT), "王芳"),
        Candidate(ev("lead_in", "通过抖音留资", 5)),
    ]
    lines = [s.summary for s in history_snippet(rows, now=T0, exclude_followup_id=3, limit=2)]
    # The promise first of all, then the newest record of the next rank (a record beats a visit
    # booking); shown newest first.
    assert lines == ["打了电话，没接", "承诺：我们周五前把报价发您"]


def test_stale_marketing_gives_way_to_fresh_signals():
    rows = [Candidate(ev("visit_scheduled", "预约拜访 周四 15:00", 1)),
            Candidate(ev("mkt_download", "下载了「白皮书」", 24 * 40))]
    assert [s.summary for s in history_snippet(rows, now=T0, limit=1)] == ["预约拜访 周四 15:00"]


def test_previsit_card_shows_marketing_and_words_not_noise(engine, settings):
    org = make_org(engine)
    now = datetime(2026, 11, 19, 1, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        rep = s.get(Member, org.rep_a.id)
        c = create_customer(session=s, actor=rep, name="张伟", phone="+8613912345678", at=now - timedelta(days=8))
        record_marketing_event(session=s, source="web", at=now, event=EventRecord(
            event_id="v1", type="page_view", occurred_at=now - timedelta(days=6), title="A产品", duration_seconds=137,
            phone="+8613912345678"))
        f = create_followup(session=s, actor=rep, customer_id=c.id, kind="chat", text=CHAT, tags=[],
                            at=now - timedelta(days=2))
        add_event(session=s, customer_id=c.id, actor_id=rep.id, kind="followup_chat", summary="张伟 11/19 14:03 价格…",
                  ref={"followup_id": f.id}, at=now - timedelta(days=2))
        for i in range(3):
            add_event(session=s, customer_id=c.id, actor_id=rep.id, kind="stage_refused",
                      summary="阶段变更被拒：初步接触 → 已成交", at=now - timedelta(hours=i + 1))
        schedule_visit(session=s, actor=rep, customer_id=c.id, when=now + timedelta(minutes=10), goal="",
                       when_text="今天", at=now - timedelta(minutes=30))
    assert sweep_previsit(engine, settings, now) == 1
    with Session(engine) as s:
        notes = s.exec(select(OutboxMessage)).one().payload["card"]["notes"]
    assert "· 11-13 查看了官网页面「A产品」，停留2分17秒" in notes
    assert "· 11-17 客户说：「价格能不能再低一点？我们下季度上线」" in notes
    assert not any("被拒" in n for n in notes) and not any("11/19 14:03" in n for n in notes)
