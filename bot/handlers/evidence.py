"""on_image_evidence: a photo (signed contract, meeting minutes, whiteboard, chat screenshot) or a PDF
becomes an OCR job; on_ocr_text feeds the text read to the same understanding as a pasted chat.

The inbox transaction only checks the file (size, kind, page count: headers, milliseconds) and writes
the job row; the seconds of OCR run in bot/ocr/runner.py, which calls `on_ocr_text` (given to it by
bot/app.py) in its own transaction. The file is never deleted here.

What was read is a record like any other: its text is the follow-up's text, so the card, 查, the
timeline and the stage evidence rules (store/stages.py: "盖章" for 已成交, "演示" for 方案演示) read it
exactly as they read a pasted chat. Text with nothing to extract is filed on the customer's timeline.
"""

from __future__ import annotations

from bot.context import HandlerContext
from bot.extract import tag_rules
from bot.format import mask_contacts
from bot.handlers.chat_capture import has_words
from bot.handlers.flow import capture, sent_at, tag_weights, team_exemplars
from bot.handlers.media_intake import deferred_until_fetched, done_with, size_text, stored_media_path
from bot.handlers.other import file_attachment, on_attachment
from bot.ocr.engine import OcrUnreadable, probe
from bot.ocr.runner import UNREADABLE
from bot.ocr.text import tidy_lines
from bot.router import Router
from bot.understanding.text import understand_text
from store.models import OcrJob
from store.ocr_jobs import create_ocr_job

router = Router("evidence")

NOT_FETCHED = "这张图片/这个文件没能从平台取到（可能是网络问题），请重新发送一次。"
READING = "正在识别文件文字（{pages} 页）…识别完会发确认卡片给你。"
FIRST_PAGES = "这个 PDF 共 {total} 页，只识别前 {pages} 页（上限）。如需其他页，请截图发送。"
NO_TEXT = "没有在{what}中识别到文字。"


def _is_media(ctx: HandlerContext) -> bool:
    return ctx.inbound.kind in ("image", "file") and bool(ctx.inbound.media_ref)


@router.on(_is_media)
def on_image_evidence(ctx: HandlerContext) -> None:
    media_ref = ctx.inbound.media_ref or ""
    settings = ctx.settings
    if deferred_until_fetched(ctx, media_ref, NOT_FETCHED):
        return
    try:
        path = stored_media_path(settings.media_dir, media_ref)
        size = path.stat().st_size
    except OSError:  # not in the media store (an old row): filed by reference as before, nothing to read
        on_attachment(ctx)
        return
    limits = settings.ocr
    if size > limits.max_bytes:
        done_with(ctx, f"file too large: {size} bytes")
        ctx.reply(f"文件太大（{size_text(size)}，上限 {size_text(limits.max_bytes)}），无法识别。"
                  "请压缩或截取需要的页面后再发送。")
        return
    try:
        info = probe(path, max_pixels=limits.max_pixels)
    except OcrUnreadable as exc:
        done_with(ctx, f"unreadable: {exc.reason}")
        ctx.reply(UNREADABLE)
        return
    if info is None:  # a Word file, a zip ...: filed as it is, nothing to read
        on_attachment(ctx)
        return
    pages = min(info.pages_total, limits.max_pdf_pages)
    create_ocr_job(session=ctx.session, inbound_id=ctx.inbound.id or 0, member_id=ctx.member.id or 0,
                   media_ref=media_ref, media_kind=info.kind, pages=pages, pages_total=info.pages_total, at=ctx.now)
    if info.pages_total > pages:
        ctx.reply(FIRST_PAGES.format(total=info.pages_total, pages=pages))
    elif pages >= limits.ack_pages:
        ctx.reply(READING.format(pages=pages))


def on_ocr_text(ctx: HandlerContext, job: OcrJob, text: str) -> None:
    """Runs in the OCR runner's transaction, with ctx.inbound = the image's inbox row."""
    what = "图片" if job.media_kind == "image" else "文件"
    text = tidy_lines(text)  # a chat screenshot's "名字 日期 时间" headers as a pasted chat has them
    if not has_words(text):
        ctx.reply(NO_TEXT.format(what=what))
        file_attachment(ctx, what)
        return
    ext = understand_text(text, sent_at=sent_at(ctx), tag_rules=tag_rules(ctx.settings.tags_file),
                          rep_names=[ctx.member.display_name], products=ctx.settings.products,
                          tag_weights=tag_weights(ctx), team_exemplars=team_exemplars(ctx),
                          learned=ctx.settings.learned_layer)
    if ext.is_empty():
        # Words, but no customer, tag, amount or date (a whiteboard sketch): kept on the timeline.
        first = " ".join(mask_contacts(text).split())[:40]
        file_attachment(ctx, f"{what}文字「{first}」", text=text)
        return
    capture(ctx, ext, kind="image" if job.media_kind == "image" else "pdf", text=text)
