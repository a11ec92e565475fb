"""Lead scoring: explanations in plain Chinese, re-scoring only what changed (and what time moved),
the timer's once-per-slot marker, the daily top-leads push exactly once, and `score` in the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.config import ScoringSettings
from bot.scoring.model import Behaviour, Profile, score_lead
from bot.scoring.rescore import rescore_due
from bot.scoring.weights import WeightsError, load_weights, parse_weights
from scheduler.scoring import push_top_leads, rescore_leads_job
from store.customers import create_customer
from store.db import session_scope
from store.followups import create_followup
from store.marketing import EventRecord, record_marketing_event
from store.models import Customer, Member, OutboxMessage
from tests.factories import make_org
from tests.test_leads_support import lead_settings, post

NOW = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def hours_ago(h: float) -> datetime:
    return NOW - timedelta(hours=h)


def test_score_and_its_reasons_in_plain_chinese():
    weights = load_weights(None)  # the shipped default, bot/scoring/lead_scoring.toml
    behaviour = [
        Behaviour("page_view", hours_ago(5), url="https://x.cn/pricing", title="价格"),
        Behaviour("page_view", hours_ago(30), url="https://x.cn/pricing"),
        Behaviour("page_view", hours_ago(24 * 5), url="https://x.cn/products/a"),
        Behaviour("page_view", hours_ago(24 * 10), url="https://x.cn/about"),  # outside every window that counts
        Behaviour("download", hours_ago(48), title="白皮书"),
        Behaviour("webinar", hours_ago(24 * 20), duration_seconds=45 * 60 + 30),
        Behaviour("chat_reply", hours_ago(2)),
    ]
    score = score_lead(weights=weights, profile=Profile(industry="制造业", region="西北", company="远航集团有限公司",
                                                        channel="官网"), behaviour=behaviour, now=NOW)
    assert score.lines() == [
        "近3天看了2次价格页 +22", "近30天观看直播共45分钟 +18", "行业：制造业 +10", "近7天访问官网3次 +10",
        "渠道：官网 +8", "公司规模：大型企业 +8", "近14天下载资料1次 +8", "近7天客户在聊天中回复1次 +5",
    ]
    assert score.total == 89
    # The score changes by time alone when the older price-page view leaves its 3-day window.
    assert score.next_due == hours_ago(30) + timedelta(days=3)
    quiet = score_lead(weights=weights, profile=Profile(), behaviour=behaviour, now=NOW + timedelta(days=40))
    assert (quiet.total, quiet.reasons, quiet.next_due) == (0, [], None)


def test_total_is_capped_and_a_broken_weights_file_says_where():
    weights = parse_weights('max_score = 20\n[profile]\nchannel = { "转介绍" = 15, "官网" = 8 }\n'
                            '[[profile.company_size]]\ncontains = ["集团"]\nlabel = "大型企业"\npoints = 8\n')
    assert score_lead(weights=weights, profile=Profile(company="X集团", channel="转介绍"), behaviour=[],
                      now=NOW).total == 20
    with pytest.raises(WeightsError, match="behaviour.0.per"):
        parse_weights('[[behaviour]]\nname="x"\ntypes=["page_view"]\nwindow_days=3\nper="hour"\npoints=1\ntext="t"')
    with pytest.raises(WeightsError, match="TOML"):
        parse_weights("max_score = ")


def scored_at(engine) -> dict[int, datetime | None]:
    with Session(engine) as s:
        return {c.id: c.lead_scored_at for c in s.exec(select(Customer)).all()}


def test_rescoring_touches_only_dirty_rows_and_rows_whose_window_lapsed(engine, settings):
    org = make_org(engine)
    with session_scope(engine) as s:
        rep = s.get(Member, org.rep_a.id)
        ids = [create_customer(session=s, actor=rep, name=f"客户{i}", phone=f"+86139000000{i:02d}",
                               at=NOW - timedelta(days=1)).id for i in range(6)]
    assert rescore_due(engine, settings, NOW) == 6  # new customers are dirty
    assert rescore_due(engine, settings, NOW) == 0  # nothing changed: nothing scored
    first = scored_at(engine)

    later = NOW + timedelta(hours=2)
    with session_scope(engine) as s:  # a price-page view for one, a chat record for another
        record_marketing_event(session=s, source="web", at=later, event=EventRecord(
            event_id="p1", type="page_view", occurred_at=later, url="https://x.cn/pricing", phone="+8613900000002"))
        rep = s.get(Member, org.rep_a.id)
        create_followup(session=s, actor=rep, customer_id=ids[4], kind="chat", text="张伟：好的", tags=[], at=later)
    assert rescore_due(engine, settings, later) == 2
    after = scored_at(engine)
    assert {cid for cid in ids if after[cid] != first[cid]} == {ids[2], ids[4]}
    with Session(engine) as s:
        c2 = s.get(Customer, ids[2])
        assert c2.lead_score == 11 and c2.lead_score_reasons == [{"text": "近3天看了1次价格页", "points": 11}]
        assert c2.lead_score_due_at == later + timedelta(days=3)

    # Three days on, only the customer whose price-page view left its window is due again.
    lapse = later + timedelta(days=3, minutes=1)
    assert rescore_due(engine, settings, lapse) == 1
    with Session(engine) as s:
        c2 = s.get(Customer, ids[2])
        assert c2.lead_score == 0 and c2.lead_score_due_at is None


def test_timer_runs_once_per_slot_across_instances(engine, settings):
    org = make_org(engine)
    with session_scope(engine) as s:
        create_customer(session=s, actor=s.get(Member, org.rep_a.id), name="张伟", at=NOW)
    assert rescore_leads_job(engine, settings, lambda: NOW) == 1
    with Session(engine) as s:  # dirty again, but this 2-hour slot has run (on this or another instance)
        s.execute(update(Customer).values(lead_score_due_at=datetime(2000, 1, 1, tzinfo=UTC)))
        s.commit()
    assert rescore_leads_job(engine, settings, lambda: NOW + timedelta(minutes=30)) == 0
    assert rescore_leads_job(engine, settings, lambda: NOW + timedelta(hours=2)) == 1


def _scored_book(engine, settings, org):
    with session_scope(engine) as s:
        rep = s.get(Member, org.rep_a.id)
        for i, company in enumerate(["远航集团", "华康股份", "小店"]):
            create_customer(session=s, actor=rep, name=f"客户{i}", company=company, at=NOW - timedelta(days=1))
        s.execute(update(Customer).values(industry="制造业", latest_channel="转介绍"))
    rescore_due(engine, settings, NOW)


def test_top_leads_pushed_once_a_day_exactly_once(engine, settings):
    org = make_org(engine)
    settings = settings.model_copy(update={"scoring": ScoringSettings(top_leads_count=2, top_leads_min_score=30)})
    _scored_book(engine, settings, org)
    early = datetime(2026, 11, 16, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai: not yet
    assert push_top_leads(engine, settings, early) == 0
    assert push_top_leads(engine, settings, NOW) == 1  # 10:00: rep_a's card
    assert push_top_leads(engine, settings, NOW + timedelta(minutes=1)) == 0  # a second instance, a rerun
    assert push_top_leads(engine, settings, NOW + timedelta(hours=20)) == 0  # the 17th, 06:00 local: not yet
    assert push_top_leads(engine, settings, NOW + timedelta(days=1)) == 1  # the next day: once more
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage).where(col(OutboxMessage.dedupe_key).startswith("topleads:"))).all()
    rep = org.rep_a.id
    assert [r.dedupe_key for r in rows] == [f"topleads:{rep}:2026-11-16", f"topleads:{rep}:2026-11-17"]
    card = rows[0].payload["card"]
    assert card["title"] == "今日优先跟进的线索"
    assert [f["label"] for f in card["fields"]] == ["33分", "33分"]  # 10 + 15 + 8: the two 集团/股份 customers
    assert card["notes"][0] == "客户0：渠道：转介绍 +15；行业：制造业 +10"


SCORE_RULES = """
pool_team = "一组"

