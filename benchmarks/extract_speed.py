"""How extraction time grows with input size, and what degenerate input costs, as ratios within one run.

Usage: python benchmarks/extract_speed.py [--repeat 5]

A pasted chat repeated to 1 KB, 10 KB and 100 KB (the baseline is the 10 KB run: 100 KB should cost
about 10x, a quadratic path would show about 100x), then 100 KB of degenerate input (one character
repeated, binary junk) against the 100 KB chat. Each figure is the median of --repeat runs after one
warm-up call (the first call loads jionlp and OpenCC). Ratios, not seconds, are what to compare across
machines. Always exits 0 (a report, not a gate); it replaces the wall-clock asserts that used to sit in
tests/test_extract_robustness.py.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # allow running from a checkout without installing the package

from bot.extract import extract  # noqa: E402

REF = datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CHAT = (
    "许志强 10/12 10:15\n你们的报价43万太贵了，东软便宜不少，周四上午过来聊，电话13812345678\n"
    "范磊 10/12 10:18\n许总，明天下午三点我给您回电话，邮箱 fan@example.com\n"
)
LINEAR_LIMIT = 20.0  # 10x the input may cost up to 20x before the scaling is called superlinear


def repeated(size: int) -> str:
    return (CHAT * (size // len(CHAT) + 1))[:size]


def seconds(text: str, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        extract(text, ref_time=REF)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    extract(CHAT, ref_time=REF)  # warm-up: dictionaries and models load once per process

    chat = {size: seconds(repeated(size), args.repeat) for size in (1_000, 10_000, 100_000)}
    junk = bytes(random.Random(7).randrange(256) for _ in range(100_000)).decode("latin-1")
    degenerate = {
        "100 KB of 啊": seconds("啊" * 100_000, args.repeat),
        "100 KB of 1": seconds("1" * 100_000, args.repeat),
        "100 KB of binary junk": seconds(junk, args.repeat),
    }

    print(f"extract(), median of {args.repeat} runs")
    for size, took in chat.items():
        print(f"  chat {size // 1000:>3} KB   {took * 1000:8.1f} ms   x{took / chat[10_000]:6.2f} of 10 KB")
    scaling = chat[100_000] / chat[10_000]
    verdict = "linear" if scaling <= LINEAR_LIMIT else "SUPERLINEAR"
    print(f"  scaling 10 KB -> 100 KB: x{scaling:.1f} for 10x the input ({verdict}; limit x{LINEAR_LIMIT:.0f})")
    for name, took in degenerate.items():
        print(f"  {name:<22} {took * 1000:8.1f} ms   x{took / chat[100_000]:6.2f} of the 100 KB chat")
    return 0


if __name__ == "__main__":
    sys.exit(main())
