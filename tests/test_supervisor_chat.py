"""Issue #15 section 5, the supervisor in chat: conversation tests through the real pipeline (inbox
-> worker -> router -> store -> outbox) and the real sweeps, one per item: owners on lists and
search, the 撞单 card with 转给 buttons, the stale digest, transfer and merge notices, 帮助 by role
(and the README's table from the same source), and 本周."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_runtime
from bot.config import PushSettings, Settings, StaleThresholds
from bot.handlers.help_text import HELP_LINES, README_END, README_START, lines_for, readme_block
from bot.handlers.lookup import GROUP_NOTE
from scheduler import stale
from scheduler.setup import run_sweeps
from store.models import Customer, LeadAssignment, MergeAudit, OutboxMessage, OutboxStatus
from tests.factories import make_org
from tests.harness import ChatDriver
from tests.instances import on_instances

TZ = ZoneInfo("Asia/Shanghai")
README = Path(__file__).resolve().parent.parent / "README.md"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ).astimezone(ZoneInfo("UTC"))


@pytest.fixture
def bot(settings: Settings, engine, clock):
    fast = StaleThresholds(remind_rep=2, alert_supervisor=4, high_risk=6)
    push_settings = settings.model_copy(
        update={"pushes": PushSettings(stale={s: fast for s in ("初步接触", "需求确认")})})
    driver = ChatDriver(build_runtime(push_settings, clock=clock, engine=engine))
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    return driver


def new_customer(bot, sender: str, name: str, phone: str) -> int:
    bot.send(sender, f"新客户 {name} {phone}")
    for _ in range(3):
        bot.send(sender, "跳过")
    with Session(bot.runtime.engine) as s:
        return s.exec(select(Customer.id).where(col(Customer.name) == name).order_by(col(Customer.id).desc())).first()


def owner_of(engine, customer_id: int) -> int | None:
    with Session(engine) as s:
        return s.get(Customer, customer_id).owner_id


def sweep(bot, at: datetime) -> list:
    """What a sweep at `at` will deliver: folded rows (in a digest) are left out."""
    run_sweeps(bot.runtime.engine, bot.runtime.settings, at)
    return [m for m in bot.new_messages() if "未确认" not in (m.text or "") and "【周报" not in (m.text or "")
            and m.row.status != OutboxStatus.MERGED]


# ---------------------------------------------------------------- 1. owners on lists and search


def test_supervisor_lists_and_search_show_each_customers_owner(bot):
    new_customer(bot, "rep-a", "张伟", "13800138000")
    new_customer(bot, "rep-b", "李雷", "13900139000")
    team = bot.reply_to("sup", "我的客户").text
    assert "张伟" in team and "负责人 王芳" in team and "李雷" in team and "负责人 李明" in team
    found = bot.reply_to("sup", "查 张伟").text
    assert "张伟" in found and "负责人 王芳" in found
    own = bot.reply_to("rep-a", "我的客户").text
    assert "张伟" in own and "负责人" not in own  # a rep's own list does not repeat its name
    assert "负责人" not in bot.reply_to("rep-a", "查 张伟").text
    # two customers of one name, two reps: the 「which one?」 list tells them apart by owner
    new_customer(bot, "rep-b", "张伟", "13700137000")
    which = bot.reply_to("sup", "历史 张伟").text
    assert "找到多位" in which and "负责人 王芳" in which and "负责人 李明" in which
    # asked in a group: the team list goes to the supervisor alone, the group sees a note
    msgs = bot.send("sup", "我的客户", chat="grp-sales")
    assert [m.text for m in msgs if m.row.chat == "grp-sales"] == [GROUP_NOTE]
    [private] = [m for m in msgs if m.row.chat is None]
    assert private.recipient == "sup" and "负责人 李明" in private.text


# ---------------------------------------------------------------- 2. 撞单 with 转给 buttons


def test_collision_alert_names_both_reps_and_transfers_once(bot, engine):
    cid = new_customer(bot, "rep-a", "张伟", "13800138000")
    msgs = bot.send("rep-b", "客户张先生电话13800138000，想了解一下产品")
    [to_b] = [m for m in msgs if m.recipient == "rep-b"]
    assert "撞单" in to_b.text and "王芳" not in to_b.text and "张伟" not in to_b.text  # nothing revealed
    [alert] = [m for m in msgs if m.recipient == "sup"]
    assert "撞单" in alert.card.title and "张伟" in alert.card.title
    assert alert.field("负责人") == "王芳" and alert.field("提交人") == "李明"
    assert "13800138000" not in alert.all_text  # masked for the supervisor
    assert [b.label for b in alert.card.buttons] == ["转给 王芳（现负责人）", "转给 李明", "查看"]
    # the tap is the ordinary 转给: the owner changes, both reps are told
    done = bot.tap("sup", alert.action("转给 李明"))
    assert owner_of(engine, cid) == bot.org.rep_b.id
    assert any(m.recipient == "sup" and m.text == "已把 张伟 转给 李明。" for m in done)
    assert any(m.recipient == "rep-a" and "【客户转交】" in m.text for m in done)
    assert any(m.recipient == "rep-b" and m.card and m.card.title == "新线索：张伟" for m in done)
    # exactly once: a second tap (or another supervisor's) changes nothing
    again = bot.reply_to("sup", alert.action("转给 李明"), kind="card_action")
    assert "已经由 李明 负责" in again.text
    with Session(engine) as s:
        assert len(s.exec(select(LeadAssignment).where(col(LeadAssignment.kind) == "reassign")).all()) == 1
    # a rep cannot use the supervisor's button, not even on its own customer
    assert "只有主管" in bot.reply_to("rep-b", alert.action("转给 王芳"), kind="card_action").text
    assert owner_of(engine, cid) == bot.org.rep_b.id


def test_collision_from_new_customer_questions_alerts_the_supervisor_too(bot):
    new_customer(bot, "rep-a", "张伟", "13800138000")
    msgs = [m for text in ("新客户 张三 13800138000", "跳过", "跳过", "跳过") for m in bot.send("rep-b", text)]
    assert any(m.recipient == "rep-b" and "撞单" in m.text for m in msgs)
    [alert] = [m for m in msgs if m.recipient == "sup"]
    assert alert.field("负责人") == "王芳" and alert.field("提交人") == "李明"


def test_collision_across_teams_names_the_customer_only_to_who_may_see_it(bot):
    new_customer(bot, "rep-c", "张伟", "13800138000")  # 二组's customer
    msgs = bot.send("rep-a", "客户张先生电话13800138000，想了解一下产品")
    [mine] = [m for m in msgs if m.recipient == "sup"]  # 一组's supervisor may not see it: no name
    assert mine.card is None and "撞单" in mine.text and "张伟" not in mine.text and "赵强" not in mine.text
    [theirs] = [m for m in msgs if m.recipient == "sup2"]  # the owner's supervisor gets the card
    assert theirs.field("负责人") == "赵强" and theirs.field("提交人") == "王芳"
    assert [b.label for b in theirs.card.buttons] == ["转给 赵强（现负责人）", "查看"]  # 王芳 is not 二组's to assign


# ---------------------------------------------------------------- 3. the stale digest


def test_stale_alerts_arrive_as_one_digest_per_supervisor_per_sweep(bot, clock, engine):
    clock.now = local(2026, 11, 20, 16)  # Friday 16:00
    ids = [new_customer(bot, "rep-a", name, f"1380013800{i}") for i, name in enumerate(("张伟", "许强", "周杰"))]
    ids.append(new_customer(bot, "rep-b", "李雷", "13900139000"))
    assert len(sweep(bot, local(2026, 11, 20, 18))) == 4  # rung 1: each rep per customer, as before
    rung2 = sweep(bot, local(2026, 11, 23, 11))
    [digest] = [m for m in rung2 if m.recipient == "sup"]
    assert digest.card.title == "超时未跟进汇总：4 位客户"
    assert digest.card.subtitle.startswith("王芳 3 位、李明 1 位 · ")
    lines = {f.label: f.value for f in digest.card.fields}
    assert lines["张伟"] == f"王芳 · 2天未跟进 · 超时 · #{ids[0]} · 初步接触"
    assert lines["李雷"].startswith("李明 · 2天未跟进 · 超时")
    assert [b.label for b in digest.card.buttons] == ["处理 张伟", "处理 许强", "处理 周杰", "处理 李雷"]
    assert sorted(m.recipient for m in rung2 if m.recipient != "sup") == ["rep-a"] * 3 + ["rep-b"]  # rep copies
    with Session(engine) as s:  # every alert row is folded into the digest row, none goes alone
        held = s.exec(select(OutboxMessage).where(col(OutboxMessage.dedupe_key).contains(":sup"))).all()
        assert len(held) == 4 and {r.status for r in held} == {OutboxStatus.MERGED}
        assert {r.merged_into_id for r in held} == {digest.row.id}
        assert digest.row.dedupe_key.startswith(f"stale_digest:{bot.org.supervisor.id}:")
    assert sweep(bot, local(2026, 11, 23, 11, 30)) == []  # a repeated sweep sends nothing
    # a line opens its actions: 转给… / 暂缓 / 查看, and 转给… the usual picker
    actions = bot.reply_to("sup", digest.action("处理 李雷"), kind="card_action")
    assert [b.label for b in actions.card.buttons] == ["转给…", "暂缓", "查看"] and actions.field("负责人") == "李明"
    picker = bot.reply_to("sup", actions.action("转给"), kind="card_action")
    assert [b.label for b in picker.card.buttons] == ["王芳"]
    rung3 = sweep(bot, local(2026, 11, 23, 13))
    [high] = [m for m in rung3 if m.recipient == "sup"]
    assert high.card.title == "超时未跟进汇总：4 位客户（4 位高风险）"


def test_a_single_stale_alert_stays_one_card_and_a_lost_digest_still_sends(bot, clock, engine, monkeypatch):
    clock.now = local(2026, 11, 20, 16)
    new_customer(bot, "rep-a", "张伟", "13800138000")
    [alert] = [m for m in sweep(bot, local(2026, 11, 23, 11)) if m.recipient == "sup"]
    assert alert.card.title == "客户跟进超时：张伟" and alert.row.next_attempt_at is None  # due at once
    # the process dies before the digest is written: the held alerts are sent on their own later
    clock.now = local(2026, 11, 23, 16)
    new_customer(bot, "rep-a", "许强", "13800138001")
    new_customer(bot, "rep-b", "李雷", "13900139000")
    monkeypatch.setattr(stale, "_digest", lambda *a, **k: None)
    at = local(2026, 11, 24, 16)
    sups = [m for m in sweep(bot, at) if m.recipient == "sup"]
    assert len(sups) == 3 and all(m.row.status == OutboxStatus.PENDING for m in sups)  # 张伟 turned high risk
    assert {m.row.next_attempt_at for m in sups} == {at + stale.DIGEST_HOLD}


def test_two_instances_fold_each_alert_into_exactly_one_digest_or_send_it_once(bot, clock, db_url):
    clock.now = local(2026, 11, 20, 16)
    for i in range(6):
        new_customer(bot, "rep-a" if i % 2 else "rep-b", f"客户{i}", f"1380013800{i}")

    def run(engine: Engine) -> None:
        for minute in range(0, 240, 15):
            run_sweeps(engine, bot.runtime.settings, local(2026, 11, 23, 10) + timedelta(minutes=minute))

    on_instances(db_url, run)
    with Session(bot.runtime.engine) as s:
        alerts = s.exec(select(OutboxMessage).where(col(OutboxMessage.dedupe_key).contains(":sup"))).all()
        digests = {r.id: r for r in s.exec(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).startswith("stale_digest:"))).all()}
    assert len(alerts) == 12  # rung 2 and rung 3 of six customers, one supervisor
    alone = [r for r in alerts if r.status != OutboxStatus.MERGED]
    folded = [r for r in alerts if r.status == OutboxStatus.MERGED]
    assert all(r.next_attempt_at is None for r in alone)  # due at once, not held
    assert digests and all(r.merged_into_id in digests for r in folded)  # six alerts at once: some digest
    lines = sum(len(d.payload["card"]["fields"]) for d in digests.values())
    assert lines == len(folded) and len(folded) + len(alone) == 12  # every alert exactly once


# ---------------------------------------------------------------- 4. transfer and merge notices


def test_reps_are_told_of_every_transfer_and_merge(bot, engine):
    a = new_customer(bot, "rep-a", "张伟", "13800138000")
    # 转给: the former owner is told, the new owner gets the lead card
    msgs = bot.send("sup", f"转给 #{a} 李明")
    assert [m.text for m in msgs if m.recipient == "rep-a"] == ["【客户转交】陈主管 已把 张伟 转给 李明。"]
    assert [m.card.title for m in msgs if m.recipient == "rep-b"] == ["新线索：张伟"]
    # a supervisor's 退回 of a rep's customer: that rep is told
    msgs = bot.send("sup", f"退回 #{a} 客户暂无预算")
    told = [m.text for m in msgs if m.recipient == "rep-b"]
    assert told == ["【客户转交】陈主管 已把 张伟 退回公海（原因：客户暂无预算）。"]
    # the rep's own 退回 tells nobody else
    b = new_customer(bot, "rep-a", "许强", "13800138001")
    assert {m.recipient for m in bot.send("rep-a", f"退回 #{b}")} == {"rep-a"}
    # a merge: both owners learn which record survived, and of the undo
    c = new_customer(bot, "rep-a", "周杰", "13800138002")
    d = new_customer(bot, "rep-b", "周 杰", "13900139000")
    msgs = bot.send("sup", f"合并 #{c} #{d}")
    told = {m.recipient: m.text for m in msgs if m.recipient != "sup"}
    assert set(told) == {"rep-a", "rep-b"}
    assert all(f"保留的是 #{c}，负责人 王芳" in t and f"#{d} 周 杰" in t for t in told.values())
    with Session(engine) as s:
        audit = s.exec(select(MergeAudit)).one()
    msgs = bot.send("sup", f"撤销合并 {audit.id}")
    assert {m.recipient for m in msgs if "【撤销合并】" in (m.text or "")} == {"rep-a", "rep-b"}


# ---------------------------------------------------------------- 5. 帮助 by role, one source with the README


@pytest.mark.parametrize(("sender", "role", "has", "lacks"), [
    ("rep-a", "rep", ["新客户 [姓名] [电话]", "公海 / 认领 #编号", "本周", "重试"], ["转给", "合并", "免填"]),
    ("sup", "supervisor", ["转给 #编号 成员", "合并 #保留 #被合并 / 撤销合并 编号", "免填 销售 [原因]", "本周"],
     ["新客户", "认领", "重试", "拜访"]),
    ("admin", "admin", ["转给 #编号 成员", "合并 #保留 #被合并", "历史 客户"], ["新客户", "认领", "拜访"]),
])
def test_help_shows_each_role_only_its_own_commands(bot, sender, role, has, lacks):
    text = bot.reply_to(sender, "帮助").text
    assert all(f"· {line.syntax}　— {line.what}" in text for line in lines_for(role))
    assert all(h in text for h in has), text
    assert not any(w in text for w in lacks), text
    assert text == bot.reply_to(sender, "/help").text
    assert bot.reply_to(sender, "/nosuchcommand").text.endswith(text)  # an unknown word answers the same


def test_readme_command_table_comes_from_the_help_source():
    readme = README.read_text(encoding="utf-8")
    start, end = readme.find(README_START), readme.find(README_END)
    assert start >= 0 and end > start, f"README lacks the generated block; paste:\n{readme_block()}"
    assert readme[start:end + len(README_END)] == readme_block(), f"README's block is stale; paste:\n{readme_block()}"
    assert all(f"`{line.syntax}`" in readme for line in HELP_LINES)


# ---------------------------------------------------------------- 6. 本周


def test_week_so_far_rep_own_supervisor_team_on_shanghai_week(bot, clock):
    clock.now = local(2026, 11, 17, 10)  # Tuesday
    card = bot.reply_to("rep-a", "万通物流的朱总嫌价格太贵，电话13912345678，下周一再联系")
    bot.tap("rep-a", card.action("确认"))
    bot.reply_to("rep-a", "阶段 朱总 已成交")  # refused: a skip without evidence
    clock.now = local(2026, 11, 18, 15, 30)
    mine = bot.reply_to("rep-a", "本周").text
    assert mine.startswith("【本周至今 11月16日–11月18日 15:30】")
    assert "王芳：" in mine and "记录完整度 100%（1 条）" in mine and "被拒的跳阶段 1 次" in mine
    assert "李明" not in mine  # a rep sees only its own line
    team = bot.reply_to("sup", "本周").text
    assert team.startswith("【团队本周至今") and "王芳：" in team and "李明：" in team and "赵强" not in team
    admin = bot.reply_to("admin", "本周").text
    assert "赵强：" in admin and "王芳：" in admin
    # in a group the team's figures go to the supervisor alone
    msgs = bot.send("sup", "本周", chat="grp-sales")
    assert [m.text for m in msgs if m.row.chat == "grp-sales"] == [GROUP_NOTE]
    # the week is Monday 00:00 in Shanghai, not in UTC (Monday 00:10 there is still Sunday in UTC)
    clock.now = local(2026, 11, 23, 0, 10)
    monday = bot.reply_to("rep-a", "本周").text
    assert monday.startswith("【本周至今 11月23日–11月23日 00:10】") and "（0 条）" in monday
    clock.now = local(2026, 11, 22, 23, 50)
    assert bot.reply_to("rep-a", "本周").text.startswith("【本周至今 11月16日–11月22日 23:50】")


def test_week_word_inside_a_note_is_not_the_command(bot):
    reply = bot.reply_to("rep-a", "本周 张伟说要报价，电话13800138000")
    assert reply.card is not None and "本周至今" not in reply.all_text


# ---------------------------------------------------------------- the cards on the platforms


def test_digest_and_collision_cards_fit_wecom_and_dingtalk():
    """Checked with the WeCom fake's own validator: a digest of ten customers keeps every line
    readable (fields past WeCom's six become text), and every button comes back as its action."""
    from bot.cards.supervision import StaleLine, build_collision_card, build_stale_digest
    from bot.platforms.dingtalk.render import card_actions as dingtalk_actions
    from bot.platforms.dingtalk.render import render_dingtalk
    from bot.platforms.wecom.render import card_actions as wecom_actions
    from bot.platforms.wecom.render import render_wecom
    from store.models import Member
    from tests.fakes.wecom import _check_card

    lines = [StaleLine(customer_id=i, name=f"客户{i}" if i else "13912345678", company="华康医疗",
                       owner="王芳" if i % 2 else "李明", stage="需求确认", idle_days=i, idle_hours=8.0 * i,
                       rung=3 if i % 3 == 0 else 2)
             for i in range(40)]
    digest = build_stale_digest(lines=lines, now=local(2026, 11, 23, 11), tz=TZ)
    assert "13912345678" not in digest.model_dump_json()  # a legacy name holding a phone is masked
    wecom = render_wecom(digest, task_id="digest-1")
    assert _check_card(wecom, set()) is None
    # WeCom shows six fields: the highest risks, named; the subtitle still counts everyone
    assert [f["keyname"] for f in wecom["horizontal_content_list"]] == ["客户39", "客户36", "客户33", "客户30",
                                                                         "客户27", "客户24"]
    assert wecom["main_title"]["desc"].startswith("王芳 20 位、李明 20 位")
    assert len(digest.fields) == 30 and "另有 10 位未列出" in digest.notes[0]
    assert wecom_actions(wecom) == {b.action for b in digest.buttons} and len(digest.buttons) == 6
    assert dingtalk_actions(render_dingtalk(digest)) == {b.action for b in digest.buttons}
    owner = Member(id=1, team_id=1, display_name="王芳", role="rep")
    submitter = Member(id=2, team_id=1, display_name="李明", role="rep")
    customer = Customer(id=7, name="张伟", phone="+8613800138000", owner_id=1, team_id=1)
    collision = build_collision_card(customer=customer, owner=owner, submitter=submitter, contact="+86138****8000",
                                     transfer_to=[owner, submitter])
    wecom = render_wecom(collision, task_id="collision-1")
    assert _check_card(wecom, set()) is None
    assert wecom_actions(wecom) == {"reassign_to:7:1", "reassign_to:7:2", "view:7"}
    assert dingtalk_actions(render_dingtalk(collision)) == {"reassign_to:7:1", "reassign_to:7:2", "view:7"}
