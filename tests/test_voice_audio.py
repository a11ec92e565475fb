"""Audio in and text out of the transcriber, without the model: formats, DTX, corruption, caps,
post-processing and the cross-check against a platform's own recognition."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest

from bot.transcribe.audio import AMR_FRAME_BYTES, SAMPLE_RATE, AudioError, load_audio, probe_audio
from bot.transcribe.crosscheck import disagreements
from bot.transcribe.model import BASE_MODEL_SHA256, ModelError, ensure_base_model, resolve_model_dir
from bot.transcribe.text import correct_terms, postprocess

VOICE = Path(__file__).parent / "data" / "voice"
SHORT = VOICE / "memo_short.amr"
REF_TIME = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)  # Monday 10:00 Asia/Shanghai
PRODUCTS = ["移动CRM", "运输管理系统", "ERP", "SaaS"]


def amr_frame_types(data: bytes) -> Counter[int]:
    types: Counter[int] = Counter()
    pos = 6
    while pos < len(data):
        ft = (data[pos] >> 3) & 0x0F
        types[ft] += 1
        pos += 1 + AMR_FRAME_BYTES[ft]
    return types


def test_fixture_is_amr_nb_with_dtx_frames():
    data = SHORT.read_bytes()
    assert data.startswith(b"#!AMR\n")
    types = amr_frame_types(data)
    assert types[8] > 0 and types[15] > 0  # SID and NO_DATA: the pauses are DTX
    refs = json.loads((VOICE / "references.json").read_text(encoding="utf-8"))
    assert set(refs) == {"memo_short", "memo_30s"}


def test_ffmpeg_native_amr_decoder_fails_on_dtx_ours_does_not():
    from faster_whisper import decode_audio

    with pytest.raises(av.FFmpegError):  # why bot/transcribe/audio.py decodes AMR itself
        decode_audio(str(SHORT))
    samples = load_audio(SHORT)
    assert samples.dtype == np.float32
    assert abs(samples.size / SAMPLE_RATE - 12.98) < 0.05
    assert 0.3 < float(np.abs(samples).max()) <= 1.0  # speech, not silence


def test_probe_is_cheap_and_matches_decoded_length():
    info = probe_audio(SHORT)
    assert info.format == "amr"
    assert info.seconds == pytest.approx(12.98, abs=0.05)


def _encode(samples: np.ndarray, path: Path, fmt: str, codec: str, rate: int) -> None:
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frames = [*resampler.resample(frame), *resampler.resample(None)]
        size = stream.codec_context.frame_size or 1024
        for f in frames:
            # some encoders need fixed-size frames: re-chunk
            data = f.to_ndarray()
            for i in range(0, data.shape[1], size):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[:, i : i + size]),
                                                   format=f.format.name, layout="mono")
                chunk.sample_rate = rate
                for packet in stream.encode(chunk):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.mark.parametrize(("fmt", "codec", "rate", "name"), [
    ("wav", "pcm_s16le", 16000, "memo.wav"),
    ("mp3", "libmp3lame", 16000, "memo.mp3"),
    ("ogg", "libopus", 48000, "memo.ogg"),
    ("ipod", "aac", 16000, "memo.m4a"),
    ("webm", "libopus", 48000, "memo.webm"),
    ("aiff", "pcm_s16be", 16000, "memo.aiff"),  # no magic of ours: FFmpeg's content probe finds it
])
def test_container_formats_by_magic_bytes(tmp_path, fmt, codec, rate, name):
    samples = load_audio(SHORT)[: 3 * SAMPLE_RATE]
    path = tmp_path / name
    _encode(samples, path, fmt, codec, rate)
    disguised = tmp_path / "upload.bin"  # the name says nothing; the bytes do
    disguised.write_bytes(path.read_bytes())
    info = probe_audio(disguised)
    assert info.format == {"ipod": "m4a"}.get(fmt, fmt)
    decoded = load_audio(disguised)
    assert abs(decoded.size / SAMPLE_RATE - 3.0) < 0.15
    assert float(np.abs(decoded).max()) > 0.1


def test_silk_voice_decodes(tmp_path):
    import pysilk

    samples = load_audio(SHORT)[: 3 * SAMPLE_RATE]
    pcm24k = np.interp(np.arange(0, samples.size, 16 / 24), np.arange(samples.size), samples)
    silk = pysilk.encode((pcm24k * 32767).astype("<i2").tobytes(), 24000, sample_rate=24000)
    assert silk.startswith(b"\x02#!SILK_V3")  # Tencent's variant (WeChat/QQ) with the 0x02 prefix
    for name, data in (("tencent.silk", silk), ("skype.silk", silk[1:])):
        path = tmp_path / name
        path.write_bytes(data)
        assert probe_audio(path).format == "silk"
        assert probe_audio(path).seconds == pytest.approx(3.0, abs=0.1)
        decoded = load_audio(path)
        assert abs(decoded.size / SAMPLE_RATE - 3.0) < 0.1 and float(np.abs(decoded).max()) > 0.1


def test_corrupt_and_unknown_audio_raise_audio_error(tmp_path):
    with pytest.raises(AudioError, match="corrupt_amr_frame_type"):
        probe_audio(VOICE / "corrupt.amr")
    with pytest.raises(AudioError):
        load_audio(VOICE / "corrupt.amr")
    junk = tmp_path / "junk.amr"
    junk.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioError, match="unknown_format"):
        probe_audio(junk)
    fake_wav = tmp_path / "fake.wav"
    fake_wav.write_bytes(b"RIFF" + b"\x00" * 200)
    with pytest.raises(AudioError):
        load_audio(fake_wav)
    empty_amr = tmp_path / "empty.amr"
    empty_amr.write_bytes(b"#!AMR\n")
    with pytest.raises(AudioError):
        probe_audio(empty_amr)


def test_truncated_last_frame_is_tolerated(tmp_path):
    cut = tmp_path / "cut.amr"
    cut.write_bytes(SHORT.read_bytes()[:-3])  # an upload cut short mid-frame
    assert load_audio(cut).size > 12 * SAMPLE_RATE


def test_max_seconds_caps_decoded_samples():
    assert load_audio(SHORT, max_seconds=2).size == 2 * SAMPLE_RATE


def test_postprocess_simplified_punctuation_and_product_words():
    simplified = postprocess("剛拜訪完華信物流的張偉張總,他們很感興趣", PRODUCTS)
    assert simplified == "刚拜访完华信物流的张伟张总，他们很感兴趣"
    # homophones and a one-syllable slip in a long product name are corrected
    assert postprocess("介绍了一动crm和艺术管理系统", PRODUCTS) == "介绍了移动CRM和运输管理系统"
    assert postprocess("我们的saas方案", PRODUCTS) == "我们的SaaS方案"
    # ordinary words that merely share sounds with a short keyword stay
    assert postprocess("他们是艺术家", PRODUCTS) == "他们是艺术家"


def test_keywords_need_exact_sounds_and_correct_spellings_are_never_touched():
    keywords = ["比你们便宜", "比我们便宜", "报价单"]
    assert correct_terms("比我们便宜很多", keywords=keywords) == "比我们便宜很多"
    assert correct_terms("要一份报价但", keywords=keywords) == "要一份报价单"
    assert correct_terms("运输管理系统运输管理系统", products=PRODUCTS) == "运输管理系统运输管理系统"


def test_crosscheck_flags_numbers_and_dates_only():
    ours = "刚拜访完华信物流的张伟张总，预算大概15万。下周三上午再给他打电话。"
    theirs = "刚拜访完华新物流的张伟张总，预算大概50万。下周二上午再给他打电话。"
    warnings = disagreements(ours, theirs, ref_time=REF_TIME, platform="dingtalk")
    assert len(warnings) == 2
    assert "「15万」" in warnings[0] and "钉钉识别为「50万」" in warnings[0]
    assert "下周三上午" in warnings[1] and "下周二上午" in warnings[1]
    # the same facts in other words (Chinese numerals, spoken digits) agree
    same = disagreements("预算15万，电话13800138000，下周三", "预算十五万，电话一三八零零一三八零零零，下周三",
                         ref_time=REF_TIME)
    assert same == []
    phone = disagreements("要3台，电话13800138000", "要8台，电话13800138001", ref_time=REF_TIME)
    assert [w[:2] for w in phone] == ["电话", "数字"]
    assert disagreements(ours, None, ref_time=REF_TIME) == []
    assert disagreements(ours, "  ", ref_time=REF_TIME) == []


def test_base_model_is_joined_once_and_verified(tmp_path):
    target = ensure_base_model(tmp_path)
    model_bin = target / "model.bin"
    assert model_bin.stat().st_size == 145_217_532
    assert (target / "config.json").is_file() and (target / "tokenizer.json").is_file()
    assert BASE_MODEL_SHA256 in (target / "genjin-verified.json").read_text()
    mtime = model_bin.stat().st_mtime_ns
    assert ensure_base_model(tmp_path) == target and model_bin.stat().st_mtime_ns == mtime  # not re-joined
    # a damaged file (size/mtime no longer match the marker) is re-joined and re-verified
    with model_bin.open("r+b") as f:
        f.write(b"\x00" * 16)
    ensure_base_model(tmp_path)
    assert hashlib.sha256(model_bin.read_bytes()).hexdigest() == BASE_MODEL_SHA256


def test_configured_model_dir_must_hold_a_model(tmp_path):
    with pytest.raises(ModelError):
        resolve_model_dir(tmp_path / "nope", tmp_path)
