"""The durable voice pipeline with a stand-in transcriber: inbox -> job row -> runner -> card.

Covers what must never happen to a memo: lost on a kill, deleted after failures, sent twice, or
blocking the inbox transaction. Real transcription is in test_voice_asr.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from bot.app import build_runtime
from bot.clock import system_clock
from bot.config import Settings
from bot.handlers.voice_memo import NO_FILE, NOT_FETCHED, SILENT, on_transcript
from bot.pipeline.media import store_media
from bot.transcribe.audio import AudioError
from bot.transcribe.runner import FAILED, UNREADABLE, TranscriptionRunner
from store.db import make_engine, migrate, session_scope
from store.models import (
    FollowUp,
    InboundMessage,
    InboxStatus,
    Member,
    OutboxMessage,
    TranscriptionJob,
    TranscriptionStatus,
)
from store.transcriptions import claim_next_transcription, create_transcription_job
from tests.factories import T0, make_org
from tests.harness import ChatDriver

VOICE = Path(__file__).parent / "data" / "voice"
SAID = "今天拜访了华信物流的张伟张总，他们对运输管理系统很感兴趣，预算大概15万，这周四上午再给他打电话。"


def amr_head(seconds: float) -> bytes:
    """The first seconds of the short fixture, cut at a frame boundary (a shorter real memo)."""
    data = (VOICE / "memo_short.amr").read_bytes()
    sizes = {0: 12, 1: 13, 2: 15, 3: 17, 4: 19, 5: 20, 6: 26, 7: 31, 8: 5, 15: 0}
    pos = 6
    for _ in range(int(seconds / 0.02)):
        pos += 1 + sizes[(data[pos] >> 3) & 15]
    return data[:pos]


class FakeAsr:
    """Stands in for Whisper: returns a fixed transcript, or fails the first `fail` calls."""

    def __init__(self, text: str = SAID, fail: int = 0, exc: Exception | None = None) -> None:
        self.text, self.fail, self.exc, self.calls = text, fail, exc, []

    def __call__(self, path: Path) -> str:
        self.calls.append(path)
        assert path.is_file()
        if len(self.calls) <= self.fail:
            raise self.exc or RuntimeError("decoder crashed")
        return self.text


class Voice:
    def __init__(self, settings: Settings, engine, clock, platform: str = "sandbox") -> None:
        self.settings, self.engine, self.clock = settings, engine, clock
        self.runtime = build_runtime(settings, clock=clock, engine=engine)
        self.chat = ChatDriver(self.runtime, platform=platform)
        self.org = make_org(engine)
        self.asr = FakeAsr()
        self.runner = self.make_runner()

    def make_runner(self, asr: FakeAsr | None = None, handler=on_transcript) -> TranscriptionRunner:
        return TranscriptionRunner(self.engine, self.settings, clock=self.clock, on_transcript=handler,
                                   transcribe=lambda path: (asr or self.asr)(path))

    def store(self, data: bytes, ext: str = "amr") -> str:
        return store_media(data, self.settings.media_dir, ext)

    def send(self, data: bytes | str, sender: str = "rep-a", recognition: str = "") -> list:
        ref = self.store(data) if isinstance(data, bytes) else data
        return self.chat.send(sender, recognition, kind="voice", media_ref=ref)

    def transcribe(self) -> list:
        self.runner.drain()
        return self.chat.new_messages()

    def job(self) -> TranscriptionJob:
        with Session(self.engine) as s:
            return s.exec(select(TranscriptionJob)).one()

    def count(self, model) -> int:
        with Session(self.engine) as s:
            return s.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def voice(settings, engine, clock) -> Voice:
    return Voice(settings, engine, clock)


def test_memo_becomes_a_voice_followup_card_after_an_immediate_ack(voice):
    sent = voice.send((VOICE / "memo_short.amr").read_bytes())
    assert [m.text for m in sent] == ["正在识别语音（约 13 秒）…识别完会发确认卡片给你。"]
    job = voice.job()
    assert job.status == TranscriptionStatus.PENDING and job.audio_format == "amr"
    assert job.audio_seconds == pytest.approx(12.98, abs=0.05)
    with Session(voice.engine) as s:
        assert s.get(InboundMessage, job.inbound_id).status == InboxStatus.DONE  # inbox is not held
    (card,) = voice.transcribe()  # the transcript rides on the card, not in a message of its own
    assert f"🎙 语音转写：{SAID}" in card.card.notes
    assert card.field("客户").startswith("张") and "（华信物流）" in card.field("客户")
    assert card.field("金额") == "15万元"
    assert card.field("下次联系").startswith("周四")
    with Session(voice.engine) as s:
        f = s.exec(select(FollowUp)).one()
        assert f.kind == "voice" and f.transcript == SAID and f.text == SAID
        assert f.source_inbound_id == job.inbound_id
        assert s.get(TranscriptionJob, job.id).status == TranscriptionStatus.DONE
    assert (voice.settings.media_dir / job.media_ref).is_file()  # the audio is kept
    assert voice.transcribe() == []  # done once


def test_brief_memo_gets_no_ack_just_the_card(voice):
    assert voice.send(amr_head(3.0)) == []
    assert [m.card is not None for m in voice.transcribe()] == [True]


def test_failures_end_in_a_clear_reply_nothing_deleted_and_retry_requeues(voice):
    voice.asr.fail = 3
    voice.send(amr_head(3.0))
    voice.runner.drain()
    for _ in range(2):  # attempts back off; each one is due only later
        assert voice.job().status == TranscriptionStatus.PENDING
        assert voice.runner.drain() == 0
        voice.clock.now += timedelta(minutes=5)
        voice.runner.drain()
    job = voice.job()
    assert job.status == TranscriptionStatus.FAILED and job.attempts == 3 and "decoder crashed" in job.error
    assert [m.text for m in voice.chat.new_messages()] == [FAILED]
    assert FAILED == "语音未能识别，原始录音已保存，发送「重试」再试"
    assert (voice.settings.media_dir / job.media_ref).is_file()
    assert voice.count(InboundMessage) == 1 and voice.count(TranscriptionJob) == 1
    # 重试 puts the memo back; the transcriber works now
    retry = voice.chat.reply_to("rep-a", "重试")
    assert "已重新排队 1 条" in retry.text
    assert voice.job().status == TranscriptionStatus.PENDING and voice.job().attempts == 0
    assert voice.transcribe()[-1].card is not None
    assert voice.count(FollowUp) == 1


def test_retry_only_requeues_the_senders_own_memos(voice):
    voice.asr.fail = 1
    voice.settings.transcription_max_attempts = 1
    voice.send(amr_head(3.0))
    voice.transcribe()
    assert "没有需要重试" in voice.chat.reply_to("rep-b", "重试").text
    assert voice.job().status == TranscriptionStatus.FAILED


def test_a_runner_that_died_mid_transcription_is_resumed_after_its_lease(voice):
    voice.send(amr_head(3.0))
    dead = voice.make_runner()
    claimed = dead.claim()  # ... and the process dies here, mid-transcription
    assert claimed is not None
    assert voice.runner.run_once() is False  # its lease still holds
    voice.clock.now += timedelta(seconds=voice.settings.transcription_lease_seconds + 1)
    assert voice.runner.run_once() is True
    assert [m.card is not None for m in voice.chat.new_messages()] == [True]
    # the "dead" runner wakes up (a paused VM, not a dead one) and finishes: it writes nothing
    dead._complete(claimed, "另一个结果")
    dead._record_failure(claimed, RuntimeError("late"), None)
    assert voice.chat.new_messages() == []
    assert voice.count(FollowUp) == 1 and voice.job().status == TranscriptionStatus.DONE


def test_a_memo_that_kills_every_run_is_given_up_after_max_attempts(voice):
    voice.send(amr_head(3.0))
    lease = timedelta(seconds=voice.settings.transcription_lease_seconds + 1)
    for _ in range(voice.settings.transcription_max_attempts):
        assert voice.make_runner().claim() is not None  # each run dies (e.g. OOM on this audio)
        voice.clock.now += lease
    assert voice.runner.run_once() is True
    assert voice.asr.calls == []  # not tried a fourth time
    assert [m.text for m in voice.chat.new_messages()] == [FAILED]
    assert voice.job().status == TranscriptionStatus.FAILED


def test_an_error_after_transcription_keeps_the_transcript_for_the_retry(voice):
    calls = []

    def broken_then_fine(ctx, job, text):
        calls.append(text)
        if len(calls) == 1:
            raise RuntimeError("extraction bug")
        ctx.reply("ok")

    voice.runner = voice.make_runner(handler=broken_then_fine)
    voice.send(amr_head(3.0))
    voice.runner.drain()
    assert voice.job().transcript == SAID and voice.job().status == TranscriptionStatus.PENDING
    assert voice.count(OutboxMessage) == 0  # the failed transaction sent nothing
    voice.clock.now += timedelta(minutes=1)
    voice.runner.drain()
    assert len(voice.asr.calls) == 1 and calls == [SAID, SAID]  # not transcribed twice
    assert [m.text for m in voice.chat.new_messages()] == ["ok"]


def test_corrupt_audio_gets_a_clear_reply_and_is_kept(voice):
    data = (VOICE / "corrupt.amr").read_bytes()
    sent = voice.send(data)
    assert [m.text for m in sent] == [UNREADABLE]
    assert voice.count(TranscriptionJob) == 0
    with Session(voice.engine) as s:
        row = s.exec(select(InboundMessage)).one()
        assert row.status == InboxStatus.DONE and "corrupt_amr" in row.error
        assert (voice.settings.media_dir / row.media_ref).read_bytes() == data


def test_audio_the_decoder_rejects_fails_at_once_with_the_unreadable_reply(voice):
    voice.asr.fail, voice.asr.exc = 1, AudioError("decode_failed")
    voice.send(amr_head(3.0))
    assert [m.text for m in voice.transcribe()] == [UNREADABLE]
    job = voice.job()
    assert job.status == TranscriptionStatus.FAILED and job.attempts == 1


def test_duration_and_size_caps(voice):
    voice.settings.max_audio_seconds = 10
    sent = voice.send((VOICE / "memo_short.amr").read_bytes())
    assert [m.text for m in sent] == ["语音太长（约 13 秒，上限 10 秒），请分成几段较短的语音发送。"]
    voice.settings.max_audio_seconds = 600
    voice.settings.max_audio_bytes = 10_000
    sent = voice.send((VOICE / "memo_30s.amr").read_bytes())
    assert [m.text for m in sent] == ["语音文件太大（17 KB，上限 10 KB），请分成几段较短的语音发送。"]
    assert voice.count(TranscriptionJob) == 0


def test_missing_file_and_undownloaded_platform_media(voice):
    assert [m.text for m in voice.send("ab/" + "0" * 64 + ".amr")] == [NO_FILE]
    assert [m.text for m in voice.send("../../etc/passwd")] == [NO_FILE]
    assert [m.text for m in voice.send("wecom:MEDIA123")] == [NOT_FETCHED]
    with Session(voice.engine) as s:
        row = s.exec(select(InboundMessage).where(col(InboundMessage.media_ref) == "wecom:MEDIA123")).one()
        assert row.status == InboxStatus.DEFERRED  # kept for a later download


def test_silence_gets_a_hint_not_an_empty_record(voice):
    voice.asr.text = "  "
    voice.send(amr_head(3.0))
    assert [m.text for m in voice.transcribe()] == [SILENT]
    assert voice.count(FollowUp) == 0


def test_dingtalk_recognition_disagreeing_on_numbers_and_dates_asks_to_check(settings, engine, clock):
    v = Voice(settings, engine, clock, platform="dingtalk")
    with session_scope(engine) as s:
        s.get(Member, v.org.rep_a.id).dingtalk_userid = "dt-rep-a"
    theirs = "今天拜访了华新物流的张伟张总，他们对运输管理系统很感兴趣，预算大概50万，这周五上午再给他打电话。"
    v.send(amr_head(3.0), sender="dt-rep-a", recognition=theirs)
    assert v.job().recognition == theirs
    card = v.transcribe()[-1]
    assert card.field("金额") == "15万元"  # our transcript is used; the rep checks the flagged words
    warnings = [n for n in card.card.notes if n.startswith("⚠")]
    assert any("金额" in w and "15万" in w and "钉钉识别为「50万」" in w for w in warnings)
    assert any("这周四上午" in w and "这周五上午" in w for w in warnings)


def test_warnings_survive_the_question_for_the_customer(settings, engine, clock):
    v = Voice(settings, engine, clock, platform="dingtalk")
    with session_scope(engine) as s:
        s.get(Member, v.org.rep_a.id).dingtalk_userid = "dt-rep-a"
    v.asr.text = "对方说预算大概15万，要一份正式报价。"
    v.send(amr_head(3.0), sender="dt-rep-a", recognition="对方说预算大概50万，要一份正式报价。")
    assert "跟哪位客户" in v.transcribe()[-1].text
    card = v.chat.reply_to("dt-rep-a", "张伟")
    assert any("50万" in n for n in card.card.notes)


def test_job_creation_is_idempotent_per_memo(voice):
    voice.send(amr_head(3.0))
    job = voice.job()
    with session_scope(voice.engine) as s:
        again = create_transcription_job(session=s, inbound_id=job.inbound_id, member_id=job.member_id,
                                         media_ref="other", at=T0)
        assert again.id == job.id
    assert voice.count(TranscriptionJob) == 1


async def test_async_runner_renews_its_lease_while_transcribing(settings, engine):
    settings.transcription_lease_seconds = 5  # heartbeat every ~1.7 s
    settings.worker_poll_seconds = 0.1
    runtime = build_runtime(settings, engine=engine, clock=system_clock)  # real time: the lease heartbeat
    make_org(engine)
    driver = ChatDriver(runtime)
    asr = FakeAsr()
    claims = []

    def slow(path: Path) -> str:
        with Session(engine) as s:
            claims.append(s.exec(select(TranscriptionJob)).one().claimed_at)
        time.sleep(2.5)  # blocks a pool thread, never the event loop
        with Session(engine) as s:
            claims.append(s.exec(select(TranscriptionJob)).one().claimed_at)
        return asr(path)

    runner = TranscriptionRunner(engine, settings, clock=system_clock, on_transcript=on_transcript, transcribe=slow)
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.to_thread(driver.send, "rep-a", "", kind="voice",
                                media_ref=store_media(amr_head(3.0), settings.media_dir, "amr"))
        runner.nudge()
        loop_ticks = 0
        for _ in range(100):
            if runner.processed:
                break
            await asyncio.sleep(0.1)
            loop_ticks += 1
        assert runner.processed == 1
        assert loop_ticks >= 20  # the loop kept running while the memo was transcribed
    finally:
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=10)
    assert task in done, "the runner did not stop when cancelled"
    assert claims[1] > claims[0]  # the heartbeat renewed the lease
    assert driver.new_messages()[-1].card is not None


def test_a_killed_runner_process_is_resumed_by_the_next(tmp_path, sqlite_url, clock):
    """SIGKILL a real process mid-transcription; a fresh runner finishes the memo after the lease."""
    settings = Settings(database_url=sqlite_url, data_dir=tmp_path / "var")
    engine = make_engine(sqlite_url)
    migrate(sqlite_url)
    start = system_clock()  # parent and child share this instant: the lease is judged on one clock
    v = Voice(settings, engine, lambda: start)
    v.send(amr_head(3.0))
    marker = tmp_path / "transcribing"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from datetime import datetime
        from bot.config import Settings
        from bot.handlers.voice_memo import on_transcript
        from bot.transcribe.runner import TranscriptionRunner
        from store.db import make_engine

        def stuck(path):
            Path({str(marker)!r}).touch()
            time.sleep(120)

        settings = Settings(database_url={sqlite_url!r}, data_dir=Path({str(tmp_path / "var")!r}))
        engine = make_engine(settings.database_url.get_secret_value())
        TranscriptionRunner(engine, settings, clock=lambda: datetime.fromisoformat({start.isoformat()!r}),
                            on_transcript=on_transcript, transcribe=stuck).run_once()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parent.parent)
    try:
        for _ in range(300):
            if marker.exists():
                break
            time.sleep(0.05)
        assert marker.exists(), "the child never started transcribing"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    job = v.job()
    assert job.status == TranscriptionStatus.PROCESSING and job.attempts == 1
    later = start + timedelta(seconds=settings.transcription_lease_seconds + 1)
    with Session(engine) as s:
        assert claim_next_transcription(session=s, lease=timedelta(seconds=60), now=start) is None
    restarted = TranscriptionRunner(engine, settings, clock=lambda: later, on_transcript=on_transcript,
                                    transcribe=FakeAsr())
    assert restarted.run_once() is True
    assert v.job().status == TranscriptionStatus.DONE and v.job().attempts == 2
    assert v.chat.new_messages()[-1].card is not None
    engine.dispose()


async def test_runner_stops_when_cancelled_just_as_it_is_woken(settings, engine):
    # Python 3.11's wait_for swallows a cancel that lands as the awaited event fires; the runner
    # must not inherit that (the app's shutdown would hang).
    settings.worker_poll_seconds = 5
    runner = TranscriptionRunner(engine, settings, clock=system_clock, on_transcript=on_transcript,
                                 transcribe=FakeAsr())
    task = asyncio.create_task(runner.run())
    await asyncio.sleep(0.3)  # now waiting for a wake-up
    runner.nudge()
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert task in done
