"""The commitment ledger: promises in varied wording found with who/what/whom/due, resolved against
the message's send time; keep/remove on the card; reminders before a rep's due time and a nudge
after a customer's, each exactly once (also with two scheduler instances); 已完成 / 延期 taps; the
pre-visit card, the weekly count and the console's overdue-per-rep query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_runtime
from bot.extract.promises import find_promises
from scheduler.setup import run_sweeps
from scheduler.weekly import rep_stats
from scheduler.worktime import WorkingHours
from store.db import session_scope
from store.inbox import insert_inbound
from store.models import Member, OutboxMessage, Promise, PromiseStatus, TimelineEvent
from store.promises import overdue_promises_per_rep
from tests.factories import make_org
from tests.harness import ChatDriver
from tests.instances import on_instances

TZ = ZoneInfo("Asia/Shanghai")
WED = datetime(2026, 11, 18, 10, 0, tzinfo=TZ)  # a Wednesday morning


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def found(text: str, sent: datetime = WED) -> list[tuple[str, str, str, datetime]]:
    return [(p.promiser, p.promiser_name, p.what, p.due_at)
            for p in find_promises(text, sent_at=sent, rep_name="王芳", customer_name="朱总")]


@pytest.mark.parametrize(("text", "expected"), [
    ("朱总您放心，今晚把产品资料发您邮箱", [("rep", "王芳", "把产品资料发您邮箱", local(2026, 11, 18, 22))]),
    ("合同条款我下周一前跟法务确认好", [("rep", "王芳", "合同条款我跟法务确认好", local(2026, 11, 23, 18))]),
    ("朱总说他们月底前走完内部审批", [("customer", "朱总", "走完内部审批", local(2026, 11, 30, 18))]),
    ("周五前把修改后的报价单发给他", [("rep", "王芳", "把修改后的报价单发给他", local(2026, 11, 20, 18))]),
    ("客户答应下周给我们一个答复", [("customer", "朱总", "给我们一个答复", local(2026, 11, 27, 18))]),
    ("明天下午三点前给您回个话", [("rep", "王芳", "给您回个话", local(2026, 11, 19, 15))]),
])
def test_promises_in_varied_wording(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize("text", [
    "周五前能把报价发过来吗？",  # a request, not a promise
    "昨天已经把报价发过去了",  # done, in the past
    "下周三下午去拜访朱总",  # a visit is booked with 拜访, not a promise
    "朱总觉得价格太贵",
])
def test_not_promises(text):
    assert found(text) == []


def test_chat_speakers_decide_who_promised():
    chat = ("朱总 11/18 09:50\n我们这边月底前走完审批，到时候通知你\n"
            "王芳 11/18 09:52\n好的朱总，今晚先把合同草稿发您，下周一前确认排期")
    got = found(chat)
    assert got == [
        ("customer", "朱总", "走完审批", local(2026, 11, 30, 18)),
        ("rep", "王芳", "先把合同草稿发您", local(2026, 11, 18, 22)),
        ("rep", "王芳", "确认排期", local(2026, 11, 23, 18)),
    ]


def test_due_resolves_against_the_send_time():
    # Said on Friday evening, read on Monday: 下周一 is the Monday it was said about.
    friday = local(2026, 11, 20, 19)
    assert found("下周一前把方案发您", friday)[0][3] == local(2026, 11, 23, 18)
    assert found("今晚发您资料", friday)[0][3] == local(2026, 11, 20, 22)
    assert found("今晚发您资料", local(2026, 11, 20, 23)) == []  # already past when said


# --- the ledger end to end -------------------------------------------------------------------------

MEMO = "和万通物流的朱总电话沟通，电话13912345678。我周五前把报价发给他。朱总说他们月底前走完审批。"


@pytest.fixture
def bot(settings, engine, clock):
    runtime = build_runtime(settings, clock=clock, engine=engine)
    driver = ChatDriver(runtime)
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    return driver


def sweep(bot, at: datetime) -> list:
    run_sweeps(bot.runtime.engine, bot.runtime.settings, at)
    return [m for m in bot.new_messages() if m.card and "承诺" in m.card.title]


def tap(bot, sender: str, action: str):
    return bot.reply_to(sender, action, kind="card_action")


def promises(bot) -> list[Promise]:
    with Session(bot.runtime.engine) as s:
        return list(s.exec(select(Promise).order_by(col(Promise.id))).all())


def confirmed_memo(bot, clock) -> None:
    clock.now = local(2026, 11, 16, 10).astimezone(UTC)  # Monday
    card = bot.reply_to("rep-a", MEMO)
    tap(bot, "rep-a", card.action("确认"))


def test_card_shows_promises_keep_and_remove_in_one_tap(bot, clock):
    clock.now = local(2026, 11, 16, 10).astimezone(UTC)
    card = bot.reply_to("rep-a", MEMO)
    notes = "\n".join(card.card.notes)
    assert "[我方] 王芳→朱总：把报价发给他（周五 11月20日 18:00 前）" in notes
    assert "[客户] 朱总→王芳：走完审批（周一 11月30日 18:00 前）" in notes
    assert "13912345678" not in "".join(p.source_text for p in promises(bot))  # masked
    card = tap(bot, "rep-a", card.action("移除承诺2"))
    assert "（已移除）[客户]" in "\n".join(card.card.notes)
    card = tap(bot, "rep-a", card.action("保留承诺2"))
    card = tap(bot, "rep-a", card.action("移除承诺2"))
    assert [p.status for p in promises(bot)] == [PromiseStatus.PROPOSED, PromiseStatus.DROPPED]
    tap(bot, "rep-a", card.action("确认"))
    assert [p.status for p in promises(bot)] == [PromiseStatus.OPEN, PromiseStatus.DROPPED]


def test_send_time_not_processing_time(bot, clock):
    """A message sent on Thursday and processed on Monday (a backlog) keeps Thursday's 下周一."""
    with session_scope(bot.runtime.engine) as s:
        insert_inbound(session=s, platform="sandbox", msg_id="late-1", sender="rep-a", kind="text",
                       text="和朱总电话沟通了，我下周一前把合同发给他", raw="", at=local(2026, 11, 19, 16))
    clock.now = local(2026, 11, 23, 10).astimezone(UTC)  # the worker gets to it on Monday
    bot.runtime.worker.drain()
    [p] = promises(bot)
    assert p.due_at.astimezone(TZ) == local(2026, 11, 23, 18)
    assert p.sent_at.astimezone(TZ) == local(2026, 11, 19, 16)


