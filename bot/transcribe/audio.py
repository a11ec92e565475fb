"""Audio in: any supported memo format -> 16 kHz mono float32 samples for Whisper.

The format comes from magic bytes (bot/pipeline/media.py `sniff_audio`), never from a file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from bot.pipeline.media import sniff_audio

SAMPLE_RATE = 16_000  # what Whisper expects

AMR_MAGIC = b"#!AMR\n"
# Payload bytes after the ToC byte per AMR-NB frame type (3GPP TS 26.101 table 1a, RFC 4867 §5.3):
# 0-7 speech modes, 8 = SID (DTX comfort noise), 15 = NO_DATA; 9-14 are not AMR-NB frames.
AMR_FRAME_BYTES: dict[int, int] = {0: 12, 1: 13, 2: 15, 3: 17, 4: 19, 5: 20, 6: 26, 7: 31, 8: 5, 15: 0}
AMR_FRAME_SECONDS = 0.02
SILK_RATE = 24_000  # the SILK decoder's output rate (WeChat SILK voice is 24 kHz)


class AudioError(Exception):
    """Audio that cannot be decoded: unknown format or corrupt data (retrying will not help)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AudioInfo:
    format: str
    seconds: float  # best cheap estimate, before decoding


def _format_of(path: Path, data: bytes) -> str:
    """Our magic bytes first (they pick our own AMR/SILK decoders); else FFmpeg's content probe, which
    also goes by the bytes (WebM, raw AAC, MP3 without ID3...). An adapter that could not name the
    format stores the audio as .bin and leaves this to us."""
    fmt = sniff_audio(data)
    if fmt is not None:
        return fmt
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if container.streams.audio:
                name = str(container.format.name).split(",")[0]
                return "amr-wb" if name == "amr" else name  # AMR-NB has our magic; this is wide-band
    except av.FFmpegError:
        pass
    raise AudioError("unknown_format")


def probe_audio(path: Path) -> AudioInfo:
    """Format and duration without decoding the samples (cheap enough for the inbox transaction)."""
    data = path.read_bytes()
    fmt = _format_of(path, data)
    if fmt == "amr":
        return AudioInfo(fmt, len(_amr_frames(data)) * AMR_FRAME_SECONDS)
    if fmt == "silk":
        # SILK carries no header duration: each 20 ms frame is a 2-byte length + payload.
        return AudioInfo(fmt, _silk_frame_count(data) * 0.02)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError("no_audio_stream")
            seconds = (container.duration or 0) / av.time_base
    except av.FFmpegError as exc:
        raise AudioError(f"unreadable: {exc}") from None
    return AudioInfo(fmt, float(seconds))


def load_audio(path: Path, max_seconds: float | None = None) -> np.ndarray:
    """Decode to 16 kHz mono float32. Raises AudioError for corrupt or unsupported audio."""
    data = path.read_bytes()
    fmt = _format_of(path, data)
    if fmt == "amr":
        samples = _decode_amr(data)
    elif fmt == "silk":
        samples = _decode_silk(data)
    else:
        samples = _decode_container(path)
    if samples.size == 0:
        raise AudioError("no_samples")
    if max_seconds is not None:
        # A header can lie about duration; the decoded length is the truth.
        samples = samples[: int(max_seconds * SAMPLE_RATE)]
    return samples


def _amr_frames(data: bytes) -> list[bytes]:
    """Split AMR-NB storage format (RFC 4867 §5) into ToC+payload frames."""
    if not data.startswith(AMR_MAGIC):
        raise AudioError("not_amr_nb")  # "#!AMR-WB\n" and multi-channel AMR are not WeCom voice
    frames: list[bytes] = []
    pos = len(AMR_MAGIC)
    while pos < len(data):
        frame_type = (data[pos] >> 3) & 0x0F
        size = AMR_FRAME_BYTES.get(frame_type)
        if size is None:
            raise AudioError(f"corrupt_amr_frame_type_{frame_type}_at_{pos}")
        if pos + 1 + size > len(data):
            break  # a truncated last frame (upload cut short): keep what is whole
        frames.append(data[pos : pos + 1 + size])
        pos += 1 + size
    if not frames:
        raise AudioError("empty_amr")
    return frames


def _decode_amr(data: bytes) -> np.ndarray:
    # FFmpeg's native amrnb decoder (used by faster_whisper.decode_audio) fails on DTX frames
    # (SID/NO_DATA: "patches welcome"); opencore-amr, bundled in PyAV's wheels, decodes them.
    codec = av.CodecContext.create("libopencore_amrnb", "r")
    codec.sample_rate = 8000
    codec.layout = "mono"
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    try:
        for frame_bytes in _amr_frames(data):
            for frame in codec.decode(av.Packet(frame_bytes)):
                chunks.extend(_resampled(resampler, frame))
        for frame in codec.decode(None):
            chunks.extend(_resampled(resampler, frame))
        chunks.extend(_resampled(resampler, None))
    except av.FFmpegError as exc:
        raise AudioError(f"amr_decode_failed: {exc}") from None
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def _silk_frame_count(data: bytes) -> int:
    pos = 10 if data[:1] == b"\x02" else 9  # Tencent's variant prefixes one 0x02 byte
    count = 0
    while pos + 2 <= len(data):
        size = int.from_bytes(data[pos : pos + 2], "little")
        if size == 0xFFFF or size == 0:  # end marker of the Skype SDK's file format
            break
        pos += 2 + size
        count += 1
    return count


def _decode_silk(data: bytes) -> np.ndarray:
    import pysilk  # pysilk-mod: only needed for the rare SILK memo, so imported on demand

    if data.startswith(b"#!SILK_V3"):
        # pysilk-mod's format check only accepts the Tencent variant (0x02 prefix), which its C
        # decoder expects anyway; plain Skype SILK gets the prefix.
        data = b"\x02" + data
    try:
        pcm = pysilk.decode(data, sample_rate=SILK_RATE)
    except Exception as exc:  # the C decoder reports corrupt input with assorted exception types
        raise AudioError(f"silk_decode_failed: {exc}") from None
    if not pcm:
        raise AudioError("empty_silk")
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = SILK_RATE
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks = [*_resampled(resampler, frame), *_resampled(resampler, None)]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def _decode_container(path: Path) -> np.ndarray:
    """WAV, MP3, OGG/Opus, M4A, FLAC through PyAV's demuxers."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError("no_audio_stream")
            for frame in container.decode(audio=0):
                chunks.extend(_resampled(resampler, frame))
            chunks.extend(_resampled(resampler, None))
    except av.FFmpegError as exc:
        raise AudioError(f"decode_failed: {exc}") from None
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def _resampled(resampler: av.AudioResampler, frame: av.AudioFrame | None) -> list[np.ndarray]:
    return [out.to_ndarray().reshape(-1).astype(np.float32, copy=False) for out in resampler.resample(frame)]
