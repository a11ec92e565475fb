"""Train the customer-name ranker (bot/extract/customer_ranker.py) on TRAINING_POOL, and measure it.

Usage: python benchmarks/train_customer_ranker.py [--write] [--no-loao]

For every record of the pool the extractor runs with the ranker replaced by a recorder, so the rules'
choice and everything the ranker sees are exactly what extract() would give it. A candidate is right when
it, spelled as written, equals the labelled customer_name; a record labelled without a customer teaches
"none"; a record whose customer no candidate spells cannot teach and is left out of training (it counts
as a miss when scored). The model is a conditional logit over each record's candidates plus "none"
(full-batch Adam, L2), deterministic: no random initialisation, no shuffling.

Prints the leave-one-author-out table (train on 19 authors, score the 20th, for each): customer accuracy
of the rules and of the ranker per author and their means, the candidates' recall, and the ranker's
time per message. `--write` trains on the whole pool and writes bot/extract/customer_ranker.npz.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
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
from benchmarks.switches import apply_switches  # noqa: E402
from benchmarks.train_learned_layer import author_of  # noqa: E402
from bot.extract import customer_ranker as cr  # noqa: E402
from bot.extract import extractor  # noqa: E402
from bot.extract.textnorm import as_written, normalize_text, normalize_width  # noqa: E402

Matrix = npt.NDArray[np.float64]
# L2 strengths: 3.0 on the hashed context beat 10.0 by leave-one-author-out
# (90.7% vs 90.4% mean on the first feature set, round 6).
L2_DENSE = 1.0
L2_HASHED = 3.0
ITERS = 300


@dataclass
class Record:
    author: str
    expected: str | None
    rules: str | None  # the rules' answer as written
    names: list[str | None]  # candidates as written, then None for the "none" row
    dense: npt.NDArray[np.float32]
    hashed: list[list[int]]
    seconds: float  # candidates + features for this record
    id: str = ""
    # what extract() gave the ranker (round 13): `--refeaturize` recomputes candidates and features from it
    data: cr.CustomerInput | None = None
    text: str = ""

    @property
    def target(self) -> int | None:
        """Row index of the right answer, or None when no candidate spells it."""
        return self.names.index(self.expected) if self.expected in self.names else None


def load_records() -> list[Record]:
    assert all(is_trainable(p) for p in TRAINING_POOL)
    seen: dict[str, Any] = {}
    real = extractor.choose_customer

    def recorder(data: cr.CustomerInput) -> str | None:
        seen["input"] = data
        return data.rules_name

    extractor.choose_customer = recorder  # type: ignore[assignment]
    records: list[Record] = []
    try:
        for path in TRAINING_POOL:
            for sample in load_samples(path):
                text = sample["text"]
                result = extractor.extract(text, ref_time=datetime.fromisoformat(sample["ref_time"]))
                data: cr.CustomerInput = seen["input"]
                normalized, written = normalize_text(text), normalize_width(text)
                start = time.perf_counter()
                cands = cr.candidates(data)
                dense, hashed = cr.featurize(data, cands)
                seconds = time.perf_counter() - start
                names: list[str | None] = [as_written(c.name, normalized, written) for c in cands]
                records.append(Record(author_of(path, sample["id"]), sample["expect"]["customer_name"],
                                      result.customer_name, [*names, None], dense, hashed, seconds,
                                      sample["id"], data, text))
    finally:
        extractor.choose_customer = real  # type: ignore[assignment]
    return records


def refeaturize(records: list[Record]) -> None:
    """Candidates and features again from each record's cached ranker input (round 13): a cache stays valid
    across changes to customer_ranker.py's candidates and features, not across changes to the rules."""
    for r in records:
        if r.data is None:
            raise SystemExit("--refeaturize needs a cache written by round 13's trainer (it keeps the inputs)")
        normalized, written = normalize_text(r.text), normalize_width(r.text)
        start = time.perf_counter()
        cands = cr.candidates(r.data)
        r.dense, r.hashed = cr.featurize(r.data, cands)
        r.seconds = time.perf_counter() - start
        r.names = [*(as_written(c.name, normalized, written) for c in cands), None]


