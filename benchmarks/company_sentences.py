"""Score sentences with a company ranker weights file and module switches (round 15, branch `noperson15`).

Usage: python benchmarks/company_sentences.py WEIGHTS.npz [NAME=0|1 ...]

Runs extract() on the firm-only sentences of tests/test_people_round5.py that main's weights file as no company, with
the weights given (e.g. a variant's `train_company_ranker.py --write --out PATH`) and the switches of
bot/extract/company_ranker.py set the variant's way; prints the customer chosen, the company filed, and the scores of
"no company" and of the best span.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import switches  # noqa: E402
from benchmarks.train_company_ranker import SWITCHES  # noqa: E402
from bot.extract import company_ranker as co  # noqa: E402
from bot.extract import extract  # noqa: E402

REF = datetime(2026, 3, 9, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SENTENCES = (("收到安和药房连锁的邮件，要我们提供检测报告", "安和药房连锁"),
             ("带着总监拜会华府餐饮集团，聊了明年的招标", "华府餐饮集团"),
             ("路边一家叫好运来的面馆，老板想上扫码点餐", "好运来"))


def score(weights: Path, pairs: Sequence[str] = (),
          sentences: Sequence[tuple[str, str]] = SENTENCES) -> list[dict[str, object]]:
    """Each sentence's customer, company, and the scores of "no company" and the best span, with these weights."""
    switches.apply_switches(co, SWITCHES, pairs)
    co.SHIPPED = co.ShippedWeights(weights, co.read_weights, name="company_ranker")
    w = co.weights()
    if w is None:
        raise SystemExit(f"no usable weights in {weights}")
    seen: list[tuple[list[str], list[npt.NDArray[np.int64]]]] = []
    real = co.featurize

    def spy(*args: str | None) -> tuple[list[str], list[npt.NDArray[np.int64]]]:
        out = real(*args)  # type: ignore[arg-type]
        seen.append(out)
        return out

    co.featurize = spy  # type: ignore[assignment]
    rows: list[dict[str, object]] = []
    try:
        for text, want in sentences:
            seen.clear()
            r = extract(text, ref_time=REF)
            row: dict[str, object] = {"text": text, "want": want, "customer": r.customer_name, "company": r.company}
            if seen:
                names, feats = seen[-1]
                scores = [float(w[f].sum()) for f in feats]
                row["none"] = scores[0]
                if len(names) > 1:
                    best = 1 + int(np.argmax(scores[1:]))
                    row["best"], row["best_score"] = names[best], scores[best]
            rows.append(row)
    finally:
        co.featurize = real  # type: ignore[assignment]
    return rows


def main(argv: list[str]) -> int:
    if not argv:
        raise SystemExit(__doc__)
    for row in score(Path(argv[0]), argv[1:]):
        print(" | ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
