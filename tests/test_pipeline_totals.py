"""The pipeline totals (store/totals.py, triggers of migration 0016) equal a fresh GROUP BY of the
customers after any sequence of changes through the real store functions, also with writers on
several threads at once; the console's grid read from them equals the grid counted live."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduler.stale import _claim_rung
from store.console import PipelineFilter, _grid_live, pipeline_grid
from store.customers import change_stage, create_customer
from store.db import session_scope
from store.followups import confirm_followup, create_followup, discard_followup
from store.leads import reassign_lead, release_lead
from store.merges import merge_customers, undo_merge
from store.models import Anomaly, AnomalyItem, Customer, MergeAudit, PipelineTotal
from store.recycle import return_to_pool
from store.stages import Stage
from store.totals import rebuild_pipeline_totals, totals_drift
from tests.factories import T0, Org, make_org

STAGES = [str(s) for s in Stage]


def _customers(engine: Engine) -> list[Customer]:
    with Session(engine) as s:
        return list(s.exec(select(Customer).where(col(Customer.merged_into_id).is_(None))).all())


def _step(engine: Engine, org: Org, rng: random.Random, at: object) -> None:  # noqa: C901 - one branch per write path
    reps = [org.rep_a, org.rep_b, org.other_team_rep]
    live = _customers(engine)
    op = rng.choice(["create", "create", "stage", "amount", "reassign", "release", "recycle", "merge", "undo",
                     "rung"]) if live else "create"
    with session_scope(engine) as s:
        if op == "create":
            owner = rng.choice(reps)
            c = create_customer(session=s, actor=org.admin, owner=owner, name=f"客户{rng.randrange(10**6)}",
                                stage=rng.choice(STAGES), draft=rng.random() < 0.3, at=at)
            if c.draft:  # a pasted customer comes with its record
                f = create_followup(session=s, actor=owner, customer_id=c.id, kind="chat", text="x", tags=[],
                                    amount_cny=rng.choice([None, 30_000]), at=at)
                if rng.random() < 0.3:  # 丢弃 at once: the draft customer is deleted with its record
                    s.commit()
                    discard_followup(session=s, actor=owner, followup_id=f.id)
            return
        c = rng.choice(live)
        owner = next((r for r in reps if r.id == c.owner_id), None)
        if op == "stage":
            change_stage(session=s, actor=org.admin, customer=s.get(Customer, c.id), stage=rng.choice(STAGES), at=at)
        elif op == "amount" and owner is not None:
            f = create_followup(session=s, actor=owner, customer_id=c.id, kind="chat", text="报价", tags=[],
                                amount_cny=rng.randint(1, 90) * 10_000, at=at)
            confirm_followup(session=s, actor=owner, followup_id=f.id, at=at)  # sync_amount, draft → real
        elif op == "reassign":
            target = rng.choice(reps)
            if target.id != c.owner_id:
                reassign_lead(session=s, actor=org.admin, customer_id=c.id, new_owner=target, now=at, due_hours=4)
        elif op == "release" and c.owner_id is not None:
            release_lead(session=s, actor=org.admin, customer_id=c.id, now=at, due_hours=4)
        elif op == "recycle" and c.owner_id is not None:
            return_to_pool(session=s, customer=s.get(Customer, c.id), days=30, now=at, due_hours=4)  # Core UPDATE
        elif op == "merge" and len(live) > 1:
            other = rng.choice([x for x in live if x.id != c.id])
            merge_customers(session=s, actor=org.admin, kept_id=c.id, merged_id=other.id, at=at)
        elif op == "undo":
            audit = s.exec(select(MergeAudit).where(col(MergeAudit.undone_at).is_(None))).first()
            if audit is not None and s.get(Customer, audit.kept_id).merged_into_id is None:
                undo_merge(session=s, actor=org.admin, merge_id=audit.id, at=at)
        elif op == "rung":
            _claim_rung(s, s.get(Customer, c.id), rng.choice([0, 1, 2, 3]))  # the stale sweep's Core UPDATE


@pytest.mark.parametrize("seed", [1, 2])
def test_totals_equal_a_fresh_group_by_after_random_changes(engine, seed):
    org = make_org(engine)
    rng = random.Random(seed)
    for i in range(70):
        _step(engine, org, rng, T0 + timedelta(minutes=i))
    with Session(engine) as s:
        assert totals_drift(session=s) == []
        assert s.exec(select(PipelineTotal)).first() is not None  # something was counted


def test_writers_on_threads_lose_no_update(engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        ids = [create_customer(session=s, actor=org.rep_a, name=f"客户{i}", at=T0).id for i in range(8)]
    errors: list[BaseException] = []

    def mover(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(25):
                with session_scope(engine) as s:
                    # One customer per transaction, as a chat or a card changes it; its two cells are
                    # locked in key order by the trigger, so opposite moves queue instead of deadlocking.
                    c = s.exec(select(Customer).where(col(Customer.id) == rng.choice(ids)).with_for_update()).one()
                    change_stage(session=s, actor=org.rep_a, customer=c, stage=rng.choice(STAGES), at=T0)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=mover, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(engine) as s:
        assert totals_drift(session=s) == []


def test_rebuild_repairs_drift(engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        for i in range(3):
            create_customer(session=s, actor=org.rep_a, name=f"客户{i}", stage=Stage.FIRST_CONTACT, at=T0)
    with session_scope(engine) as s:
        s.exec(text("UPDATE pipelinetotal SET customers = customers + 5"))  # type: ignore[call-overload]
    with Session(engine) as s:
        assert totals_drift(session=s) != []
    with session_scope(engine) as s:
        assert rebuild_pipeline_totals(session=s) == 1
    with Session(engine) as s:
        assert totals_drift(session=s) == []


def test_grid_from_totals_equals_the_live_count(engine):
    org = make_org(engine)
    rng = random.Random(7)
    for i in range(40):
        _step(engine, org, rng, T0 + timedelta(minutes=i))
    # An open anomaly holds one customer's stage and another's record: both are left out as before.
    with session_scope(engine) as s:
        held, held_record = _customers(engine)[:2]
        f = create_followup(session=s, actor=org.admin, customer_id=held_record.id, kind="chat", text="x", tags=[],
                            at=T0)
        anomaly = Anomaly(key="test:held", kind="stages", team_id=org.rep_a.team_id, rep_id=org.rep_a.id,
                          summary="x", created_at=T0)
        s.add(anomaly)
        s.flush()
        s.add_all([AnomalyItem(anomaly_id=anomaly.id, item_key="c", customer_id=held.id),
                   AnomalyItem(anomaly_id=anomaly.id, item_key="f", followup_id=f.id)])
    with Session(engine) as s:
        for actor in (org.admin, org.supervisor, org.rep_a, org.other_team_rep):
            for flt in (PipelineFilter(), PipelineFilter(owner_id=org.rep_b.id), PipelineFilter(stage=STAGES[0])):
                expected = sorted(_grid_live(s, actor, flt), key=lambda c: (c.owner_id or 0, c.stage))
                got = sorted(pipeline_grid(session=s, actor=actor, flt=flt), key=lambda c: (c.owner_id or 0, c.stage))
                assert got == expected, (actor.display_name, flt)


def test_cli_reports_drift_and_rebuilds(tmp_path, monkeypatch, capsys):
    from bot.cli import main
    from store.db import make_engine

    url = f"sqlite:///{tmp_path}/g.db"
    monkeypatch.setenv("GENJIN_DATABASE_URL", url)
    assert main(["totals"]) == 0  # migrates; an empty book is consistent
    engine = make_engine(url)
    org = make_org(engine)
    with session_scope(engine) as s:
        create_customer(session=s, actor=org.rep_a, name="张伟", at=T0)
        s.exec(text("DELETE FROM pipelinetotal"))  # type: ignore[call-overload]
    assert main(["totals"]) == 1
    assert main(["totals", "--rebuild"]) == 0
    assert main(["totals"]) == 0
    out = capsys.readouterr().out
    assert "1 个格子与客户表不一致" in out and "已按客户表重建管道汇总：1 个格子" in out
    engine.dispose()
