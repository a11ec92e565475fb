"""Data protection: secrets never printed, no personal data in logs, no customer named after its phone,
masked timeline summaries and masked views for anyone but the owner."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.app import build_runtime
from bot.cards.pushes import build_stale_alert
from bot.cli import startup_banner
from bot.config import DingTalkSettings, LeadSettings, Settings, SettingsError, WeComSettings, load_settings
from bot.logs import configure_logging
from store.db import session_scope
from store.models import Customer, FollowUp, InboundMessage, TimelineEvent
from store.names import customer_name
from store.privacy import mask_contacts
from tests.factories import make_org
from tests.harness import ChatDriver

WECOM_SECRET = "wecom-secret-7f3a9c1e5b"
WECOM_TOKEN = "wecom-token-2b8d4f6a"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
DING_SECRET = "ding-secret-9e7c5a3b1d"
LEAD_TOKEN = "lead-token-0123456789abcdef"
DB_PASSWORD = "pg-pass-4d2c0b9a"
SECRETS = (WECOM_SECRET, WECOM_TOKEN, AES_KEY, DING_SECRET, LEAD_TOKEN, DB_PASSWORD)

PHONE, EMAIL = "13912345678", "zhang.wei@example.cn"
CHAT = f"""许志强 11/16 09:15
小王，报价我看了。我手机 {PHONE}，邮箱 {EMAIL}，预算大概四十三万
王芳 11/16 09:18
好的许总，周四上午给您答复"""
PRIVATE = (PHONE, "+86" + PHONE, EMAIL, "许志强", "报价我看了", "预算大概四十三万", "周四上午给您答复")


def secret_settings(url: str, tmp_path, **extra) -> Settings:
    return Settings(
        database_url=url, data_dir=tmp_path / "var",
        wecom=WeComSettings(corp_id="ww1", agent_id=1, secret=WECOM_SECRET, token=WECOM_TOKEN,
                            encoding_aes_key=AES_KEY, api_base="http://127.0.0.1:9"),
        dingtalk=DingTalkSettings(client_id="ding1", client_secret=DING_SECRET, robot_code="ding1",
                                  api_base="http://127.0.0.1:9"),
        leads=LeadSettings(sources={"web": LEAD_TOKEN}), **extra,
    )


# ------------------------------------------------------------------ secrets


def test_settings_never_show_secrets_but_hand_them_to_their_use(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENJIN_DATABASE_URL", f"postgresql://genjin:{DB_PASSWORD}@db.internal:5432/genjin")
    monkeypatch.setenv("GENJIN_WECOM__SECRET", WECOM_SECRET)
    for name, value in (("CORP_ID", "ww1"), ("AGENT_ID", "1"), ("TOKEN", WECOM_TOKEN), ("ENCODING_AES_KEY", AES_KEY)):
        monkeypatch.setenv(f"GENJIN_WECOM__{name}", value)
    monkeypatch.setenv("GENJIN_DINGTALK__CLIENT_SECRET", DING_SECRET)
    monkeypatch.setenv("GENJIN_DINGTALK__CLIENT_ID", "ding1")
    monkeypatch.setenv("GENJIN_DINGTALK__ROBOT_CODE", "ding1")
    monkeypatch.setenv("GENJIN_LEADS__SOURCES", json.dumps({"web": LEAD_TOKEN}))
    settings = load_settings()
    shown = [repr(settings), str(settings), str(settings.model_dump()), settings.model_dump_json(),
             repr(settings.wecom), repr(settings.leads), startup_banner(settings)]
    for text_ in shown:
        for secret in SECRETS:
            assert secret not in text_
    assert "genjin:***@db.internal:5432/genjin" in startup_banner(settings)
    assert settings.wecom is not None and settings.dingtalk is not None
    assert settings.wecom.secret.get_secret_value() == WECOM_SECRET
    assert settings.wecom.encoding_aes_key.get_secret_value() == AES_KEY
    assert settings.dingtalk.client_secret.get_secret_value() == DING_SECRET
    assert settings.leads.sources["web"].get_secret_value() == LEAD_TOKEN
    assert settings.database_url.get_secret_value().endswith(f":{DB_PASSWORD}@db.internal:5432/genjin")


def test_a_bad_database_url_is_reported_without_its_password(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError) as failed:
        load_settings(database_url=f"mysql://genjin:{DB_PASSWORD}@db/genjin")
    assert "database_url" in str(failed.value) and DB_PASSWORD not in str(failed.value)
    with pytest.raises(SettingsError) as failed:
        load_settings(leads={"sources": {"web": "short-secret"}})
    assert "leads.sources" in str(failed.value) and "short-secret" not in str(failed.value)


# ------------------------------------------------------------------ logs


@pytest.fixture
def captured_logs(capsys, caplog):
    """genjin's logging at DEBUG, JSON; yields a function returning everything logged so far."""
    factory, root = logging.getLogRecordFactory(), logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging("DEBUG", "json")
    structlog.configure(cache_logger_on_first_use=False)  # keep module loggers unbound after this test
    caplog.set_level(logging.DEBUG)

    def everything() -> str:
        out = capsys.readouterr()
        records = "\n".join(f"{r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records)
        return "\n".join([out.out, out.err, caplog.text, records])

    yield everything
    structlog.reset_defaults()
    logging.setLogRecordFactory(factory)
    root.setLevel(level)
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)


