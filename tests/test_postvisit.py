"""Time-travel tests of the post-visit prompt: the note window after a visit's end in working time
(weekends, holidays), a memo at 1:59 (no card) and none by 2:00 (a card, which a reply at 2:01
answers), cancelled and moved visits, 今天没去 / 改约, data health, and exactly one card when two
sweepers (two instances) run at once on the same database."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_runtime
from scheduler.postvisit import sweep_postvisit
from scheduler.weekly import send_weekly_reports
from store.customers import create_customer
from store.db import session_scope
from store.followups import create_followup
from store.models import FollowUp, Member, OutboxMessage, Visit
from store.visits import cancel_visit, reschedule_visit, schedule_visit, visit_note_health
from tests.factories import EPOCH, make_org
from tests.harness import ChatDriver
from tests.instances import on_instances

TZ = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def bot(settings, engine, clock):
    runtime = build_runtime(settings, clock=clock, engine=engine)
    driver = ChatDriver(runtime)
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    return driver


def book_visit(bot, when: datetime, *, rep: str = "rep_a") -> tuple[int, int]:
    """A customer of rep-a with a visit at `when` (local); returns (customer id, visit id)."""
    actor = getattr(bot.org, rep)
    with session_scope(bot.runtime.engine) as s:
        customer = create_customer(session=s, actor=actor, name="朱建国", company="万通物流", phone="+8613912345678",
                                   at=EPOCH)
        visit = schedule_visit(session=s, actor=actor, customer_id=customer.id, when=when, goal="谈报价",
                               when_text="", at=EPOCH)
        return customer.id, visit.id


def memo(bot, customer_id: int, at: datetime, text: str = "拜访完了，客户要方案") -> None:
    with session_scope(bot.runtime.engine) as s:
        rep = s.get(Member, bot.org.rep_a.id)
        create_followup(session=s, actor=rep, customer_id=customer_id, kind="note", text=text, tags=[], at=at)


def cards_at(bot, at: datetime) -> list:
    sweep_postvisit(bot.runtime.engine, bot.runtime.settings, at)
    return [m for m in bot.new_messages() if m.card and m.card.title.startswith("拜访后记一笔")]


def note_in_time(bot, visit_id: int) -> bool | None:
    with Session(bot.runtime.engine) as s:
        return s.get(Visit, visit_id).note_in_time


def test_a_memo_1_59_after_the_end_means_no_card(bot):
    cid, vid = book_visit(bot, local(2026, 11, 17, 14))  # Tuesday, ends 15:00, window to 17:00
    memo(bot, cid, local(2026, 11, 17, 16, 59))
    assert cards_at(bot, local(2026, 11, 17, 17, 0, 30)) == []
    assert cards_at(bot, local(2026, 11, 18, 10)) == []
    assert note_in_time(bot, vid) is True


def test_no_note_by_2_00_gets_one_card_and_the_reply_at_2_01_is_that_customers_record(bot, clock):
    cid, vid = book_visit(bot, local(2026, 11, 17, 14))
    assert cards_at(bot, local(2026, 11, 17, 16, 30)) == []
    assert cards_at(bot, local(2026, 11, 17, 17, 0)) == []  # the window's last instant still waits
    [card] = cards_at(bot, local(2026, 11, 17, 17, 0, 30))
    assert card.recipient == "rep-a" and card.card.title == "拜访后记一笔：朱建国"
    assert [b.label for b in card.card.buttons] == ["今天没去", "改约"]
    assert "① 现在到了哪个阶段  ② 下一步做什么  ③ 下次什么时候联系" in card.all_text
    assert note_in_time(bot, vid) is False
    assert cards_at(bot, local(2026, 11, 17, 17, 1)) == []  # once per visit
    # The reply names nobody; it answers the card and is filed under the visited customer.
    clock.now = local(2026, 11, 17, 17, 1)
    reply = bot.reply_to("rep-a", "基本确认需求了，下一步出方案，周四下午再约")
    assert reply.field("客户").startswith("朱建国")
    with Session(bot.runtime.engine) as s:
        followup = s.exec(select(FollowUp)).one()
        assert followup.customer_id == cid and followup.next_contact_at is not None
        assert s.get(Visit, vid).answered_at == clock.now
    # Answered: the next plain text is asked about as usual, not filed under 朱建国.
    assert "哪位客户" in bot.reply_to("rep-a", "周五上午要再打个电话").text


def test_a_late_note_before_the_sweep_is_recorded_late_without_a_card(bot):
    cid, vid = book_visit(bot, local(2026, 11, 17, 14))
    memo(bot, cid, local(2026, 11, 17, 17, 1))
    assert cards_at(bot, local(2026, 11, 17, 17, 2)) == []
    assert note_in_time(bot, vid) is False


def test_window_counts_working_time_over_a_weekend_and_a_holiday(bot):
    _, friday = book_visit(bot, local(2026, 11, 20, 17))  # Friday 17:00, ends 18:00: the window is Monday's
    assert cards_at(bot, local(2026, 11, 22, 20)) == []
    assert cards_at(bot, local(2026, 11, 23, 10, 59)) == []
    assert len(cards_at(bot, local(2026, 11, 23, 11, 0, 30))) == 1
    assert note_in_time(bot, friday) is False
    # 30 September 16:30, ends 17:30: half an hour that day, National Day off, 90 minutes on 8 October.
    _, holiday = book_visit(bot, local(2026, 9, 30, 16, 30))
    assert cards_at(bot, local(2026, 10, 3, 12)) == []
    assert cards_at(bot, local(2026, 10, 8, 10, 30)) == []
    assert len(cards_at(bot, local(2026, 10, 8, 10, 31))) == 1


def test_cancelled_visit_never_and_moved_visit_only_after_its_new_time(bot):
    _, cancelled = book_visit(bot, local(2026, 11, 17, 9))
    _, moved = book_visit(bot, local(2026, 11, 17, 14))
    with session_scope(bot.runtime.engine) as s:
        rep = s.get(Member, bot.org.rep_a.id)
        cancel_visit(session=s, actor=rep, visit_id=cancelled, at=local(2026, 11, 17, 8))
        reschedule_visit(session=s, actor=rep, visit_id=moved, when=local(2026, 11, 19, 10), when_text="",
                         at=local(2026, 11, 17, 8))
    assert cards_at(bot, local(2026, 11, 18, 12)) == []  # neither at the old times
    assert cards_at(bot, local(2026, 11, 19, 13)) == []
    [card] = cards_at(bot, local(2026, 11, 19, 13, 0, 30))  # the moved visit, after its new end + 2h
    assert card.row.dedupe_key.startswith(f"postvisit:{moved}:")
    assert note_in_time(bot, cancelled) is None


def test_missed_and_move_buttons(bot, clock):
    _, first = book_visit(bot, local(2026, 11, 17, 9))
    _, second = book_visit(bot, local(2026, 11, 17, 10))
    cards = cards_at(bot, local(2026, 11, 17, 13, 1))
    assert len(cards) == 2
    clock.now = local(2026, 11, 17, 13, 5)
    by_visit = {c.card.buttons[0].action.split(":")[1]: c for c in cards}
    assert "今天没去" in bot.reply_to("rep-a", by_visit[str(first)].action("今天没去"), kind="card_action").text
    assert "改到什么时候" in bot.reply_to("rep-a", by_visit[str(second)].action("改约"), kind="card_action").text
    assert "已改到" in bot.reply_to("rep-a", "后天上午10点").text
    with Session(bot.runtime.engine) as s:
        assert s.get(Visit, first).status == "missed"
        moved = s.get(Visit, second)
        assert moved.scheduled_at == local(2026, 11, 19, 10) and moved.note_in_time is None
    assert "已经处理过" in bot.reply_to("rep-a", by_visit[str(first)].action("今天没去"), kind="card_action").text
    assert len(cards_at(bot, local(2026, 11, 19, 13, 1))) == 1  # the moved visit is judged again


def test_data_health_counts_visits_with_their_note_in_time(bot):
    cid, _ = book_visit(bot, local(2026, 11, 17, 9))
    book_visit(bot, local(2026, 11, 17, 10))
    memo(bot, cid, local(2026, 11, 17, 10, 30))
    cards_at(bot, local(2026, 11, 17, 18))
    with Session(bot.runtime.engine) as s:
        team = bot.org.rep_a.team_id
        assert visit_note_health(session=s, team_id=team, start=local(2026, 11, 16), end=local(2026, 11, 23)) == (1, 2)
        assert visit_note_health(session=s, team_id=bot.org.other_team_rep.team_id, start=local(2026, 11, 16),
                                 end=local(2026, 11, 23)) == (0, 0)
    send_weekly_reports(bot.runtime.engine, bot.runtime.settings, local(2026, 11, 23, 9))
    [team_report] = [m for m in bot.new_messages() if m.recipient == "sup"]
    assert "拜访后按时记录：1/2 次" in team_report.text


def test_two_sweepers_on_one_database_send_exactly_one_card(bot, db_url):
    visits = [book_visit(bot, local(2026, 11, 17, 9 + i % 4))[1] for i in range(8)]

    def run(engine: Engine) -> int:
        return sweep_postvisit(engine, bot.runtime.settings, local(2026, 11, 17, 18))

    counts = on_instances(db_url, run)
    assert sum(counts) == len(visits)
    with Session(bot.runtime.engine) as s:
        keys = [r for r in s.exec(select(OutboxMessage.dedupe_key)).all() if r and r.startswith("postvisit:")]
        assert len(keys) == len(set(keys)) == len(visits)
        assert all(v.note_in_time is False for v in s.exec(select(Visit).where(col(Visit.id).in_(visits))).all())


def test_a_voice_memo_answers_the_card_for_the_visited_customer(settings, engine, clock):
    from tests.test_voice_pipeline import Voice, amr_head

    voice = Voice(settings, engine, clock)
    voice.asr.text = "需求基本确认了，下一步准备方案，下周二上午再联系"
    with session_scope(engine) as s:
        rep = s.get(Member, voice.org.rep_a.id)
        customer = create_customer(session=s, actor=rep, name="朱建国", company="万通物流", at=EPOCH)
        schedule_visit(session=s, actor=rep, customer_id=customer.id, when=local(2026, 11, 17, 14), goal="谈报价",
                       when_text="", at=EPOCH)
        cid = customer.id
    sweep_postvisit(engine, settings, local(2026, 11, 17, 17, 1))
    assert any(m.card and m.card.title == "拜访后记一笔：朱建国" for m in voice.chat.new_messages())
    clock.now = local(2026, 11, 17, 17, 20)
    voice.send(amr_head(3.0))
    (card,) = voice.transcribe()
    assert card.field("客户").startswith("朱建国")
    with Session(engine) as s:
        followup = s.exec(select(FollowUp)).one()
        assert (followup.kind, followup.customer_id) == ("voice", cid)
