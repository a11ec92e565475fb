"""Stage hand-offs to roles, in time-travel: entering a stage tells the role members once (also when
two instances try), 已接手 lands on the timeline, and an unaccepted hand-off tells the supervisor
once after the working hours it is given."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_runtime
from bot.config import HandoffRule, HandoffSettings, Settings
from bot.handlers import build_dispatcher
from bot.pipeline.worker import Worker
from bot.playbook.handoffs import announce_stage_entry
from scheduler.handoffs import sweep_handoffs
from store.customers import create_customer
from store.db import session_scope
from store.followups import create_followup
from store.handoffs import latest_stage_entry
from store.inbox import insert_inbound
from store.models import Customer, HandOff, OutboxMessage, Promise, PromiseStatus, TimelineEvent
from store.roles import add_role_tag
from store.stages import Stage
from tests.factories import make_org
from tests.harness import ChatDriver
from tests.instances import on_instances

TZ = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


@pytest.fixture
def bot(settings: Settings, engine, clock):
    rules = HandoffSettings(accept_hours=4, rules=[
        HandoffRule(stage=Stage.DEMO, roles=["售前"], message="{customer} 要演示，目标：{goal}；{summary}"),
        HandoffRule(stage=Stage.NEGOTIATION, roles=["法务"], message="{customer} 准备合同模板"),
        HandoffRule(stage=Stage.NEGOTIATION, roles=["财务"], message="{customer} 做信用审核"),
    ])
    runtime = build_runtime(settings.model_copy(update={"handoffs": rules, "stage_evidence": {}}),
                            clock=clock, engine=engine)
    driver = ChatDriver(runtime)
    org = make_org(engine)
    driver.org = org  # type: ignore[attr-defined]
    with session_scope(engine) as s:
        add_role_tag(session=s, member_id=org.rep_b.id, tag="售前", at=clock.now)  # 李明, same team
        add_role_tag(session=s, member_id=org.other_team_rep.id, tag="法务", at=clock.now)  # 赵强, another team
        add_role_tag(session=s, member_id=org.other_team_rep.id, tag="财务", at=clock.now)
        create_customer(session=s, actor=s.merge(org.rep_a), name="张伟", company="华信物流",
                        stage=Stage.NEEDS_CONFIRMED, at=clock.now)
    return driver


def handoff_cards(msgs: list) -> list:
    return [m for m in msgs if m.card and m.card.title.startswith("请接手")]


def events(engine, kind: str) -> list[TimelineEvent]:
    with Session(engine) as s:
        return list(s.exec(select(TimelineEvent).where(col(TimelineEvent.kind) == kind)
                           .order_by(col(TimelineEvent.id))).all())


def test_entering_a_stage_tells_the_role_member_once_with_a_working_ack_button(bot, clock):
    clock.now = local(2026, 11, 16, 10)
    msgs = bot.send("rep-a", "阶段 张伟 方案演示")
    cards = handoff_cards(msgs)
    assert [m.recipient for m in cards] == ["rep-b"]  # 售前 李明; not the owner, not the 法务
    card = cards[0]
    assert card.field("阶段") == Stage.DEMO and "要演示" in card.all_text and "华信物流" in card.all_text
    assert "已把 张伟 的阶段" in " ".join(m.text or "" for m in msgs)
    assert [e.summary for e in events(bot.runtime.engine, "handoff_sent")] == ["已通知 李明（售前）接手「方案演示」"]
    # The owner cannot accept for the role member; the role member can, once.
    assert "不是发给你的" in bot.tap("rep-a", card.action("已接手"))[0].text
    assert "已记录你接手" in bot.tap("rep-b", card.action("已接手"))[0].text
    assert "已经接手过了" in bot.tap("rep-b", card.action("已接手"))[0].text
    assert [e.summary for e in events(bot.runtime.engine, "handoff_accepted")] == ["李明（售前）已接手「方案演示」"]
    # Accepted: no supervisor is told, however late the sweep runs.
    assert sweep_handoffs(bot.runtime.engine, bot.runtime.settings, local(2026, 11, 20, 17)) == 0
    assert events(bot.runtime.engine, "handoff_late") == []


def test_one_stage_entry_notifies_several_roles_across_teams(bot, clock):
    clock.now = local(2026, 11, 16, 10)
    bot.send("rep-a", "阶段 张伟 方案演示")
    msgs = bot.send("rep-a", "阶段 张伟 合同洽谈")
    cards = handoff_cards(msgs)
    # 法务 and 财务 are one person in another team: one hand-off (the key is per member) with both messages.
    assert [m.recipient for m in cards] == ["rep-c"]
    assert cards[0].card.notes == ["张伟 准备合同模板", "张伟 做信用审核"]
    assert "法务、财务" in cards[0].card.subtitle


def test_handoff_not_accepted_in_four_working_hours_tells_the_supervisor_once(bot, clock):
    clock.now = local(2026, 11, 20, 16)  # Friday 16:00: two working hours left today
    bot.send("rep-a", "阶段 张伟 方案演示")
    engine, settings = bot.runtime.engine, bot.runtime.settings
    assert sweep_handoffs(engine, settings, local(2026, 11, 20, 17, 59)) == 0
    assert sweep_handoffs(engine, settings, local(2026, 11, 22, 12)) == 0  # Sunday: the clock is stopped
    assert sweep_handoffs(engine, settings, local(2026, 11, 23, 10, 59)) == 0  # Monday 10:59: 3h59m
    assert sweep_handoffs(engine, settings, local(2026, 11, 23, 11, 0)) == 1  # four working hours
    late = [m for m in bot.new_messages() if m.card and m.card.title.startswith("交接未接手")]
    assert [m.recipient for m in late] == ["sup"]
    assert "李明（售前）4 个工作小时内未确认接手" in late[0].card.subtitle
    assert sweep_handoffs(engine, settings, local(2026, 11, 24, 11)) == 0
    assert len(events(engine, "handoff_late")) == 1
    # Accepting late still records it; the supervisor is not told again.
    with Session(engine) as s:
        handoff_id = s.exec(select(HandOff.id)).one()
    assert "已记录你接手" in bot.tap("rep-b", f"handoff_ack:{handoff_id}")[0].text


def test_hand_off_exactly_once_with_two_instances(bot, clock, db_url):
    clock.now = local(2026, 11, 20, 16)
    bot.send("rep-a", "阶段 张伟 方案演示")
    with Session(bot.runtime.engine) as s:
        customer_id = s.exec(select(Customer.id)).one()

    def instance(engine: Engine) -> None:
        for _ in range(3):  # a replayed announce and a racing one create nothing new
            with session_scope(engine) as s:
                customer = s.get(Customer, customer_id)
                announce_stage_entry(session=s, settings=bot.runtime.settings, customer=customer,
                                     at=local(2026, 11, 20, 16, 1))
        for hour in (10, 11, 12):
            sweep_handoffs(engine, bot.runtime.settings, local(2026, 11, 23, hour))

    on_instances(db_url, instance)
    with Session(bot.runtime.engine) as s:
        assert len(s.exec(select(HandOff)).all()) == 1
        keys = [r.dedupe_key or "" for r in s.exec(select(OutboxMessage)).all()]
        entry = latest_stage_entry(session=s, customer_id=customer_id)
    assert entry is not None
    assert sum(k.startswith("handoff:") for k in keys) == 1
    assert sum(k.startswith("handoff_late:") for k in keys) == 1
    assert len(events(bot.runtime.engine, "handoff_sent")) == 1
    assert len(events(bot.runtime.engine, "handoff_late")) == 1


def test_a_new_entry_into_the_same_stage_is_a_new_hand_off(bot, clock):
    clock.now = local(2026, 11, 16, 10)
    assert len(handoff_cards(bot.send("rep-a", "阶段 张伟 方案演示"))) == 1
    bot.send("rep-a", "阶段 张伟 需求确认")  # stepping back: no rule for it
    assert len(handoff_cards(bot.send("rep-a", "阶段 张伟 方案演示"))) == 1


def test_unknown_template_field_fails_at_start():
    with pytest.raises(ValueError, match="unknown fields"):
        HandoffRule(stage=Stage.DEMO, roles=["售前"], message="{customer} {phone}")


def test_confirming_a_record_that_moves_the_stage_hands_off_too(bot, clock):
    clock.now = local(2026, 11, 16, 10)
    out = bot.send("rep-a", "跟进 张伟 客户希望下周安排产品演示")
    card = next(m for m in out if m.card)
    msgs = bot.tap("rep-a", card.action("确认"))
    assert "阶段已更新：需求确认 → 方案演示" in " ".join(m.text or "" for m in msgs)
    assert [m.recipient for m in handoff_cards(msgs)] == ["rep-b"]
    assert "目标：客户希望下周安排产品演示" in handoff_cards(msgs)[0].all_text


def test_the_won_hand_off_lists_the_customers_open_promises_from_the_ledger(bot, clock):
    clock.now = local(2026, 11, 16, 10)
    rules = HandoffSettings(rules=[HandoffRule(stage=Stage.WON, roles=["交付"], message="{customer}：{promises}")])
    settings = bot.runtime.settings.model_copy(update={"handoffs": rules})
    org = bot.org
    with session_scope(bot.runtime.engine) as s:
        add_role_tag(session=s, member_id=org.rep_b.id, tag="交付", at=clock.now)
        customer = s.exec(select(Customer).where(Customer.name == "张伟")).one()
        followup = create_followup(session=s, actor=s.merge(org.rep_a), customer_id=customer.id, text="签了",
                                   kind="text", tags=[], at=clock.now)
        for what, status in (("把安装排期发您", PromiseStatus.OPEN), ("已经发过的资料", PromiseStatus.DONE)):
            s.add(Promise(customer_id=customer.id, followup_id=followup.id, rep_id=org.rep_a.id, promiser="rep",
                          promiser_name="王芳", promisee_name="张伟", what=what, due_text="周五前",
                          due_at=local(2026, 11, 20, 18), sent_at=clock.now, status=status, created_at=clock.now))
        customer.stage = Stage.WON
        s.add(TimelineEvent(customer_id=customer.id, kind="stage_changed", summary="需求确认 → 已成交",
                            created_at=clock.now))
        s.flush()
        assert announce_stage_entry(session=s, settings=settings, customer=customer, at=clock.now) == 1
    with Session(bot.runtime.engine) as s:
        text = json.dumps(s.exec(select(OutboxMessage)).one().payload, ensure_ascii=False)
    assert "把安装排期发您" in text and "已经发过的资料" not in text


class Rendezvous:
    """Each caller waits (up to `patience`) until `count` callers have arrived. Put where the stage rules
    are checked, it forces the race's interleaving: with the decision taken on an unlocked read both
    instances check the old stage together; with it taken on the locked row the second cannot arrive
    while the first holds the lock, so the first goes on alone after the wait."""

    def __init__(self, count: int = 2, patience: float = 2.0) -> None:
        self.count, self.patience = count, patience
        self.arrived = 0
        self.cond = threading.Condition()

    def wait(self) -> None:
        with self.cond:
            self.arrived += 1
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.arrived >= self.count, timeout=self.patience)


@pytest.mark.parametrize("how", ["command", "card"])
def test_two_instances_confirming_one_stage_move_at_once_record_and_hand_off_once(bot, clock, db_url, monkeypatch,
                                                                                   how):
    """Two instances (their own engine, worker and dispatcher each) move 张伟 需求确认 → 方案演示 at the
    same moment: rep-a and the supervisor each send 阶段, or rep-a taps 确认 on two records that both
    suggest 方案演示. One stage_changed event, one hand-off to 售前; the other instance finds the
    customer already there."""
    from bot.handlers import card_actions, commands

    clock.now = local(2026, 11, 20, 16)
    engine = bot.runtime.engine
    with session_scope(engine) as s:
        customer_id = s.exec(select(Customer.id)).one()
        rep = s.merge(bot.org.rep_a)
        records = [create_followup(session=s, actor=rep, customer_id=customer_id, kind="chat", text=f"演示安排 {i}",
                                   tags=[], stage_hint=Stage.DEMO, at=clock.now).id for i in range(2)]
    met = Rendezvous()
    if how == "command":
        real_check = commands.check_stage_change

        def check(*args, **kwargs):
            met.wait()
            return real_check(*args, **kwargs)

        monkeypatch.setattr(commands, "check_stage_change", check)
        sends = [("rep-a", "阶段 张伟 方案演示", "text"), ("sup", "阶段 张伟 方案演示", "text")]
    else:
        real_refusal = card_actions.stage_refusal

        def refusal(*args, **kwargs):
            met.wait()
            return real_refusal(*args, **kwargs)

        monkeypatch.setattr(card_actions, "stage_refusal", refusal)
        sends = [("rep-a", f"confirm:{fid}", "card_action") for fid in records]
    order = iter(range(2))
    lock = threading.Lock()

    def instance(own: Engine) -> None:
        with lock:
            sender, text, kind = sends[next(order)]
        # An instance's worker on its own engine (build_runtime would also migrate: alembic is not
        # thread-safe, and the database is migrated already).
        worker = Worker(own, bot.runtime.settings, build_dispatcher(), clock=clock)
        with session_scope(own) as s:
            insert_inbound(session=s, platform="sandbox", msg_id=f"race-{how}-{sender}-{text}", sender=sender,
                           kind=kind, text=text, raw=text, at=clock.now)
        worker.drain()

    on_instances(db_url, instance)
    assert len(events(engine, "stage_changed")) == 1
    assert [e.summary for e in events(engine, "handoff_sent")] == ["已通知 李明（售前）接手「方案演示」"]
    with Session(engine) as s:
        assert len(s.exec(select(HandOff)).all()) == 1
        assert s.get(Customer, customer_id).stage == Stage.DEMO
    assert len(handoff_cards(bot.new_messages())) == 1
