"""Content-addressed media store: audio is on disk (path in the DB) before anything else happens."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

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