def fit(records: list[Record]) -> tuple[Matrix, Matrix]:
    """Conditional logit: softmax over each record's rows; returns (dense weights, hashed weights)."""
    return fit_records(records, n_hashed=cr.N_HASHED, l2_dense=L2_DENSE, l2_hashed=L2_HASHED, iters=ITERS)


def predict(record: Record, wd: Matrix, wh: Matrix) -> str | None:
    weights = cr.Weights(wd.astype(np.float32), wh.astype(np.float32))
    return record.names[int(np.argmax(cr.scores(weights, record.dense, record.hashed)))]


def loao(records: list[Record], dump: Path | None = None, groups: int = 0) -> None:
    """Score each author by a model fitted without them: one fit per author, or with `groups` one fit per group of
    authors (round-robin over the authors in pool order, as the company trainer groups them)."""
    authors = sorted({r.author for r in records}, key=lambda a: (len(a), a))
    pool_order = list(dict.fromkeys(r.author for r in records))
    group_of = {a: (i % groups if groups else i) for i, a in enumerate(pool_order)}
    fitted: dict[int, tuple[Matrix, Matrix]] = {}
    print("| author | n | rules | ranker | candidates' recall |")
    print("|---|---|---|---|---|")
    rules_acc, ranker_acc = [], []
    rows = []
    for author in authors:
        test = [r for r in records if r.author == author]
        g = group_of[author]
        if g not in fitted:
            fitted[g] = fit([r for r in records if group_of[r.author] != g])
        wd, wh = fitted[g]
        rows += [{"id": r.id, "author": r.author, "expect": r.expected, "rules": r.rules,
                  "pred": predict(r, wd, wh), "reachable": r.target is not None, "names": r.names} for r in test]
        rules = sum(r.rules == r.expected for r in test) / len(test)
        ranker = sum(predict(r, wd, wh) == r.expected for r in test) / len(test)
        recall = sum(r.target is not None for r in test) / len(test)
        rules_acc.append(rules)
        ranker_acc.append(ranker)
        print(f"| {author} | {len(test)} | {rules:.1%} | {ranker:.1%} | {recall:.1%} |", flush=True)
    if dump:
        dump.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n")
    print(f"| mean | {len(records)} | {statistics.mean(rules_acc):.1%} | {statistics.mean(ranker_acc):.1%} | |")


def write(records: list[Record]) -> None:
    wd, wh = fit(records)
    write_weights(cr.WEIGHTS_FILE, wd, wh, dense_names=cr.DENSE, training_files=TRAINING_POOL, root=ROOT,
                  n_records=len(records))


# The module switches of customer_ranker.py that `--switch` may flip for a measurement (round 13).
SWITCHES = ("MESSAGE_ROLE_KEYS", "MESSAGE_VOCATIVE", "TRANSLIT_CANDIDATES", "RARE_SURNAMES", "ADDRESS_FORMS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="train on the whole pool and write the weights")
    parser.add_argument("--no-loao", action="store_true", help="skip the leave-one-author-out table")
    parser.add_argument("--cache", type=Path, help="pickle of the records: reused if present, else written "
                        "(only valid while the rules and the features are unchanged)")
    parser.add_argument("--dump", type=Path, help="write each record's leave-one-author-out choice (JSON lines)")
    parser.add_argument("--groups", type=int, default=0, help="hold out the authors in this many round-robin "
                        "groups (one fit per group) instead of one at a time (quicker; 0: one per author)")
    parser.add_argument("--refeaturize", action="store_true", help="with --cache: recompute the candidates "
                        "and features from the cached ranker inputs (valid while the rules are unchanged)")
    parser.add_argument("--switch", nargs="*", default=(), metavar="NAME=0|1", help="flip a module switch of "
                        "customer_ranker.py for this run (" + ", ".join(SWITCHES) + ")")
    args = parser.parse_args()
    apply_switches(cr, SWITCHES, args.switch)
    records = cached(args.cache, load_records)
    if args.refeaturize:
        refeaturize(records)
    print_pool_summary(records)
    if not args.no_loao:
        loao(records, args.dump, args.groups)
    if args.write:
        write(records)


if __name__ == "__main__":
    main()
