"""The card as the record's editor, through the real pipeline (inbox -> worker -> handlers -> store ->
outbox) on SQLite and PostgreSQL: one tap confirms, one reply fixes a field, 丢弃 leaves nothing, a
pending question never eats a record, a stated date is kept and asked about, 安排拜访 books the visit
its pre-visit card comes from, customer data asked for in a group is answered privately, and the
stage gate of 阶段 holds for 确认 and 新客户."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, func, select

from bot.app import build_runtime
from scheduler.previsit import sweep_previsit
from store.models import Correction, Customer, FollowUp, InboundMessage, TimelineEvent, Visit
from tests.factories import make_org
from tests.harness import ChatDriver
from tests.test_conversation import CHAT


@pytest.fixture
def chat(settings, engine, clock):
    runtime = build_runtime(settings, clock=clock, engine=engine)
    driver = ChatDriver(runtime)
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    return driver


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def only(engine, model):
    with Session(engine) as s:
        return s.exec(select(model)).one()


def test_paste_then_one_tap_confirms_record_and_customer(chat, engine):
    card = chat.reply_to("rep-a", CHAT)
    assert card.field("客户").endswith("[新客户]")
    # A tag toggle changes nothing else: no 09:00 nobody said, [新客户] stays.
    toggled = chat.reply_to("rep-a", card.action("要报价"), kind="card_action")
    assert toggled.field("下次联系") == card.field("下次联系") == "周四 11月19日"
    assert toggled.field("客户") == card.field("客户")
    chat.reply_to("rep-a", toggled.action("要报价"), kind="card_action")
    # A draft until 确认: not in 我的客户 or 查 (the rep sees it only on the card).
    assert "还没有客户" in chat.reply_to("rep-a", "我的客户").text
    assert "没有找到" in chat.reply_to("rep-a", "查 许志强").text
    done = chat.reply_to("rep-a", card.action("确认"), kind="card_action")  # the one tap
    assert "已保存 许志强" in done.text and "新客户已建档" in done.text
    f, c = only(engine, FollowUp), only(engine, Customer)
    assert f.confirmed and not c.draft and c.owner_id == chat.org.rep_a.id
    assert f"#{c.id} 许志强" in chat.reply_to("rep-a", "我的客户").text
    assert "许志强" in chat.reply_to("rep-a", "查 许志强").text


def test_every_field_fixed_by_one_reply_then_confirm(chat, engine):
    chat.reply_to("rep-a", CHAT)
    fid = only(engine, FollowUp).id
    replies = {
        "公司 华信物流": ("客户", "许志强（华信物流）  [新客户]"),
        "电话 0755-12345678": ("电话", "0755-12345678"),  # a landline, dialable as shown
        "邮箱 xu.zhiqiang.procurement@huaxin-logistics.com.cn": (
            "邮箱", "xu.zhiqiang.procurement@huaxin-logistics.com.cn"),
        "产品 运输管理系统": ("产品", "运输管理系统"),
        "金额 5万": ("金额", "5万元"),
        "下次 周四下午3点": ("下次联系", "周四 11月19日 15:00"),
        "阶段 需求确认": ("阶段", "初步接触 → 建议 需求确认"),
        "客户 赵一鸣": ("客户", "赵一鸣（华信物流）  [新客户]"),
    }
    for text, (label, shown) in replies.items():
        fixed = chat.reply_to("rep-a", text)  # one reply
        assert fixed.card is not None, (text, fixed.text)
        assert f"记录 #{fid}" in fixed.card.subtitle  # the same record, refreshed
        assert fixed.field(label) == shown, text
    tagged = chat.reply_to("rep-a", "标签 +要报价 -价格异议")
    assert tagged.selected_tags() == ["竞品对比", "要报价"]
    assert "不认识的字段「地址」" in chat.reply_to("rep-a", f"改 #{fid} 地址 深圳南山").text
    assert "卡片上没有「地址」这一项" in chat.reply_to("rep-a", "地址 深圳南山").text
    assert "没认出这个电话" in chat.reply_to("rep-a", "电话 不知道").text
    assert "没有「要合同」这个标签" in chat.reply_to("rep-a", "标签 +要合同").text
    assert chat.reply_to("rep-a", f"改 #{fid} 产品 仓储系统").field("产品") == "仓储系统"
    done = chat.reply_to("rep-a", tagged.action("确认"), kind="card_action")
    assert "已保存 赵一鸣" in done.text and "阶段已更新：初步接触 → 需求确认" in done.text
    f, c = only(engine, FollowUp), only(engine, Customer)
    assert (c.name, c.company, c.phone, c.email, c.product, c.stage) == (
        "赵一鸣", "华信物流", "+8675512345678", "xu.zhiqiang.procurement@huaxin-logistics.com.cn", "仓储系统",
        "需求确认")
    assert f.amount_cny == 50_000 and f.tags == ["竞品对比", "要报价"]
    assert f.next_contact_at == datetime(2026, 11, 19, 7, 0, tzinfo=UTC) == c.next_contact_at
    with Session(engine) as s:
        fields = sorted({r.field for r in s.exec(select(Correction)).all()})
    assert fields == ["amount_cny", "company", "customer_name", "email", "next_contact_at", "phone", "product",
                      "stage_hint", "tag"]
    assert "已确认，不能再改" in chat.reply_to("rep-a", f"改 #{fid} 公司 别的公司").text


def test_customer_named_on_a_card_of_a_known_customer_moves_the_record(chat, engine):
    chat.reply_to("rep-a", chat.reply_to("rep-a", CHAT).action("确认"), kind="card_action")
    card = chat.reply_to("rep-a", "13812345678 这位客户说下周二来看演示")  # same phone: filed under 许志强
    assert card.field("客户").startswith("许志强")
    moved = chat.reply_to("rep-a", "客户 赵一鸣")
    assert moved.field("客户") == "赵一鸣  [新客户]"  # a new draft; 许志强's file is not renamed
    with Session(engine) as s:
        assert sorted(c.name for c in s.exec(select(Customer)).all()) == ["许志强", "赵一鸣"]
    back = chat.reply_to("rep-a", "客户 许志强")
    assert back.field("客户").startswith("许志强") and "[新客户]" not in back.field("客户")
    with Session(engine) as s:
        assert [c.name for c in s.exec(select(Customer)).all()] == ["许志强"]  # the draft went with it
        assert {e.customer_id for e in s.exec(select(TimelineEvent)).all()} == {s.exec(select(Customer)).one().id}


def test_discard_leaves_nothing(chat, engine):
    card = chat.reply_to("rep-a", CHAT)
    chat.reply_to("rep-a", card.action("要报价"), kind="card_action")  # a correction row to clean up too
    gone = chat.reply_to("rep-a", card.action("丢弃"), kind="card_action")
    assert "已丢弃" in gone.text
    for model in (Customer, FollowUp, TimelineEvent, Correction):
        assert count(engine, model) == 0, model
    assert "还没有客户" in chat.reply_to("rep-a", "我的客户").text
    assert "没有权限" in chat.reply_to("rep-a", card.action("确认"), kind="card_action").text


def test_discard_on_a_known_customer_keeps_the_customer(chat, engine):
    chat.reply_to("rep-a", chat.reply_to("rep-a", CHAT).action("确认"), kind="card_action")
    second = chat.reply_to("rep-a", "跟进 许志强 客户说下周再谈")
    assert "[新客户]" not in second.field("客户")
    assert "客户档案未改动" in chat.reply_to("rep-a", second.action("丢弃"), kind="card_action").text
    assert count(engine, Customer) == 1 and count(engine, FollowUp) == 1


def test_pending_question_does_not_eat_a_pasted_chat(chat, engine):
    assert "跟哪位客户" in chat.reply_to("rep-a", "客户说价格太贵了，想要打个折").text
    msgs = chat.send("rep-a", CHAT)
    assert [m.text for m in msgs if m.card is None] == ["上一个问题已取消，这条消息按新记录处理。"]
    card = next(m for m in msgs if m.card is not None)
    assert card.field("客户").startswith("许志强")
    with Session(engine) as s:
        assert [c.name for c in s.exec(select(Customer)).all()] == ["许志强"]
    # 新客户's questions too: a pasted chat is a record, not the customer's name
    chat.reply_to("rep-a", "新客户")
    msgs = chat.send("rep-a", "王总 11/16 10:02\n我们下周二可以来公司看演示")
    assert msgs[0].text.startswith("上一个问题已取消")
    with Session(engine) as s:
        assert not s.exec(select(Customer).where(col(Customer.name).like("%演示%"))).all()
    # an answer-shaped reply still answers
    assert "跟哪位客户" in chat.reply_to("rep-a", "客户说价格太贵了，想要打个折").text
    assert chat.reply_to("rep-a", "周总").field("客户").startswith("周总")


def test_other_open_questions_do_not_eat_a_pasted_chat(chat, engine, clock):
    chat.reply_to("rep-a", chat.reply_to("rep-a", CHAT).action("确认"), kind="card_action")
    cid = only(engine, Customer).id
    # 暂缓's reason
    assert "请回复原因" in chat.reply_to("rep-a", f"snooze:{cid}", kind="card_action").text
    msgs = chat.send("rep-a", "王总 11/16 10:02\n我们下周二可以来公司看演示\n王芳 11/16 10:05\n好的王总")
    assert msgs[0].text.startswith("上一个问题已取消") and msgs[-1].card is not None
    with Session(engine) as s:
        assert s.get(Customer, cid).snoozed_until is None
    # a likely duplicate waiting for a tap
    chat.reply_to("rep-a", "今天拜访了华康医疗的张伟，他要报价")
    assert chat.reply_to("rep-a", "Zhang Wei（华康医疗）说要看演示").card.title == "可能是重复客户"
    msgs = chat.send("rep-a", CHAT)
    assert msgs[0].text.startswith("上一个问题已取消") and msgs[-1].card is not None
    # 这张图片是哪位客户的？
    clock.now += timedelta(hours=2)  # no recent record: the bot asks
    assert "是哪位客户的" in chat.reply_to("rep-a", "", kind="image").text
    msgs = chat.send("rep-a", "今天和华信物流的赵总通了电话，他说下周一再联系，想先看看报价单")
    assert msgs[0].text.startswith("上一个问题已取消") and msgs[-1].card is not None


def test_date_outside_the_window_is_kept_and_asked(chat, engine):
    card = chat.reply_to("rep-a", "今天拜访了万通物流的朱总，他说12月20号再联系")
    assert card.field("下次联系") == "周日 12月20日"
    kept = chat.reply_to("rep-a", card.action("保留"), kind="card_action")
    assert kept.field("下次联系") == "周日 12月20日" and not any(n.startswith("❓") for n in kept.card.notes)
    assert not any(b.label in ("保留", "改约") for b in kept.card.buttons)
    chat.reply_to("rep-a", kept.action("确认"), kind="card_action")
    assert only(engine, Customer).next_contact_at == datetime(2026, 12, 20, 1, 0, tzinfo=UTC)  # the day, as stated
    # 改约: one reply with the new time
    card = chat.reply_to("rep-a", "跟进 朱总 他说12月25号再联系")
    assert "请回复新的下次联系时间" in chat.reply_to("rep-a", card.action("改约"), kind="card_action").text
    moved = chat.reply_to("rep-a", "周四下午3点")
    assert moved.field("下次联系") == "周四 11月19日 15:00"
    assert not any(n.startswith("❓") for n in moved.card.notes)


def test_visit_named_in_text_is_booked_by_one_tap_and_gets_its_previsit_card(chat, engine, settings, clock):
    card = chat.reply_to("rep-a", "和华信物流的赵总通了电话，约了周四下午3点来公司聊方案")
    booked = chat.send("rep-a", card.action("安排拜访"), kind="card_action")
    assert "已安排拜访 赵总" in booked[0].text and "周四 11月19日 15:00" in booked[0].text
    assert not any(b.label == "安排拜访" for b in booked[1].card.buttons)  # the refreshed card: booked
    visit = only(engine, Visit)
    assert visit.scheduled_at == datetime(2026, 11, 19, 7, 0, tzinfo=UTC) and visit.status == "scheduled"
    clock.now = visit.scheduled_at - timedelta(minutes=settings.pushes.previsit_minutes - 1)
    assert sweep_previsit(engine, settings, clock.now) == 1
    pushed = chat.new_messages()
    assert len(pushed) == 1 and pushed[0].recipient == "rep-a" and "赵总" in pushed[0].all_text


def test_visit_without_a_time_of_day_asks_for_the_time_instead_of_booking_an_invented_hour(chat, engine):
    card = chat.reply_to("rep-a", "和华信物流的赵总约了周四视频会，看下方案")
    assert card.field("下次联系") == "周四 11月19日"
    asked = chat.reply_to("rep-a", card.action("安排拜访"), kind="card_action")
    assert "几点拜访" in asked.text and count(engine, Visit) == 0
    assert "没认出时间" in chat.reply_to("rep-a", "再说吧").text  # a day part is not a time
    booked = chat.send("rep-a", "下午3点")  # a bare time lands on the meeting's day
    assert "已安排拜访 赵总" in booked[0].text and "周四 11月19日 15:00" in booked[0].text
    visit = only(engine, Visit)
    assert visit.scheduled_at == datetime(2026, 11, 19, 7, 0, tzinfo=UTC)
    assert booked[1].field("下次联系") == "周四 11月19日 15:00"
    assert not any(b.label == "安排拜访" for b in booked[1].card.buttons)


def test_visit_time_answer_may_name_another_day_and_a_new_chat_drops_the_question(chat, engine):
    card = chat.reply_to("rep-a", "和华信物流的赵总约了周四视频会，看下方案")
    chat.reply_to("rep-a", card.action("安排拜访"), kind="card_action")
    booked = chat.send("rep-a", "周五上午10点")
    assert "周五 11月20日 10:00" in booked[0].text
    assert only(engine, Visit).scheduled_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    card = chat.reply_to("rep-a", "和宏达机电的周涛约了下周一见面聊合同")
    chat.reply_to("rep-a", card.action("安排拜访"), kind="card_action")
    msgs = chat.send("rep-a", CHAT)  # a pasted chat is a record, not the answer
    assert any("上一个问题已取消" in (m.text or "") for m in msgs)
    assert count(engine, Visit) == 1


def test_group_history_is_answered_privately_and_group_cards_mask_contacts(chat, engine):
    chat.reply_to("rep-a", chat.reply_to("rep-a", CHAT).action("确认"), kind="card_action")
    msgs = chat.send("rep-a", "历史 许志强", chat="group-1")
    to_group = [m for m in msgs if m.row.chat == "group-1"]
    private = [m for m in msgs if m.row.chat is None]
    assert [m.text for m in to_group] == ["已私信发给你。"]
    assert len(private) == 1 and private[0].recipient == "rep-a" and "许志强" in private[0].text
    for command in ("我的客户", "查 许志强"):
        msgs = chat.send("sup", command, chat="group-1")
        assert [m.text for m in msgs if m.row.chat == "group-1"] == ["已私信发给你。"]
        assert all("许志强" not in (m.text or "") for m in msgs if m.row.chat == "group-1")
    pasted = "今天拜访了华康医疗的张伟，电话13800138000，邮箱zhangwei@huakang.cn，他要报价"
    card = [m for m in chat.send("rep-a", pasted, chat="group-1") if m.card][0]
    assert card.row.chat == "group-1"
    assert card.field("电话") == "+86138****8000" and card.field("邮箱") == "z***@huakang.cn"


def test_stage_gate_holds_for_confirm_and_new_customer(chat, engine):
    # A brand-new customer: the suggested 合同洽谈 (价格异议) would skip stages; the card says so.
    card = chat.reply_to("rep-a", CHAT)
    assert card.field("阶段") == "初步接触 → 建议 合同洽谈（确认后不变更）"
    assert any("尚未经过「需求确认」" in n for n in card.card.notes)
    done = chat.reply_to("rep-a", card.action("确认"), kind="card_action")
    assert "阶段建议「合同洽谈」未采用" in done.text
    assert only(engine, Customer).stage == "初步接触"
    # No step back by one tap: 合同洽谈 -> 需求确认 stays a deliberate 阶段 command.
    with Session(engine) as s:
        c = s.exec(select(Customer)).one()
        c.stage = "合同洽谈"
        s.add(c)
        s.commit()
    card = chat.reply_to("rep-a", "跟进 许志强 客户说先把需求再梳理一遍")
    back = chat.reply_to("rep-a", "阶段 需求确认")
    assert "回退" in "\n".join(back.card.notes)
    assert "未采用" in chat.reply_to("rep-a", card.action("确认"), kind="card_action").text
    assert only(engine, Customer).stage == "合同洽谈"
    # 新客户 cannot enter at 已成交 without the stages and evidence before it.
    chat.reply_to("rep-a", "新客户 张伟 13800138000")
    chat.reply_to("rep-a", "跳过")
    refused = chat.reply_to("rep-a", "已成交")
    assert "新客户不能直接进入「已成交」" in refused.text and "尚未经过「需求确认」" in refused.text
    assert "下次什么时候" in chat.reply_to("rep-a", "需求确认").text


def test_taps_and_messages_per_fix(chat, engine):
    """The counts the closing note reports, as messages the rep sends after the paste until the record
    is saved: a correct card 1 (确认); a tag fix 2 (the tag, 确认); a field fix 2 (one reply, 确认)."""
    def rep_messages_until_saved(paste: str, fix) -> int:
        card = chat.reply_to("rep-a", paste)
        before = count(engine, InboundMessage)
        card = fix(card) or card
        chat.reply_to("rep-a", card.action("确认"), kind="card_action")
        with Session(engine) as s:
            assert all(f.confirmed for f in s.exec(select(FollowUp)).all())
        return count(engine, InboundMessage) - before

    assert rep_messages_until_saved(CHAT, lambda card: None) == 1
    def tap_tag(card):
        return chat.reply_to("rep-a", card.action("要演示"), kind="card_action")

    def reply_field(_card):
        return chat.reply_to("rep-a", "公司 华信物流")

    assert rep_messages_until_saved("跟进 许志强 发了新报价单，客户想看看", tap_tag) == 2
    assert rep_messages_until_saved("跟进 许志强 客户说周五再联系", reply_field) == 2
    with Session(engine) as s:
        c = s.exec(select(Customer)).one()
        assert c.company == "华信物流"
        assert "要演示" in s.exec(select(FollowUp).where(col(FollowUp.text).like("%新报价单%"))).one().tags


def test_drafts_are_listed_by_the_reminder_and_skipped_by_stale_sweep_and_weekly_counts(chat, engine, settings,
                                                                                          clock):
    from scheduler.reminders import sweep_unconfirmed
    from scheduler.stale import sweep_stale
    from scheduler.weekly import rep_stats

    chat.reply_to("rep-a", chat.reply_to("rep-a", CHAT).action("确认"), kind="card_action")
    chat.reply_to("rep-a", "今天拜访了万通物流的朱总，他要报价")  # left as a draft
    clock.now += timedelta(hours=25)
    assert sweep_unconfirmed(engine, settings, clock.now) == 1
    reminder = chat.new_messages()
    assert len(reminder) == 1 and "朱总" in reminder[0].text and "丢弃" in reminder[0].text
    with Session(engine) as s:
        rep = s.get(type(chat.org.rep_a), chat.org.rep_a.id)
        assert rep_stats(s, rep, clock.now - timedelta(days=7), clock.now).active == 1
    clock.now += timedelta(days=14)
    assert sweep_stale(engine, settings, clock.now) >= 1
    pushed = "\n".join(m.all_text for m in chat.new_messages())
    assert "许志强" in pushed and "朱总" not in pushed


def test_long_email_and_landline_render_in_full_on_wecom(chat, engine):
    from bot.platforms.wecom.render import render_wecom

    chat.reply_to("rep-a", CHAT)
    chat.reply_to("rep-a", "电话 0755-12345678")
    card = chat.reply_to("rep-a", "邮箱 xu.zhiqiang.procurement@huaxin-logistics.com.cn").card
    rendered = render_wecom(card, task_id="t1")
    values = [f["value"] for f in rendered["horizontal_content_list"]]
    assert "0755-12345678" in values
    assert "邮箱：xu.zhiqiang.procurement@huaxin-logistics.com.cn" in rendered["sub_title_text"]


@pytest.mark.parametrize(("text", "offered"), [
    ("和华信物流的赵总聊了，他说下周二上午来公司聊", True),
    ("赵总那边定了，周四下午3点去拜访", True),
    ("和赵总约了明天视频会，看下方案", True),
    ("赵总说周四再电话联系", False),
    ("赵总说上次拜访很满意", False),  # a meeting, but no next contact to book it at
])
def test_visit_is_offered_when_the_text_names_a_meeting_time(chat, text, offered):
    card = chat.reply_to("rep-a", text)
    assert any(b.label == "安排拜访" for b in card.card.buttons) is offered
