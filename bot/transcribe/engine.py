"""One memo file -> Simplified transcript, on the calling (worker) thread.

Decoding options are fixed for safety, not speed: language zh (no detection pass), VAD drops
silence (DTX pauses, pocket noise), temperature 0 with no fallback, each window's output bounded
by max_new_tokens, and a wall-clock budget, so garbage audio cannot loop for minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.transcribe.audio import SAMPLE_RATE, AudioError, load_audio
from bot.transcribe.model import get_model
from bot.transcribe.text import postprocess

# A Simplified, on-topic prompt steers Whisper to Simplified characters and Chinese punctuation.
INITIAL_PROMPT = "以下是普通话的销售拜访记录，使用简体中文。"
# Per 30 s window. Whisper spends ~1.1 tokens per Chinese character and a fast speaker says ~7
# characters a second (~230 tokens a window); a repetition loop would run to the 448 limit.
MAX_NEW_TOKENS = 280
# Whisper's decoder sees at most 448 tokens: the prompt (sot_prev + prompt text, the text cut to 223
# tokens, + sot, language, task) and the window's output share them, so a long biasing prompt
# lowers the output cap. The prompt builder keeps at least MIN_NEW_TOKENS of room.
WHISPER_CONTEXT = 448
PROMPT_OVERHEAD = 4  # sot_prev, sot, language, task
MIN_NEW_TOKENS = 220
MAX_COMPRESSION_RATIO = 2.4  # Whisper's default threshold for a failed (repetitive) window


class TranscriptionTimeout(RuntimeError):
    """The decoder ran past its wall-clock budget (counts as a failed attempt)."""


@dataclass(frozen=True)
class AsrOptions:
    model_dir: Path
    beam_size: int = 1
    cpu_threads: int = 1
    workers: int = 1
    max_audio_seconds: float = 600.0
    # budget = fixed + factor * audio seconds; generous against a normal RTF of about 0.1
    budget_seconds: float = 60.0
    budget_factor: float = 1.5


@dataclass(frozen=True)
class Transcript:
    text: str  # post-processed: Simplified, corrected terms
    raw: str  # what the model wrote
    audio_seconds: float
    elapsed_seconds: float
    speech_seconds: float  # what VAD kept: the decoder never sees the rest (silence, pocket noise)


def transcribe_file(path: Path, options: AsrOptions, products: Sequence[str] = (),
                    keywords: Sequence[str] = (), prompt: str | None = None) -> Transcript:
    """Blocking; run it in a worker thread. Raises AudioError (corrupt) or TranscriptionTimeout.

    `prompt` replaces INITIAL_PROMPT: a per-rep biasing prompt (bot/understanding/prompt.py) that
    starts with it and then names the customers and products this memo most likely mentions.
    """
    started = time.perf_counter()
    samples = load_audio(path, max_seconds=options.max_audio_seconds)
    audio_seconds = samples.size / SAMPLE_RATE
    model = get_model(options.model_dir, cpu_threads=options.cpu_threads, workers=options.workers)
    prompt = prompt or INITIAL_PROMPT
    prompt_tokens = min(223, prompt_token_counter(options.model_dir)(prompt))
    max_new_tokens = min(MAX_NEW_TOKENS, WHISPER_CONTEXT - PROMPT_OVERHEAD - prompt_tokens)
    segments, info = model.transcribe(
        samples,
        language="zh",
        beam_size=options.beam_size,
        temperature=0.0,
        initial_prompt=prompt,
        condition_on_previous_text=False,  # one bad window cannot seed a repetition loop in the next
        vad_filter=True,
        max_new_tokens=max_new_tokens,
    )
    deadline = started + options.budget_seconds + options.budget_factor * audio_seconds
    parts: list[str] = []
    for segment in segments:  # lazy: decoding happens while iterating
        # Whisper's own hallucination signal: a loop ("证证证证…") compresses far better than speech.
        # With temperature 0 and no fallback the decoder keeps such a window, so we drop it here.
        if segment.compression_ratio <= MAX_COMPRESSION_RATIO:
            parts.append(segment.text.strip())
        if time.perf_counter() > deadline:
            raise TranscriptionTimeout(f"over budget after {audio_seconds:.0f}s of audio")
    raw = " ".join(p for p in parts if p)
    return Transcript(text=postprocess(raw, products, keywords), raw=raw, audio_seconds=audio_seconds,
                      elapsed_seconds=time.perf_counter() - started, speech_seconds=info.duration_after_vad)


@lru_cache(maxsize=4)
def prompt_token_counter(model_dir: Path) -> Callable[[str], int]:
    """Counts prompt tokens with the model's own tokenizer, encoded the way faster-whisper encodes a
    prompt (a leading space, stripped), so a biasing prompt is fitted to the exact budget. Reads
    tokenizer.json only: the weights need not be loaded to build a prompt."""
    import tokenizers  # a faster-whisper dependency; only needed once a memo is transcribed

    tokenizer = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))

    def count(text: str) -> int:
        return len(tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)

    return count


__all__ = ["AsrOptions", "AudioError", "Transcript", "TranscriptionTimeout", "prompt_token_counter", "transcribe_file"]
