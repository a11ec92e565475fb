"""on_voice_memo: a stored voice memo becomes a transcription job; on_transcript turns the finished
transcript into a follow-up exactly as if the rep had typed it.

The inbox transaction only checks the file and writes the job row (milliseconds); the seconds of
transcription run in bot/transcribe/runner.py, which calls `on_transcript` (given to it by bot/app.py)
in its own transaction.
The audio file is never deleted here, whatever happens.
"""

from __future__ import annotations

from bot.context import HandlerContext
from bot.extract import tag_rules
from bot.handlers.chat_capture import has_words
from bot.handlers.flow import awaits_postvisit_answer, capture, sent_at, tag_weights, team_exemplars
from bot.handlers.media_intake import deferred_until_fetched, done_with, size_text, stored_media_path
from bot.router import Router
from bot.transcribe.audio import AudioError, probe_audio
from bot.transcribe.crosscheck import disagreements
from bot.transcribe.runner import UNREADABLE
from bot.understanding.book import load_book
from bot.understanding.memo import understand_memo
from store.models import TranscriptionJob
from store.transcriptions import create_transcription_job

router = Router("voice_memo")

NO_FILE = "没有收到语音文件，请重新发送。"
NOT_FETCHED = "这条语音没能从平台取到（可能是网络问题），请重新发送一次。"
TRANSCRIBING = "正在识别语音（约 {seconds} 秒）…识别完会发确认卡片给你。"
SILENT = "没有听清这段语音（可能是静音或杂音）。原始录音已保存；请靠近话筒重新录一段，或把要点用文字发给我。"
NOTHING_FOUND = ("语音内容：{text}\n没有从中听到客户、标签、金额或时间。可以重新录一段，说清客户姓名和要点，"
                 "或直接用文字发给我。")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} 分钟" if seconds >= 60 else f"{seconds:.0f} 秒"


@router.on(lambda ctx: ctx.inbound.kind == "voice")
def on_voice_memo(ctx: HandlerContext) -> None:
    media_ref = ctx.inbound.media_ref
    if not media_ref:
        ctx.reply(NO_FILE)
        return
    settings = ctx.settings
    if deferred_until_fetched(ctx, media_ref, NOT_FETCHED):
        return
    try:
        path = stored_media_path(settings.media_dir, media_ref)
        size = path.stat().st_size
    except OSError:
        done_with(ctx, "media file missing")
        ctx.reply(NO_FILE)
        return
    if size > settings.max_audio_bytes:
        done_with(ctx, f"audio too large: {size} bytes")
        ctx.reply(f"语音文件太大（{size_text(size)}，上限 {size_text(settings.max_audio_bytes)}），"
                  "请分成几段较短的语音发送。")
        return
    try:
        info = probe_audio(path)
    except AudioError as exc:
        done_with(ctx, f"unreadable audio: {exc.reason}")
        ctx.reply(UNREADABLE)
        return
    if info.seconds > settings.max_audio_seconds:
        done_with(ctx, f"audio too long: {info.seconds:.0f}s")
        ctx.reply(f"语音太长（约 {_minutes(info.seconds)}，上限 {_minutes(settings.max_audio_seconds)}），"
                  "请分成几段较短的语音发送。")
        return
    create_transcription_job(
        session=ctx.session, inbound_id=ctx.inbound.id or 0, member_id=ctx.member.id or 0, media_ref=media_ref,
        audio_format=info.format, audio_seconds=info.seconds,
        # A voice row's text is the platform's own recognition (DingTalk): a draft and a cross-check.
        recognition=(ctx.inbound.text or "").strip() or None, at=ctx.now,
    )
    if info.seconds >= settings.voice_ack_seconds:
        ctx.reply(TRANSCRIBING.format(seconds=max(1, round(info.seconds))))


def on_transcript(ctx: HandlerContext, job: TranscriptionJob, transcript: str) -> None:
    """Runs in the transcription runner's transaction, with ctx.inbound = the memo's inbox row."""
    text = transcript.strip()
    if not has_words(text):
        ctx.reply(SILENT)
        return
    settings = ctx.settings
    book = load_book(session=ctx.session, actor=ctx.member, now=ctx.now, tz=settings.tz)
    heard = understand_memo(text, book=book, ref_time=sent_at(ctx), tz=settings.tz,
                            tag_rules=tag_rules(settings.tags_file), products=settings.products,
                            rep_names=[ctx.member.display_name], tag_weights=tag_weights(ctx),
                            recognition=job.recognition, platform=ctx.inbound.platform,
                            team_exemplars=team_exemplars(ctx), learned=settings.learned_layer)
    if heard.extraction.is_empty() and not awaits_postvisit_answer(ctx):
        ctx.reply(NOTHING_FOUND.format(text=heard.text))
        return
    warnings = disagreements(heard.text, job.recognition, ref_time=sent_at(ctx), platform=ctx.inbound.platform)
    # The transcript, the words corrected against the rep's book and the dates heard ride on the card
    # (FollowUp.understanding), next to the fields they produced; the words as heard stay in `transcript`.
    capture(ctx, heard.extraction, kind="voice", text=heard.text, transcript=text, warnings=warnings,
            understanding=heard.record())
