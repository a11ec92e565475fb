"""Assignment rules on a real database: each strategy, caps (group A full -> group B), inactive and
exempted reps, no match -> the pool, and a log row with a readable reason for every decision."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from store.db import session_scope
from store.exemptions import grant_exemption
from store.models import Customer, LeadTouch, Member, OutboxMessage, TimelineEvent
from tests.factories import make_org
from tests.test_leads_support import add_rep, lead_settings, log_rows, owners, phone, post, seed_history


def test_round_robin_alternates_and_explains(engine, settings, tmp_path, clock):
    org = make_org(engine)
    s = lead_settings(settings, tmp_path)
    results = [post(engine, s, clock.now, phone=phone(), channel="dy", region="华东") for _ in range(4)]
    assert [r.owner_id for r in results] == [org.rep_a.id, org.rep_b.id, org.rep_a.id, org.rep_b.id]
    assert results[1].reason == "抖音线索，华东区域，命中规则「抖音华东」，A组轮流分配，本次轮到李明，分配给李明"
    rows = log_rows(engine)
    assert [r.kind for r in rows] == ["auto"] * 4 and rows[0].rule == "抖音华东" and rows[0].group_name == "A组"
    with Session(engine) as db:
        c = db.get(Customer, results[0].customer_id)
        assert c.lead_received_at == clock.now and c.assigned_at == clock.now
        assert c.lead_due_at == clock.now + timedelta(hours=s.pushes.new_lead_hours)
        assert c.source_channel == c.latest_channel == "抖音" and not c.channel_unknown
        card = db.exec(select(OutboxMessage).where(col(OutboxMessage.recipient) == "rep-a")).first().payload["card"]
        assert card["notes"][0] == f"分配原因：{results[0].reason}"
        assert [b["action"] for b in card["buttons"]][:2] == [f"lead_claim:{c.id}", f"lead_return:{c.id}"]


WEIGHTED = """
[groups."A组"]
members = ["王芳", "李明"]
strategy = "weighted"

[[rules]]
name = "全部"
groups = ["A组"]
"""


def test_weighted_by_30_day_conversion(engine, settings, tmp_path, clock):
    org = make_org(engine)
    seed_history(engine, org.rep_a, total=4, won=3, now=clock.now)  # 75%
    seed_history(engine, org.rep_b, total=4, won=1, now=clock.now)  # 25%; group mean 50%
    seed_history(engine, org.rep_b, total=4, won=4, now=clock.now - timedelta(days=40))  # outside the window
    s = lead_settings(settings, tmp_path, WEIGHTED)
    results = [post(engine, s, clock.now, phone=phone(), channel="xhs") for _ in range(8)]
    got = [r.owner_id for r in results]
    assert got.count(org.rep_a.id) == 6 and got.count(org.rep_b.id) == 2
    assert results[0].reason == "小红书线索，命中规则「全部」，王芳 近30天转化率 75% 高于组均值 50%，分配给王芳"
    low = next(r for r in results if r.owner_id == org.rep_b.id)
    assert "李明 近30天转化率 25% 低于组均值 50%，按权重比例本次轮到李明" in low.reason


def test_weighted_by_configured_weights(engine, settings, tmp_path, clock):
    org = make_org(engine)
    rules = WEIGHTED.replace('strategy = "weighted"', 'strategy = "weighted"\nweights = { "王芳" = 3, "李明" = 1 }')
    s = lead_settings(settings, tmp_path, rules)
    got = [post(engine, s, clock.now, phone=phone(), channel="dy").owner_id for _ in range(8)]
    assert got.count(org.rep_a.id) == 6 and got.count(org.rep_b.id) == 2
    assert "按配置权重（王芳 3 : 李明 1）" in log_rows(engine)[0].reason


def test_weighted_without_any_data_rotates(engine, settings, tmp_path, clock):
    org = make_org(engine)
    s = lead_settings(settings, tmp_path, WEIGHTED)
    got = [post(engine, s, clock.now, phone=phone(), channel="dy") for _ in range(2)]
    assert [r.owner_id for r in got] == [org.rep_a.id, org.rep_b.id]
    assert "组内近30天都没有成交数据" in got[0].reason


LEAST = """
[groups."A组"]
members = ["王芳", "李明"]
strategy = "least_load"