def test_rep_promise_reminded_before_due_then_broken_once(bot, clock):
    confirmed_memo(bot, clock)
    assert sweep(bot, local(2026, 11, 20, 13, 59)) == []
    # 4 working hours before Friday 18:00.
    reminder = sweep(bot, local(2026, 11, 20, 14))
    assert [m.card.title for m in reminder] == ["承诺提醒：朱总"]
    assert [b.label for b in reminder[0].card.buttons] == ["已完成", "延期"]
    assert sweep(bot, local(2026, 11, 20, 15)) == []
    broken = sweep(bot, local(2026, 11, 20, 18))
    assert [m.card.title for m in broken] == ["承诺已逾期：朱总"]
    assert sweep(bot, local(2026, 11, 20, 18, 30)) == [] and sweep(bot, local(2026, 11, 23, 9)) == []
    with Session(bot.runtime.engine) as s:
        events = s.exec(select(TimelineEvent).where(col(TimelineEvent.kind) == "promise_broken")).all()
    assert [e.summary for e in events] == ["承诺到期未兑现（周五 11月20日 18:00 前）：[我方] 王芳 把报价发给他"]


def test_broken_promise_reminder_exactly_once_on_two_instances(bot, clock, db_url):
    confirmed_memo(bot, clock)

    def run(engine: Engine) -> None:
        for minute in range(0, 24 * 60 * 12, 60):
            run_sweeps(engine, bot.runtime.settings, local(2026, 11, 20, 12) + timedelta(minutes=minute))

    on_instances(db_url, run)
    with Session(bot.runtime.engine) as s:
        keys = [k for k in s.exec(select(OutboxMessage.dedupe_key)).all() if k and k.startswith("promise:")]
        broken = s.exec(select(TimelineEvent).where(col(TimelineEvent.kind) == "promise_broken")).all()
    # rep: before-due reminder and overdue notice; customer: one nudge after 月底.
    assert sorted(k.rsplit(":", 1)[1] for k in keys) == ["1", "1", "2"]
    assert len(broken) == 2


