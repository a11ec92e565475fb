"""Train the next-contact chooser (bot/extract/contact_ranker.py) on TRAINING_POOL, and measure it.

Usage: python benchmarks/train_contact_ranker.py [--write] [--no-loao] [--authors A B ...] [--cache FILE]

For every record of the pool the extractor runs with the chooser replaced by a recorder, so the rules'
choice and everything the chooser sees are exactly what extract() would give it. A candidate is right when
its date equals the labelled next_contact; a record labelled without one teaches "none"; a record whose
labelled date no candidate holds cannot teach and is left out of training (it counts as a miss when scored,
and as a miss of the candidates' recall). The model is a conditional logit over each record's candidate
dates plus "none" (full-batch Adam, L2), deterministic: no random initialisation, no shuffling.

Prints the leave-one-author-out table (train on the other authors, score one, for each): next-contact
accuracy of the rules and of the chooser per author and their means, on all records and on the records
with two or more candidate dates, and the candidates' recall. `--write` trains on the whole pool and
writes bot/extract/contact_ranker.npz.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.conditional_logit import fit_records, print_pool_summary, write_weights  # noqa: E402
from benchmarks.corpora import TRAINING_POOL, is_trainable  # noqa: E402
from benchmarks.extraction_accuracy import load_samples  # noqa: E402
from benchmarks.pickle_cache import cached  # noqa: E402
from benchmarks.train_learned_layer import author_of  # noqa: E402
from bot.extract import contact_ranker as kr  # noqa: E402
from bot.extract import extractor  # noqa: E402
from bot.extract.when import TimeMention  # noqa: E402

Matrix = npt.NDArray[np.float64]
L2_DENSE = 1.0
L2_HASHED = 3.0
ITERS = 300


@dataclass
class Record:
    author: str
    expected: str | None
    rules: str | None  # the rules' date (ISO), as extract() gives it without the chooser
    days: list[str | None]  # candidate dates (ISO), then None for the "none" row
    dense: npt.NDArray[np.float32]
    hashed: list[list[int]]
    seconds: float  # candidates + features for this record
    id: str = ""
    # per mask kind (contact_ranker.MASK_KINDS), the candidate rows it rules out, as choose_contact applies them
    masked: dict[str, list[int]] = field(default_factory=dict)

    @property
    def target(self) -> int | None:
        """Row index of the right answer, or None when no candidate holds it."""
        return self.days.index(self.expected) if self.expected in self.days else None

    @property
    def several(self) -> bool:
        return len(self.days) >= 3  # two or more candidate dates besides "none"


def load_records(paths: tuple[Path, ...] = TRAINING_POOL) -> list[Record]:
    assert all(is_trainable(p) for p in paths)
    seen: dict[str, Any] = {}
    real = extractor.choose_contact

    def recorder(data: kr.ContactInput) -> TimeMention | None:
        seen["input"] = data
        return data.rules

    extractor.choose_contact = recorder  # type: ignore[assignment]
    records: list[Record] = []
    try:
        for path in paths:
            for sample in load_samples(path):
                extractor.extract(sample["text"], ref_time=datetime.fromisoformat(sample["ref_time"]))
                data: kr.ContactInput = seen["input"]
                start = time.perf_counter()
                cands = kr.candidates(data)
                dense, hashed = kr.featurize(data, cands)
                seconds = time.perf_counter() - start
                days: list[str | None] = [c.day.isoformat() for c in cands]
                rules = data.rules.when.date().isoformat() if data.rules else None
                records.append(Record(author_of(path, sample["id"]), sample["expect"]["next_contact"], rules,
                                      [*days, None], dense, hashed, seconds, sample["id"],
                                      kr.masked_rows(data, cands)))
    finally:
        extractor.choose_contact = real  # type: ignore[assignment]
    return records


def fit(records: list[Record]) -> tuple[Matrix, Matrix]:
    """Conditional logit: softmax over each record's rows; returns (dense weights, hashed weights)."""
    return fit_records(records, n_hashed=kr.N_HASHED, l2_dense=L2_DENSE, l2_hashed=L2_HASHED, iters=ITERS)