def inject_failure(engine, on: bool) -> None:
    """A real database error on the follow-up insert. PostgreSQL's error then quotes the failing row
    (DETAIL: Failing row contains (… the chat …)); on both, SQLAlchemy's quotes the parameters."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE followup ADD CONSTRAINT injected CHECK (text = '')" if on
                              else "ALTER TABLE followup DROP CONSTRAINT injected"))
        else:
            conn.execute(text("CREATE TRIGGER injected BEFORE INSERT ON followup "
                              "BEGIN SELECT RAISE(ABORT, 'injected failure'); END" if on
                              else "DROP TRIGGER injected"))


def test_a_chat_with_phone_and_email_leaves_no_personal_data_in_any_log(db_url, tmp_path, clock, captured_logs):
    url = db_url.replace("genjin@", f"genjin:{DB_PASSWORD}@")  # PostgreSQL: trust auth, the password is unused
    settings = secret_settings(url, tmp_path)
    runtime = build_runtime(settings, clock=clock)
    make_org(runtime.engine)
    chat = ChatDriver(runtime)
    inject_failure(runtime.engine, on=True)
    assert chat.send("rep-a", CHAT) == []  # failed, to be retried
    inject_failure(runtime.engine, on=False)
    clock.now += timedelta(minutes=1)
    runtime.worker.drain()
    [card] = chat.new_messages()
    assert card.card is not None and card.field("电话") == "+86" + PHONE  # the owner's own card: in full
    chat.send("rep-a", f"查 {PHONE}")
    chat.send("sup", "历史 许志强")
    assert asyncio.run(runtime.sender.run_once()) >= 3
    # A library logging through the standard logging module, with a traceback.
    try:
        raise ValueError(f"cannot reach {EMAIL} / {PHONE}")
    except ValueError:
        logging.getLogger("aiohttp.server").exception("request from %s failed: /x?phone=%s&email=%s", "1.2.3.4",
                                                      PHONE, EMAIL)
    runtime.engine.dispose()

    logged = captured_logs()
    # Either renderer: a module logger another test already used keeps the configuration it was cached with.
    assert "inbound_failed" in logged and "inbound_processed" in logged and "outbox_sent" in logged
    for private in (*PRIVATE, *SECRETS):
        assert private not in logged, private
    assert "IntegrityError" in logged and "message not logged" in logged  # the database error was logged
    assert "request from 1.2.3.4 failed" in logged and "+86139****5678" in logged and "z***@example.cn" in logged


def test_database_errors_carry_no_bound_parameters(engine, clock):
    """hide_parameters on every engine: an error's text (stored as the inbox row's error, shown by
    anything that prints it) does not quote the values, which are message text and phones."""
    org = make_org(engine)
    with session_scope(engine) as s:
        customer = Customer(name="许志强", team_id=org.rep_a.team_id, owner_id=org.rep_a.id, created_at=clock())
        s.add(customer)
        s.flush()
    inject_failure(engine, on=True)
    with pytest.raises(IntegrityError) as failed, session_scope(engine) as s:
        s.add(FollowUp(customer_id=customer.id, rep_id=org.rep_a.id, text=CHAT, created_at=clock()))
    assert "SQL parameters hidden" in str(failed.value)
    if engine.dialect.name == "sqlite":  # PostgreSQL's own DETAIL quotes the row: see the log renderer
        assert "报价我看了" not in str(failed.value) and PHONE not in str(failed.value)


def test_database_errors_render_without_sql_parameters_or_row_values():
    """The traceback renderer, on the PostgreSQL shape of an error (no server needed)."""
    import psycopg

    from bot.log_privacy import render_exception, safe_message

    row = f"Failing row contains (7, 许志强, +86{PHONE})."
    sql = "INSERT INTO followup (text) VALUES (%(text)s)"
    try:
        try:
            raise psycopg.errors.CheckViolation(f'new row violates check constraint "injected"\nDETAIL:  {row}')
        except psycopg.Error as orig:
            raise IntegrityError(sql, {"text": CHAT}, orig) from orig
    except IntegrityError as exc:
        rendered = render_exception((type(exc), exc, exc.__traceback__))
        assert safe_message(exc).startswith("psycopg.errors.CheckViolation")
    assert "IntegrityError" in rendered and "CheckViolation" in rendered and "Traceback" in rendered
    for private in (*PRIVATE, "Failing row", "INSERT INTO"):
        assert private not in rendered, private


def test_masking_in_free_text_leaves_dates_amounts_and_ids_alone():
    assert mask_contacts(f"手机 {PHONE}，座机 010-62345678，+86 139 1234 5678，{EMAIL}") == (
        "手机 +86139****5678，座机 +8610****5678，+86139****5678，z***@example.cn")
    kept = "outbox_id=12 until=2026-11-26T07:00:00.123456+00:00 金额430000元 msg 7300000000000000001 #99999"
    assert mask_contacts(kept) == kept
    assert mask_contacts(mask_contacts(f"{PHONE} {EMAIL}")) == mask_contacts(f"{PHONE} {EMAIL}")


# ------------------------------------------------------------------ names


@pytest.fixture
def chat(settings, engine, clock):
    driver = ChatDriver(build_runtime(settings, clock=clock, engine=engine))
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    return driver


def test_a_customer_with_no_name_is_not_named_after_its_phone_and_the_card_asks(chat, engine):
    card = chat.reply_to("rep-a", f"客户电话 {PHONE}，邮箱 {EMAIL}，想了解移动CRM，预算大概四十三万")
    assert card.field("客户").startswith("未命名客户（尾号5678）")
    with Session(engine) as s:
        customer = s.exec(select(Customer)).one()
    assert customer.name == "未命名客户（尾号5678）" and customer.phone == "+86" + PHONE
    assert f"请发送「改名 #{customer.id} 客户姓名」补上" in card.card.notes[0]
    refused = chat.reply_to("rep-a", f"改名 #{customer.id} {PHONE}")
    assert "不要包含电话或邮箱" in refused.text
    done = chat.reply_to("rep-a", f"改名 #{customer.id} 张伟")
    assert "改为「张伟」" in done.text
    card = chat.reply_to("rep-a", f"跟进 #{customer.id} 电话沟通，下周二再联系")
    # Still a draft (nothing confirmed yet), so the card still says [新客户].
    assert card.field("客户") == "张伟  [新客户]" and not [n for n in card.card.notes if "改名" in n]
    assert "把客户名从 未命名客户（尾号5678） 改为 张伟" in chat.reply_to("rep-a", "历史 张伟").text


@pytest.mark.parametrize(("name", "phone", "company", "filed"), [
    (PHONE, "+86" + PHONE, None, "未命名客户（尾号5678）"),
    (EMAIL, None, "华信物流", "未命名客户（华信物流）"),
    ("", "+86" + PHONE, "华信物流", "未命名客户（华信物流，尾号5678）"),
    (f"张伟（电话：{PHONE}）", None, None, "张伟"),
    ("王总", None, None, "王总"),
])
def test_customer_name_never_holds_contact_data(name, phone, company, filed):
    assert customer_name(name, phone=phone, company=company) == filed


def test_a_lead_whose_name_field_holds_a_phone_is_filed_under_a_placeholder(engine, settings, clock):
    from bot.leads.fields import validate_lead
    from bot.leads.intake import channel_table, intake_lead

    make_org(engine)
    lead, errors = validate_lead({"name": PHONE, "phone": PHONE, "channel": "抖音"}, channels=channel_table(settings))
    assert lead is not None and not errors
    with session_scope(engine) as s:
        result = intake_lead(session=s, settings=settings, lead=lead, source="web", now=clock())
        assert s.get(Customer, result.customer_id).name == "未命名客户（尾号5678）"


# ------------------------------------------------------------------ masking


def test_timeline_summaries_are_stored_without_full_phones(chat, engine):
    chat.reply_to("rep-a", CHAT)
    chat.reply_to("rep-a", f"跟进 许志强 新号 139 8765 4321 邮件 {EMAIL}")
    chat.reply_to("rep-a", "跟进 许志强 " + "客户说" * 11 + "13700001111")  # the phone straddles the 40-character cut
    with Session(engine) as s:
        summaries = "\n".join(e.summary for e in s.exec(select(TimelineEvent)))
    assert "+86139****4321" in summaries and "z***@example.cn" in summaries and "+86137****1111" not in summaries
    for private in (PHONE, "139 8765 4321", "13987654321", EMAIL, "1370000"):
        assert private not in summaries


def legacy_customer(engine, owner) -> int:
    """Rows written before this change: a customer named after its phone, a summary with a phone."""
    with session_scope(engine) as s:
        c = Customer(name=PHONE, phone="+86" + PHONE, email=EMAIL, team_id=owner.team_id, owner_id=owner.id,
                     created_at=owner.created_at)
        s.add(c)
        s.flush()
        s.add(TimelineEvent(customer_id=c.id, kind="followup_chat", summary=f"客户说换号了 {PHONE}，邮箱 {EMAIL}",
                            created_at=owner.created_at))
        return c.id


def test_history_and_search_mask_contact_data_for_a_supervisor(chat, engine):
    cid = legacy_customer(engine, chat.org.rep_a)
    for asked in (f"历史 #{cid}", "查 5678", "我的客户"):
        seen = chat.reply_to("sup", asked).text
        assert "+86139****5678" in seen or "139****5678" in seen, asked
        assert PHONE not in seen and EMAIL not in seen, asked
    owner_view = chat.reply_to("rep-a", f"历史 #{cid}").text
    assert PHONE in owner_view and EMAIL in owner_view  # the owner sees the record as written


def test_pushes_to_a_supervisor_mask_contact_data(chat, engine):
    with Session(engine) as s:
        legacy = s.get(Customer, legacy_customer(engine, chat.org.rep_a))
    alert = build_stale_alert(customer=legacy, owner_name="王芳", idle_hours=80, high_risk=False)
    shown = "\n".join([alert.title, *(f.value for f in alert.fields)])
    assert "139****5678" in shown and PHONE not in shown
    # 撞单: another team's rep files the same phone; their supervisor is told which contact, masked.
    chat.reply_to("rep-a", CHAT)
    chat.send("rep-c", f"客户王磊 电话 {PHONE} 想看演示")
    with Session(engine) as s:
        notices = [m for m in chat.log if m.recipient == "sup2"]
    assert notices and "撞单" in notices[0].text
    assert "+86139****5678" in notices[0].text and PHONE not in notices[0].text


def test_inbound_rows_keep_the_text_logs_do_not_need(engine, chat):
    """The message itself stays in the inbox (needed for 重试); only logs and views leave it out."""
    chat.reply_to("rep-a", CHAT)
    with Session(engine) as s:
        assert s.exec(select(InboundMessage.text)).one() == CHAT
        assert s.exec(select(col(FollowUp.text))).one() == CHAT