[groups."重点组"]
members = ["王芳"]

[groups."普通组"]
members = ["李明"]

[[rules]]
name = "高分线索"
score = ">=20"
groups = ["重点组"]

[[rules]]
name = "其余"
groups = ["普通组"]
"""


def test_assignment_rules_may_use_the_score(engine, settings, tmp_path):
    make_org(engine)
    s = lead_settings(settings, tmp_path, rules=SCORE_RULES)
    hot = post(engine, s, NOW, phone="13911110000", channel="转介绍", industry="制造业")  # 15 + 10
    cold = post(engine, s, NOW, phone="13911110001", channel="抖音")  # 3
    assert hot.owner_name == "王芳" and "命中规则「高分线索」（评分 25，要求 >=20）" in (hot.reason or "")
    assert cold.owner_name == "李明"


def test_a_bad_score_condition_is_a_rules_error(engine, settings, tmp_path):
    from bot.leads.rules import RulesError, parse_rule_text

    with pytest.raises(RulesError, match="score"):
        parse_rule_text('[groups.a]\nmembers=["王芳"]\n[[rules]]\nname="x"\nscore="很高"\ngroups=["a"]\n')


def test_rules_explain_takes_a_score(engine, settings, tmp_path):
    from bot.leads.explain import explain

    make_org(engine)
    s = lead_settings(settings, tmp_path, rules=SCORE_RULES)
    with Session(engine) as session:
        hot, _ = explain(session=session, settings=s, spec="channel=官网 score=70", now=NOW)
        cold, _ = explain(session=session, settings=s, spec="channel=官网 score=5", now=NOW)
    assert any("命中规则「高分线索」（评分 70，要求 >=20）" in line for line in hot)
    assert any("规则「高分线索」不匹配：评分 5 不满足 >=20" in line for line in cold)
