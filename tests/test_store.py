"""The store on both SQLite and PostgreSQL: schema from migrations, inbox, outbox, permissions,
duplicates and merges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlmodel import Session

from store.customers import check_duplicates, create_customer, get_customer, list_customers, search_customers
from store.db import alembic_config, session_scope
from store.followups import create_followup, toggle_tag
from store.inbox import claim_next_inbound, finish_inbound, insert_inbound
from store.merges import merge_customers, undo_merge
from store.models import Customer, FollowUp, InboundMessage, InboxStatus
from store.outbox import enqueue_outbox
from store.permissions import PermissionDenied
from store.timeline import add_event
from tests.factories import T0, make_org


def test_migrations_match_models(db_url, engine):
    # Alembic is the only schema source: the models must not drift from it.
    command.check(alembic_config(db_url))
    tables = set(inspect(engine).get_table_names())
    assert {"team", "member", "customer", "followup", "visit", "timelineevent", "inboundmessage",
            "outboxmessage", "mergeaudit", "conversation"} <= tables


def test_timestamps_round_trip_tz_aware(engine):
    org = make_org(engine)
    when = datetime(2026, 11, 20, 15, 0, tzinfo=UTC) + timedelta(hours=8)
    with session_scope(engine) as s:
        c = create_customer(session=s, actor=org.rep_a, name="张伟", at=T0)
        c.next_contact_at = when
        s.add(c)
        cid = c.id
    with Session(engine) as s:
        loaded = s.get(Customer, cid)
        assert loaded.next_contact_at == when
        assert loaded.next_contact_at.tzinfo is not None
    with pytest.raises(Exception, match="naive datetime"), session_scope(engine) as s:
        c = s.get(Customer, cid)
        c.next_contact_at = datetime(2026, 1, 1)  # naive times are refused
        s.flush()


def test_inbox_duplicate_is_noop(engine):
    for attempt in range(3):
        with session_scope(engine) as s:
            row_id = insert_inbound(session=s, platform="wecom", msg_id="m1", sender="u", kind="text", text="hi", at=T0)
        assert (row_id is not None) == (attempt == 0)
    with session_scope(engine) as s:  # same msg_id on another platform is another message
        assert insert_inbound(session=s, platform="dingtalk", msg_id="m1", sender="u", kind="text", at=T0) is not None


def test_claim_lease_and_reclaim_after_crash(engine):
    with session_scope(engine) as s:
        insert_inbound(session=s, platform="sandbox", msg_id="a", sender="u", kind="text", text="x", at=T0)
    lease = timedelta(seconds=60)
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as s:
        row = claim_next_inbound(session=s, lease=lease, now=now)
        assert row is not None and row.status == InboxStatus.PROCESSING and row.attempts == 1
        assert claim_next_inbound(session=s, lease=lease, now=now) is None  # leased
        # the worker "crashes": nothing finishes the row; after the lease it is claimable again
        again = claim_next_inbound(session=s, lease=lease, now=now + timedelta(seconds=61))
        assert again is not None and again.id == row.id and again.attempts == 2
    with session_scope(engine) as s:
        finish_inbound(session=s, inbound_id=row.id, at=T0)
    with Session(engine) as s:
        assert claim_next_inbound(session=s, lease=lease, now=now + timedelta(hours=1)) is None
        assert s.get(InboundMessage, row.id).status == InboxStatus.DONE


def test_outbox_dedupe_key_is_exactly_once(engine):
    with session_scope(engine) as s:
        first = enqueue_outbox(session=s, platform="sandbox", recipient="u", kind="text", payload={"text": "a"},
                               dedupe_key="previsit:1", at=T0)
        second = enqueue_outbox(session=s, platform="sandbox", recipient="u", kind="text", payload={"text": "a"},
                                dedupe_key="previsit:1", at=T0)
    assert first is not None and second is None


def test_permissions_rep_supervisor_admin(engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        mine = create_customer(session=s, actor=org.rep_a, name="张伟", phone="+8613800138000", at=T0)
        theirs = create_customer(session=s, actor=org.rep_b, name="李娜", at=T0)
        other_team = create_customer(session=s, actor=org.other_team_rep, name="周杰", at=T0)
    with Session(engine) as s:
        assert [c.id for c in list_customers(session=s, actor=org.rep_a)] == [mine.id]
        with pytest.raises(PermissionDenied):
            get_customer(session=s, actor=org.rep_a, customer_id=theirs.id)
        with pytest.raises(PermissionDenied):
            create_followup(session=s, actor=org.rep_a, customer_id=theirs.id, kind="note", text="x", tags=[], at=T0)
        assert search_customers(session=s, actor=org.rep_a, query="李娜") == []
        assert {c.id for c in list_customers(session=s, actor=org.supervisor)} == {mine.id, theirs.id}
        with pytest.raises(PermissionDenied):
            get_customer(session=s, actor=org.supervisor, customer_id=other_team.id)
        assert {c.id for c in list_customers(session=s, actor=org.admin)} == {mine.id, theirs.id, other_team.id}


def test_followup_tag_change_needs_permission(engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        c = create_customer(session=s, actor=org.rep_a, name="张伟", at=T0)
        f = create_followup(session=s, actor=org.rep_a, customer_id=c.id, kind="chat", text="t", tags=["要报价"], at=T0)
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            toggle_tag(session=s, actor=org.rep_b, followup_id=f.id, tag="价格异议", at=T0)
        toggled = toggle_tag(session=s, actor=org.rep_a, followup_id=f.id, tag="价格异议", at=T0)
        assert toggled.tags == ["价格异议", "要报价"]
    with Session(engine) as s:
        assert s.get(FollowUp, f.id).tags == ["价格异议", "要报价"]


def test_duplicates_phone_email_pinyin_and_taken(engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        zw = create_customer(session=s, actor=org.rep_a, name="张伟", company="华康医疗", phone="+8613800138000",
                             email="ZW@huakang.com", at=T0)
        create_customer(session=s, actor=org.rep_b, name="刘洋", phone="+8613900139000", at=T0)
    with Session(engine) as s:
        assert check_duplicates(session=s, actor=org.rep_a, name="x", phone="+8613800138000").same.id == zw.id
        assert check_duplicates(session=s, actor=org.rep_a, name=None, email="zw@huakang.com").same.id == zw.id
        for spelling in ("Zhang Wei", "张 伟", "zhangwei"):
            dup = check_duplicates(session=s, actor=org.rep_a, name=spelling, company="华康医疗")
            assert [c.id for c in dup.likely] == [zw.id], spelling
        assert check_duplicates(session=s, actor=org.rep_a, name="张伟", company="华康医疗").same.id == zw.id
        assert check_duplicates(session=s, actor=org.rep_a, name="Zhang Wei", company="天宇建工").likely == []
        assert check_duplicates(session=s, actor=org.rep_a, name="王强").same is None
        taken = check_duplicates(session=s, actor=org.rep_a, name="刘洋", phone="+8613900139000")
        assert taken.taken and taken.same is None  # 撞单: reported, nothing of rep_b's revealed


def test_merge_is_manager_only_audited_and_undoable(engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        a = create_customer(session=s, actor=org.rep_a, name="张伟", company="华康医疗", at=T0)
        b = create_customer(session=s, actor=org.rep_a, name="Zhang Wei", phone="+8613800138000", at=T0)
        f = create_followup(session=s, actor=org.rep_a, customer_id=b.id, kind="chat", text="t", tags=[], at=T0)
        add_event(session=s, customer_id=b.id, kind="note", summary="b 的记录", at=T0)
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        merge_customers(session=s, actor=org.rep_a, kept_id=a.id, merged_id=b.id, at=T0)
    with session_scope(engine) as s:
        audit = merge_customers(session=s, actor=org.supervisor, kept_id=a.id, merged_id=b.id, at=T0)
    with Session(engine) as s:
        kept = s.get(Customer, a.id)
        assert kept.phone == "+8613800138000"
        assert s.get(FollowUp, f.id).customer_id == a.id
        assert [c.id for c in list_customers(session=s, actor=org.rep_a)] == [a.id]
    with session_scope(engine) as s:
        undo_merge(session=s, actor=org.supervisor, merge_id=audit.id, at=T0)
    with Session(engine) as s:
        assert s.get(Customer, a.id).phone is None
        assert s.get(FollowUp, f.id).customer_id == b.id
        assert {c.id for c in list_customers(session=s, actor=org.rep_a)} == {a.id, b.id}
