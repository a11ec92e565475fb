"""Real offline transcription of the committed Mandarin fixtures (AMR-NB with DTX), and one 30 s
memo from inbox row to confirmation card through the real model. The model loads once per
session (bot/transcribe/model.py caches it per process)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cn2an
import pytest
from rapidfuzz.distance import Levenshtein
from sqlmodel import Session, select

from bot.handlers.voice_memo import on_transcript
from bot.transcribe.engine import AsrOptions, transcribe_file
from bot.transcribe.model import resolve_model_dir
from bot.transcribe.runner import TranscriptionRunner
from store.models import FollowUp, TranscriptionJob
from tests.test_voice_pipeline import Voice

VOICE = Path(__file__).parent / "data" / "voice"
REFS = json.loads((VOICE / "references.json").read_text(encoding="utf-8"))
PRODUCTS = ["移动客户管理", "运输管理系统", "移动CRM"]


def cer(hypothesis: str, reference: str) -> float:
    def norm(text: str) -> str:  # digits on both sides: "十五万" and "15万" are the same words
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cn2an warns about a lone 万/百 it leaves as is
            return "".join(ch for ch in cn2an.transform(text, "cn2an") if ch.isalnum())

    return Levenshtein.distance(norm(hypothesis), norm(reference)) / len(norm(reference))


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "whisper-cache"


@pytest.fixture(scope="session")
def asr(model_cache: Path) -> AsrOptions:
    return AsrOptions(model_dir=resolve_model_dir(None, model_cache), beam_size=1)


def test_short_memo_transcribes_to_simplified_mandarin(asr):
    result = transcribe_file(VOICE / "memo_short.amr", asr, products=PRODUCTS)
    assert result.audio_seconds == pytest.approx(12.98, abs=0.05)
    assert cer(result.text, REFS["memo_short"]) < 0.25, result.text
    # The product name is left out: what the base model hears for it differs between machines (on the
    # 2026-11-27 machine "预说管理系统", on round 17's commit too, two syllables off, which the one-syllable product
    # correction rightly leaves alone; the cause, CPU or a library below faster-whisper, is not pinned down). The
    # correction has its own test below.
    for words in ("华信物流", "张伟", "15万", "下周三上午", "打电话"):
        assert words in result.text, result.text
    assert not set("們對與這來說總偉華") & set(result.text)  # Simplified, not Traditional


def test_product_correction_fixes_what_the_model_mishears(asr):
    raw = transcribe_file(VOICE / "memo_30s.amr", asr)  # no dictionary
    fixed = transcribe_file(VOICE / "memo_30s.amr", asr, products=PRODUCTS)
    assert "移动客户管理" in fixed.text and "运输管理系统" in fixed.text
    assert cer(fixed.text, REFS["memo_30s"]) <= cer(raw.text, REFS["memo_30s"]) < 0.25
    # Speed (RTF ~0.1 here) is measured by benchmarks/asr.py, not asserted on a shared machine's clock.


def test_30s_memo_becomes_a_card_end_to_end(settings, engine, clock, model_cache):
    settings.whisper_cache_dir = model_cache
    settings.products = PRODUCTS
    v = Voice(settings, engine, clock)
    v.runner = TranscriptionRunner(engine, settings, clock=clock, on_transcript=on_transcript)  # the real ASR
    ack = v.send((VOICE / "memo_30s.amr").read_bytes())
    (card,) = v.transcribe()
    heard = next(n for n in card.card.notes if n.startswith("🎙"))
    assert ack[0].text.startswith("正在识别语音（约 34 秒）")
    assert "恒达制造" in heard
    assert card.card is not None and "恒达制造" in card.field("客户")
    assert card.field("金额") == "30万元"
    # The quote request and the demo visit agreed for next Friday. The learned layer (round 5) drops the
    # price objection and the demo request this memo also names: a known miss, pinned in
    # tests/test_learned_layer.py::test_a_long_memo_keeps_every_tag_it_names.
    assert {"要报价", "预约拜访"} <= set(card.selected_tags())
    with Session(engine) as s:
        f = s.exec(select(FollowUp)).one()
        assert f.kind == "voice" and f.transcript and "恒达制造" in f.transcript
        assert s.exec(select(TranscriptionJob)).one().transcript == f.transcript
    # How long it takes (about 5 s here, target < 10 s) is benchmarks/asr.py's end-to-end figure.


def test_noise_gives_no_text_and_no_runaway(asr, tmp_path):
    import wave

    import numpy as np

    noise = (np.random.default_rng(1).standard_normal(16000 * 30) * 0.3).clip(-1, 1)
    path = tmp_path / "pocket.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((noise * 32767).astype("<i2").tobytes())
    result = transcribe_file(path, asr)
    assert result.text == "" and result.raw == ""  # no hallucinated memo
    # No runaway, as a condition rather than a stopwatch: VAD hands the decoder a sliver of the 30 s
    # (0.8 s of this seeded noise), and what it decodes is bounded by max_new_tokens and the
    # wall-clock budget (tested below).
    assert result.audio_seconds == pytest.approx(30) and result.speech_seconds < 0.05 * result.audio_seconds


def test_wall_clock_budget_stops_a_slow_decode(asr):
    from dataclasses import replace

    from bot.transcribe.engine import TranscriptionTimeout

    with pytest.raises(TranscriptionTimeout):
        transcribe_file(VOICE / "memo_30s.amr", replace(asr, budget_seconds=0.0, budget_factor=0.0))