[[rules]]
name = "全部"
groups = ["A组"]
"""


def test_least_load_counts_open_uncontacted_leads(engine, settings, tmp_path, clock):
    org = make_org(engine)
    s = lead_settings(settings, tmp_path, LEAST)
    with session_scope(engine) as db:  # 王芳 holds two leads she has not called yet
        for i in range(2):
            db.add(Customer(name=f"旧{i}", team_id=org.rep_a.team_id, owner_id=org.rep_a.id,
                            lead_received_at=clock.now, created_at=clock.now))
        # contacted and closed leads are not load
        db.add(Customer(name="已联系", team_id=org.rep_b.team_id, owner_id=org.rep_b.id, lead_received_at=clock.now,
                        first_contact_at=clock.now, created_at=clock.now))
    results = [post(engine, s, clock.now, phone=phone(), channel="dy") for _ in range(3)]
    assert [r.owner_id for r in results] == [org.rep_b.id, org.rep_b.id, org.rep_a.id]
    assert "李明 未联系线索 0 条，组内最少" in results[0].reason
    assert "（并列时轮流）" in results[2].reason  # 2 : 2, 李明 had the last one


CAPPED = """
[groups."A组"]
members = ["王芳"]
cap = 1

[groups."B组"]
members = ["李明"]
cap = 1

[[rules]]
name = "全部"
groups = ["A组", "B组"]
"""


def test_cap_spills_to_next_group_then_to_the_pool(engine, settings, tmp_path, clock):
    org = make_org(engine)
    s = lead_settings(settings, tmp_path, CAPPED)
    first, second, third = (post(engine, s, clock.now, phone=phone(), channel="dy") for _ in range(3))
    assert (first.owner_id, second.owner_id, third.owner_id) == (org.rep_a.id, org.rep_b.id, None)
    assert "跳过 王芳（未联系线索 1 条，已达上限 1）" not in second.reason  # A组 is not the chosen group
    assert "A组 已无可分配的销售，转B组" in second.reason
    assert third.reason == "抖音线索，命中规则「全部」，但 A组、B组 均无可分配的销售，进入公海"
    with Session(engine) as db:
        pooled = db.get(Customer, third.customer_id)
        assert pooled.owner_id is None and pooled.team_id == org.rep_a.team_id
        assert pooled.lead_due_at is not None and pooled.stale_due_at is None
    assert log_rows(engine, third.customer_id)[0].kind == "pool"


def test_inactive_and_exempted_reps_are_skipped(engine, settings, tmp_path, clock):
    org = make_org(engine)
    extra = add_rep(engine, "张伟", org.rep_a.team_id)
    rules = """
[groups."A组"]
members = ["王芳", "李明", "张伟"]

