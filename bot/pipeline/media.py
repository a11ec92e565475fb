"""Content-addressed media store: audio is on disk (path in the DB) before anything else happens."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from bot.models import InboundKind

log = structlog.get_logger("genjin.media")

MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"#!AMR\n", "amr"),
    (b"#!SILK_V3", "silk"),
    (b"\x02#!SILK_V3", "silk"),
    (b"RIFF", "wav"),
    (b"OggS", "ogg"),
    (b"ID3", "mp3"),
    (b"\xff\xfb", "mp3"),
    (b"\xff\xf3", "mp3"),
    (b"fLaC", "flac"),
    (b"\x1a\x45\xdf\xa3", "webm"),  # Matroska/WebM (browser recordings, Opus inside)
)


IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG", "png"), (b"GIF8", "gif"))


def sniff_audio(data: bytes) -> str | None:
    """Format by magic bytes, never by file name."""
    for magic, ext in MAGIC:
        if data.startswith(magic):
            return ext
    if data[4:8] == b"ftyp":
        return "m4a"
    return None


def store_media(data: bytes, media_dir: Path, ext: str) -> str:
    """Write once under media_dir/<sha[:2]>/<sha>.<ext>; returns the path relative to media_dir."""
    digest = hashlib.sha256(data).hexdigest()
    rel = Path(digest[:2]) / f"{digest}.{ext}"
    path = media_dir / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: a crash never leaves a half-written file under the final name
    return str(rel)


def media_extension(data: bytes, kind: InboundKind, file_ext: str | None = None) -> str:
    """The stored file's extension. Audio of a format we do not recognise is kept all the same (as
    .bin: the transcriber lets FFmpeg probe it), so a download is never thrown away."""
    if kind == InboundKind.VOICE:
        return sniff_audio(data) or "bin"
    if kind == InboundKind.IMAGE:
        return next((ext for magic, ext in IMAGE_MAGIC if data.startswith(magic)), "img")
    return file_ext or "bin"


async def fetch_before_ack(download: Callable[[], Awaitable[bytes]], *, kind: InboundKind, media_dir: Path,
                           pending_ref: str, budget: float, retryable: tuple[type[BaseException], ...],
                           msg_id: str, file_ext: str | None = None) -> str:
    """The pre-ack media fetch every platform adapter shares: download while the platform's media id
    or download code is valid, store it, and return the stored path. Past `budget` seconds (the ack
    must not miss the platform's deadline) or on a `retryable` error, return `pending_ref`
    (<platform>:<id>) instead: the row is stored anyway and bot/pipeline/media_retry.py fetches later."""
    deferrable: tuple[type[BaseException], ...] = (*retryable, TimeoutError)
    try:
        data = await asyncio.wait_for(download(), timeout=budget)
    except deferrable as exc:
        log.warning("media_fetch_deferred", msg_id=msg_id, error=type(exc).__name__)
        return pending_ref
    ext = media_extension(data, kind, file_ext)
    if ext == "bin" and kind == InboundKind.VOICE:
        log.warning("voice_unknown_format", msg_id=msg_id, size=len(data))
    return await asyncio.to_thread(store_media, data, media_dir, ext)
