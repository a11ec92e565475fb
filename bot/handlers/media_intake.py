"""The checks a stored media file (voice memo, image, PDF) goes through in the inbox transaction before
its slow job is queued: a platform media id not downloaded yet is deferred, the path stays inside the
media store, and a refused file is finished with its reason kept. Shared by voice_memo.py and
evidence.py; the limits and the replies stay theirs.
"""

from __future__ import annotations

from pathlib import Path

from bot.context import HandlerContext
from store.models import InboxStatus


def size_text(n: int) -> str:
    """A file size as a person reads it (上限 messages)."""
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def stored_media_path(media_dir: Path, media_ref: str) -> Path:
    """The file behind a media_ref; FileNotFoundError for a ref that points outside the media store."""
    path = (media_dir / media_ref).resolve()
    if not path.is_relative_to(media_dir.resolve()):  # no "../" out of the media store
        raise FileNotFoundError(media_ref)
    return path


def done_with(ctx: HandlerContext, error: str) -> None:
    """Done, with the reason kept on the row (the worker's own finish would clear it)."""
    ctx.inbound.status = InboxStatus.DONE
    ctx.inbound.error = error
    ctx.inbound.processed_at = ctx.now
    ctx.session.add(ctx.inbound)


def deferred_until_fetched(ctx: HandlerContext, media_ref: str, reply: str) -> bool:
    """True (and the row deferred, the rep told) when media_ref is a platform media id (wecom:<MediaId>)
    the adapter could not download before acknowledging: bot/pipeline/media_retry.py fetches it later
    and puts the row back in the queue."""
    if ":" not in media_ref:
        return False
    ctx.inbound.status = InboxStatus.DEFERRED
    ctx.inbound.error = f"media not downloaded: {media_ref}"
    ctx.session.add(ctx.inbound)
    ctx.reply(reply)
    return True
