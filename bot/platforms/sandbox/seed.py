"""The sandbox's demo book: the seeded team gets customers with a history, so a first look at the
sandbox already shows what genjin pushes — a visit starting soon (its pre-visit card), leads gone
quiet (the stale-lead ladder), last week's confirmed records (the weekly report) — and the sandbox
clock (bot/platforms/sandbox/clock.py) moves time on to show the next rungs and reports.

Idempotent: a team that has any customer keeps its book. Everything is dated relative to `at` (the
sandbox clock's now), through the store's own functions, so it reads like a real team's month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from store.customers import create_customer
from store.followups import confirm_followup, create_followup
from store.models import Customer, Member
from store.stages import Stage
from store.visits import schedule_visit


@dataclass(frozen=True)
class Record:
    days_ago: float
    text: str
    tags: tuple[str, ...]
    amount_cny: int | None = None
    next_in_days: float | None = None  # next contact, counted from `at`


@dataclass(frozen=True)
class Account:
    owner: str  # sandbox id of the rep
    name: str
    company: str
    phone: str
    email: str | None
    stage: Stage
    created_days_ago: float
    records: tuple[Record, ...]
    visit_in_minutes: int | None = None
    visit_goal: str = ""


BOOK = (
    Account("rep-wangfang", "许志强", "华康医疗器械", "+8613812345678", "xu.zhiqiang@huakang-med.cn", Stage.DEMO, 24, (
        Record(20, "首次电话沟通，许总在看运输管理系统，今年要替换老系统", ("要演示",)),
        Record(9, "上门演示了调度模块，许总关心和现有 ERP 的对接", ("技术问题", "要演示")),
        Record(4, "许总说 43 万比预期高，东软报价低一截，希望再降一些", ("价格异议", "竞品对比"), 430000, 0.3),
    ), visit_in_minutes=10, visit_goal="带新报价当面谈，争取进入合同洽谈"),
    Account("rep-wangfang", "张伟", "华信物流", "+8675586001234", "zhang.wei.procurement@huaxin-logistics.com.cn",
            Stage.NEEDS_CONFIRMED, 30, (
                Record(26, "展会上认识，张总对仓储模块有兴趣", ("要报价",)),
                Record(15, "发了初步方案，张总说要和财务商量预算", ("付款回款",), 150000),
            )),
    Account("rep-wangfang", "赵敏", "博远教育", "+8613700001111", None, Stage.FIRST_CONTACT, 12, (
        Record(6, "赵老师咨询了排课系统，下周给她发案例", ("要演示",), None, 3),
    )),
    Account("rep-liming", "刘洋", "恒瑞物流", "+862162345678", "liuyang@hengrui56.com", Stage.NEGOTIATION, 40, (
        Record(35, "刘总确认了需求范围，三个仓库先上", ("要报价",)),
        Record(18, "合同条款法务在审，付款方式还在谈", ("合同法务", "付款回款"), 560000),
        Record(11, "刘总说法务意见下周给，暂时不用催", ("合同法务",)),
    )),
    Account("rep-liming", "周杰", "鼎新制造", "+8613911112222", None, Stage.NEEDS_CONFIRMED, 10, (
        Record(5, "周经理要一份产线看板的报价，月底前决策", ("要报价",), 80000, 1),
    )),
)


def seed_demo_book(*, session: Session, at: datetime) -> int:
    """The demo customers, records and visits (none if the team has customers). Returns customers added."""
    members = {m.sandbox_id: m for m in session.exec(select(Member).where(col(Member.sandbox_id).is_not(None))).all()}
    if not members or session.exec(select(Customer.id).limit(1)).first() is not None:
        return 0
    joined = at - timedelta(days=60)
    for member in members.values():  # on the team for the weeks the book covers (weekly reports count them)
        member.created_at = min(member.created_at, joined)
        session.add(member)
    added = 0
    for account in BOOK:
        owner = members.get(account.owner)
        if owner is None:
            continue
        customer = create_customer(session=session, actor=owner, name=account.name, company=account.company,
                                   phone=account.phone, email=account.email, stage=account.stage,
                                   at=at - timedelta(days=account.created_days_ago))
        for record in account.records:
            when = at - timedelta(days=record.days_ago)
            followup = create_followup(
                session=session, actor=owner, customer_id=customer.id or 0, kind="text", text=record.text,
                tags=list(record.tags), amount_cny=record.amount_cny, at=when,
                next_contact_at=at + timedelta(days=record.next_in_days) if record.next_in_days else None)
            confirm_followup(session=session, actor=owner, followup_id=followup.id or 0,
                             at=when + timedelta(minutes=3))
        if account.visit_in_minutes is not None:
            start = at + timedelta(minutes=account.visit_in_minutes)
            schedule_visit(session=session, actor=owner, customer_id=customer.id or 0, when=start,
                           goal=account.visit_goal, when_text=f"{account.visit_in_minutes} 分钟后", at=at)
        added += 1
    return added