[[rules]]
name = "全部"
groups = ["A组"]
"""
    s = lead_settings(settings, tmp_path, rules)
    with session_scope(engine) as db:
        db.get(Member, org.rep_a.id).active = False
        grant_exemption(session=db, actor=org.supervisor, member=db.get(Member, org.rep_b.id), days=3,
                        reason="参展", at=clock.now)
    results = [post(engine, s, clock.now, phone=phone(), channel="dy") for _ in range(2)]
    assert [r.owner_id for r in results] == [extra.id, extra.id]
    assert "跳过 王芳（已停用）、李明（免填中（至 11-19））" in results[0].reason
    clock.now += timedelta(days=4)  # the exemption has ended
    assert post(engine, s, clock.now, phone=phone(), channel="dy").owner_id == org.rep_b.id


def test_no_matching_rule_goes_to_the_pool(engine, settings, tmp_path, clock):
    org = make_org(engine)
    s = lead_settings(settings, tmp_path)
    r = post(engine, s, clock.now, phone=phone(), channel="dy", region="华南", industry="制造业")
    assert r.owner_id is None
    assert r.reason == "抖音线索，华南区域，制造业，没有匹配的分配规则，进入公海"
    with Session(engine) as db:
        c = db.get(Customer, r.customer_id)
        assert c.team_id == org.rep_a.team_id and c.region == "华南" and c.industry == "制造业"


def test_unknown_channel_is_kept_raw_and_flagged(engine, settings, tmp_path, clock):
    make_org(engine)
    s = lead_settings(settings, tmp_path)
    r = post(engine, s, clock.now, phone=phone(), landing_url="https://x.cn/a?utm_source=NewApp&utm_campaign=618")
    assert r.channel == "NewApp" and r.channel_flagged and r.owner_id is None
    assert r.reason.startswith("未知渠道「NewApp」线索（已标记）")
    with Session(engine) as db:
        c = db.get(Customer, r.customer_id)
        touch = db.exec(select(LeadTouch)).one()
        assert c.source_channel == "NewApp" and c.channel_unknown
        assert touch.channel_raw == "NewApp" and not touch.channel_known and touch.campaign == "618"
        assert touch.utm == {"utm_source": "NewApp", "utm_campaign": "618"}


def test_known_customer_gets_a_touch_not_a_second_record(engine, settings, tmp_path, clock):
    org = make_org(engine)
    s = lead_settings(settings, tmp_path)
    first = post(engine, s, clock.now, phone="139 1234 5678", channel="web", region="华东", action="下载白皮书",
                 company="华康医疗")
    assert first.owner_id is None  # 官网 has no rule
    with session_scope(engine) as db:  # a rep owns it by now
        c = db.get(Customer, first.customer_id)
        c.owner_id, c.industry = org.rep_a.id, "医疗"
    clock.now += timedelta(days=3)
    again = post(engine, s, clock.now, phone="+86 139-1234-5678", channel="dy", email="ZW@hk.cn",
                 industry="制造", landing_url="https://hk.cn/?utm_campaign=双11")
    assert again.duplicate and again.customer_id == first.customer_id and again.owner_id == org.rep_a.id
    with Session(engine) as db:
        assert len(db.exec(select(Customer)).all()) == 1
        c = db.get(Customer, first.customer_id)
        assert (c.source_channel, c.latest_channel) == ("官网", "抖音")  # first and latest source
        assert c.email == "zw@hk.cn" and c.industry == "医疗"  # blanks filled, a rep's value kept
        events = db.exec(select(TimelineEvent).where(col(TimelineEvent.customer_id) == c.id)
                         .order_by(col(TimelineEvent.id))).all()
        assert events[-1].kind == "lead_touch" and events[-1].summary == "通过抖音再次留资（活动：双11），补充了邮箱"
        push = db.exec(select(OutboxMessage).where(col(OutboxMessage.recipient) == "rep-a")).one().payload["card"]
    assert push["title"] == "老客户新动态：张伟"
    assert push["notes"] == ["历史：该客户3天前在官网下载白皮书"]
    assert len(log_rows(engine)) == 1  # a touch is not an assignment


def test_same_external_id_is_a_replay(engine, settings, tmp_path, clock):
    make_org(engine)
    s = lead_settings(settings, tmp_path)
    first = post(engine, s, clock.now, phone=phone(), channel="dy", region="华东", external_id="form-1")
    again = post(engine, s, clock.now, phone=phone(), channel="dy", region="华东", external_id="form-1")
    assert again.replayed and again.customer_id == first.customer_id
    with Session(engine) as db:
        assert len(db.exec(select(LeadTouch)).all()) == 1 and len(db.exec(select(Customer)).all()) == 1


def test_bare_name_without_company_is_not_a_duplicate(engine, settings, tmp_path, clock):
    make_org(engine)
    s = lead_settings(settings, tmp_path)
    a = post(engine, s, clock.now, phone=phone(), channel="dy")
    b = post(engine, s, clock.now, phone=phone(), channel="dy")
    assert a.customer_id != b.customer_id
    c = post(engine, s, clock.now, phone=phone(), channel="dy", company="华康医疗有限公司")
    d = post(engine, s, clock.now, email="zw@huakang.cn", channel="dy", company="华康医疗")
    assert d.duplicate and d.customer_id == c.customer_id


def test_broken_rule_file_sends_leads_to_the_pool(engine, settings, tmp_path, clock):
    make_org(engine)
    s = lead_settings(settings, tmp_path, '[groups."A组"]\nmembers = ["没这个人"]\n')
    r = post(engine, s, clock.now, phone=phone(), channel="dy")
    assert r.owner_id is None and "分配规则文件有误" in r.reason and "没这个人" in r.reason
    assert owners(engine) == [None]