def predict(record: Record, wd: Matrix, wh: Matrix, masks: frozenset[str] = kr.SHIPPED_MASKS) -> str | None:
    """The chooser's day as choose_contact decides it: the model's scores with the `masks` kinds applied."""
    if len(record.days) == 1:
        return None  # no future date: nothing to choose
    weights = kr.Weights(wd.astype(np.float32), wh.astype(np.float32))
    ranked = np.asarray(kr.scores(weights, record.dense, record.hashed), dtype=np.float64)
    return record.days[int(np.argmax(kr.apply_masks(ranked, record.masked, masks)))]


def _acc(pairs: list[tuple[Record, str | None]], rules: bool) -> float:
    if not pairs:
        return float("nan")
    return sum((r.rules if rules else p) == r.expected for r, p in pairs) / len(pairs)


# The mask sets the leave-one-author-out table compares (round 16): none, the refused days alone (shipped through
# round 15), and refused plus moved-from days (shipped from round 16). The table itself shows SHIPPED_MASKS.
MASK_VARIANTS: dict[str, frozenset[str]] = {
    "none": frozenset(), "refused": frozenset({"refused"}), "refused+moved": frozenset({"refused", "moved"}),
}


def loao(records: list[Record], authors: list[str] | None = None) -> None:
    every = sorted({r.author for r in records}, key=lambda a: (len(a), a))
    held = authors or every
    print("| author | n | rules | chooser | n (>=2 dates) | rules | chooser | candidates' recall |")
    print("|---|---|---|---|---|---|---|---|")
    cols: dict[str, list[float]] = defaultdict(list)
    lost = won = 0
    variant: dict[str, list[float]] = defaultdict(list)  # per author, in `held` order
    for author in held:
        test = [r for r in records if r.author == author]
        wd, wh = fit([r for r in records if r.author != author])
        pairs = [(r, predict(r, wd, wh)) for r in test]
        for name, kinds in MASK_VARIANTS.items():
            variant[name].append(_acc([(r, predict(r, wd, wh, kinds)) for r in test], False))
        several = [(r, p) for r, p in pairs if r.several]
        row = {"rules": _acc(pairs, True), "chooser": _acc(pairs, False),
               "rules2": _acc(several, True), "chooser2": _acc(several, False),
               "recall": sum(r.target is not None for r in test) / len(test)}
        for k, v in row.items():
            if v == v:  # not NaN
                cols[k].append(v)
        lost += row["chooser"] < row["rules"]
        won += row["chooser"] > row["rules"]
        print(f"| {author} | {len(test)} | {row['rules']:.1%} | {row['chooser']:.1%} | {len(several)} | "
              f"{row['rules2']:.1%} | {row['chooser2']:.1%} | {row['recall']:.1%} |", flush=True)
    mean = {k: statistics.mean(v) for k, v in cols.items()}
    print(f"| mean of {len(held)} authors | {sum(r.author in held for r in records)} | {mean['rules']:.1%} | "
          f"{mean['chooser']:.1%} | | {mean['rules2']:.1%} | {mean['chooser2']:.1%} | {mean['recall']:.1%} |")
    print(f"authors better with the chooser: {won}, worse: {lost}")
    base = variant["refused"]
    for name, accs in variant.items():
        up = sum(a > b for a, b in zip(accs, base, strict=True))
        down = sum(a < b for a, b in zip(accs, base, strict=True))
        print(f"masks {name}: chooser {statistics.mean(accs):.2%} (authors up {up} / down {down} against 'refused')")


def write(records: list[Record]) -> None:
    wd, wh = fit(records)
    write_weights(kr.WEIGHTS_FILE, wd, wh, dense_names=kr.DENSE, training_files=TRAINING_POOL, root=ROOT,
                  n_records=len(records))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="train on the whole pool and write the weights")
    parser.add_argument("--no-loao", action="store_true", help="skip the leave-one-author-out table")
    parser.add_argument("--authors", nargs="+", help="hold out only these authors (a quicker table)")
    parser.add_argument("--cache", type=Path, help="pickle of the records: reused if present, else written "
                        "(only valid while the rules and the features are unchanged)")
    args = parser.parse_args()
    records = cached(args.cache, load_records)
    print_pool_summary(records)
    if not args.no_loao:
        loao(records, args.authors)
    if args.write:
        write(records)


if __name__ == "__main__":
    main()