def test_customer_promise_nudge_then_done_tap(bot, clock):
    confirmed_memo(bot, clock)
    sweep(bot, local(2026, 11, 20, 18, 30))  # the rep's own promise, tested above
    assert sweep(bot, local(2026, 12, 1, 10, 59)) == []
    nudge = sweep(bot, local(2026, 12, 1, 11))  # Monday 18:00 + 2 working hours
    assert [m.card.title for m in nudge] == ["客户承诺已到期：朱总"]
    clock.now = local(2026, 12, 1, 15).astimezone(UTC)
    assert "已标记完成：走完审批（逾期" in tap(bot, "rep-a", nudge[0].card.buttons[0].action).text
    assert "已经标记过完成" in tap(bot, "rep-a", nudge[0].card.buttons[0].action).text
    with Session(bot.runtime.engine) as s:
        kept = s.exec(select(TimelineEvent).where(col(TimelineEvent.kind) == "promise_kept")).one()
    assert kept.summary.startswith("承诺已兑现（逾期") and kept.ref["on_time"] is False


def test_done_on_time_and_postpone_taps(bot, clock):
    confirmed_memo(bot, clock)
    reminder = sweep(bot, local(2026, 11, 20, 14))[0]
    clock.now = local(2026, 11, 20, 14, 5).astimezone(UTC)
    delayed = tap(bot, "rep-a", reminder.action("延期"))
    assert delayed.text == "已延期：把报价发给他，新的期限 周日 11月22日 18:00，到期前会再提醒你。"
    # Sunday 18:00 due: its reminder moment (Friday 14:00, 4 working hours before) was past when 延期
    # was tapped, so none; the old due time is gone too.
    assert sweep(bot, local(2026, 11, 20, 18, 30)) == [] and sweep(bot, local(2026, 11, 22, 17)) == []
    clock.now = local(2026, 11, 21, 10).astimezone(UTC)
    assert tap(bot, "rep-a", reminder.action("已完成")).text == "已标记完成：把报价发给他（按时）。"
    assert sweep(bot, local(2026, 11, 23, 10)) == []
    with Session(bot.runtime.engine) as s:
        rep = s.exec(select(Member).where(col(Member.sandbox_id) == "rep-a")).one()
        stats = rep_stats(s, rep, local(2026, 11, 16, 0), local(2026, 11, 23, 0))
    assert (stats.promises_due, stats.promises_kept) == (1, 1)
    assert "承诺按时兑现 1/1" in stats.line()


def test_other_rep_cannot_tap(bot, clock):
    confirmed_memo(bot, clock)
    reminder = sweep(bot, local(2026, 11, 20, 14))[0]
    assert "没有权限" in tap(bot, "rep-b", reminder.action("已完成")).text


def test_previsit_card_lists_open_promises_of_both_sides(bot, clock):
    confirmed_memo(bot, clock)
    bot.reply_to("rep-a", "拜访 朱总 明天下午3点 谈报价")
    sweep(bot, local(2026, 11, 17, 14, 44))
    run_sweeps(bot.runtime.engine, bot.runtime.settings, local(2026, 11, 17, 14, 45))
    card = next(m.card for m in bot.new_messages() if m.card and m.card.title.startswith("拜访提醒"))
    notes = "\n".join(card.notes)
    assert "待兑现的承诺：" in notes
    assert "[我方] 王芳→朱总：把报价发给他" in notes and "[客户] 朱总→王芳：走完审批" in notes


def test_overdue_promises_per_rep_for_the_console(bot, clock):
    confirmed_memo(bot, clock)
    with Session(bot.runtime.engine) as s:
        sup = s.exec(select(Member).where(col(Member.sandbox_id) == "sup")).one()
        other = s.exec(select(Member).where(col(Member.sandbox_id) == "sup2")).one()
        assert overdue_promises_per_rep(session=s, actor=sup, now=local(2026, 11, 19, 12)) == []
        rows = overdue_promises_per_rep(session=s, actor=sup, now=local(2026, 12, 2, 12))
        assert [(m.display_name, n) for m, n in rows] == [("王芳", 2)]
        assert overdue_promises_per_rep(session=s, actor=other, now=local(2026, 12, 2, 12)) == []


def test_working_hours_before_mirrors_add():
    wh = WorkingHours(TZ)
    assert wh.before(local(2026, 11, 23, 11), timedelta(hours=4)) == local(2026, 11, 20, 16)  # over the weekend
    assert wh.add(wh.before(local(2026, 11, 20, 18), timedelta(hours=4)), timedelta(hours=4)) == local(2026, 11, 20, 18)
