"""Understanding in the voice pipeline: the card carries the transcript, the corrected words, the
dates heard and one-tap alternatives, each tap stored as a correction; and the real model with the
rep's biasing prompt (the model loads once per test process, shared with test_voice_asr.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.handlers.voice_memo import on_transcript
from bot.transcribe.runner import TranscriptionRunner
from store.customers import create_customer
from store.db import session_scope
from store.models import Correction, Customer, FollowUp, Member
from tests.factories import T0
from tests.test_voice_pipeline import Voice, amr_head

SET = Path(__file__).parent.parent / "benchmarks" / "data" / "voice"
HEARD = "今天拜访了华新物流的张伟张总，预算大概15万，这周四上午再给他打电话。"


@pytest.fixture
def voice(settings, engine, clock) -> Voice:
    return Voice(settings, engine, clock)


def book(engine, member_id: int, customers: list[tuple[str, str]], days: list[int | None] | None = None,
         now=None) -> None:
    with session_scope(engine) as s:
        rep = s.get(Member, member_id)
        for i, (name, company) in enumerate(customers):
            c = create_customer(session=s, actor=rep, name=name, company=company, at=T0)
            ago = days[i] if days else 1
            if ago is not None:
                c.last_activity_at = (now or c.created_at) - timedelta(days=ago)


def test_card_shows_transcript_corrections_and_dates_and_a_revert_is_a_correction(voice):
    book(voice.engine, voice.org.rep_a.id, [("张伟", "华信物流"), ("周武", "远东建设")])
    voice.asr.text = HEARD
    voice.send(amr_head(3.0))
    (card,) = voice.transcribe()
    assert card.field("客户").startswith("张伟（华信物流）")
    notes = card.card.notes
    assert "🎙 语音转写：今天拜访了华信物流的张伟张总，预算大概15万，这周四上午再给他打电话。" in notes
    assert "✎ 已按客户名单更正：「华新物流」→「华信物流」（原话已保存）" in notes
    assert "🕒 听到的时间：「今天」= 周一 11月16日；「这周四上午」= 周四 11月19日" in notes
    assert card.field("下次联系") == "周四 11月19日"
    with Session(voice.engine) as s:
        f = s.exec(select(FollowUp)).one()
        assert f.transcript == HEARD and "华信物流" in f.text  # the words as heard are kept
        fid = f.id
    again = voice.chat.tap("rep-a", card.action("公司还原为原话：华新物流"))[-1]
    assert again.field("客户").startswith("张伟（华新物流）")
    assert not any(b.label.startswith("公司还原") for b in again.card.buttons)  # used up
    assert any(n.startswith("🎙") for n in again.card.notes)  # still on the re-rendered card
    with Session(voice.engine) as s:
        fixes = s.exec(select(Correction).where(Correction.followup_id == fid)).all()
        assert [(c.field, c.before, c.after) for c in fixes] == [("company", "华信物流", "华新物流")]


def test_dingtalk_reading_that_differs_is_offered_and_taking_it_is_a_correction(settings, engine, clock):
    v = Voice(settings, engine, clock, platform="dingtalk")
    with session_scope(engine) as s:
        s.get(Member, v.org.rep_a.id).dingtalk_userid = "dt-rep-a"
    book(engine, v.org.rep_a.id, [("张伟", "华信物流")])
    v.asr.text = "今天拜访了华信物流的张伟张总，预算大概15万，这周四上午再给他打电话。"
    v.send(amr_head(3.0), sender="dt-rep-a",
           recognition="今天拜访了华信物流的张伟张总，预算大概50万，这周五上午再给他打电话。")
    card = v.transcribe()[-1]
    assert card.field("金额") == "15万元"
    labels = [b.label for b in card.card.buttons]
    assert "金额改用钉钉识别：50万元" in labels and "下次联系改用钉钉识别：周五 11月20日" in labels
    after = v.chat.tap("dt-rep-a", card.action("金额改用钉钉识别"))[-1]
    assert after.field("金额") == "50万元"
    with Session(engine) as s:
        c = s.exec(select(Correction)).one()
        assert (c.field, c.before, c.after, c.team_id) == ("amount_cny", "150000", "500000", v.org.rep_a.team_id)


def test_taking_the_dingtalk_date_outside_the_window_keeps_it_and_asks(settings, engine, clock):
    v = Voice(settings, engine, clock, platform="dingtalk")
    with session_scope(engine) as s:
        s.get(Member, v.org.rep_a.id).dingtalk_userid = "dt-rep-a"
    book(engine, v.org.rep_a.id, [("张伟", "华信物流")])
    v.asr.text = "今天拜访了华信物流的张伟张总，这周四上午再给他打电话。"
    v.send(amr_head(3.0), sender="dt-rep-a", recognition="今天拜访了华信物流的张伟张总，12月20号上午再给他打电话。")
    card = v.transcribe()[-1]
    taken = v.chat.tap("dt-rep-a", card.action("下次联系改用钉钉识别"))[-1]
    assert taken.field("下次联系").startswith("周日 12月20日")  # applied, not refused
    assert any("超过 7 天" in n and n.startswith("❓") for n in taken.card.notes)  # and asked about
    assert {"保留", "改约"} <= {b.label for b in taken.card.buttons}
    with Session(engine) as s:
        assert [c.field for c in s.exec(select(Correction)).all()] == ["next_contact_at"]


def test_a_stale_alternative_button_is_refused(voice):
    book(voice.engine, voice.org.rep_a.id, [("张伟", "华信物流")])
    voice.asr.text = HEARD
    voice.send(amr_head(3.0))
    (card,) = voice.transcribe()
    fid = card.card.buttons[0].action.split(":")[1]
    assert "已失效" in voice.chat.reply_to("rep-a", f"fix:{fid}:9", kind="card_action").text


# -- the real model ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "whisper-cache"  # the same directory test_voice_asr.py uses


def test_biasing_prompt_gets_the_customer_and_company_right(settings, engine, clock, model_cache):
    memos = {m["file"]: m for m in map(json.loads, (SET / "memos.jsonl").read_text("utf-8").splitlines())}
    memo = memos["m08.amr"]
    settings.whisper_cache_dir = model_cache
    settings.products = ["运输管理系统", "移动客户管理", "移动CRM"]
    v = Voice(settings, engine, clock)
    customers = json.loads((SET / "book.json").read_text("utf-8"))["customers"]
    book(engine, v.org.rep_a.id, [(c["name"], c["company"]) for c in customers],
         [c["last_touch_days"] for c in customers], now=clock.now)
    v.runner = TranscriptionRunner(engine, settings, clock=clock, on_transcript=on_transcript)
    with Session(engine) as s:
        assert s.exec(select(Customer)).first() is not None
    v.send((SET / memo["file"]).read_bytes())
    card = v.transcribe()[-1]
    assert card.field("客户").startswith(f"{memo['expect']['customer_name']}（{memo['expect']['company']}）")
    job = v.job()
    prompt = v.runner.prompt_for(job)
    assert prompt is not None and "永安物业郑华" in prompt
