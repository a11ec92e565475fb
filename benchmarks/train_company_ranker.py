"""Train and measure the learned company ranker (bot/extract/company_ranker.py) by leave-one-author-out.

Usage: python benchmarks/train_company_ranker.py [--write] [--l2 1] [--iters 300] [--no-loao] [--groups N]

Pool: benchmarks/corpora.py TRAINING_POOL only (never a blind file), grouped by author as
benchmarks/train_learned_layer.py groups it. Each record is run through extract() with the ranker replaced by
a recorder, so the candidates are those extract() gives the ranker; the label is the candidate whose written
form is the record's company ("no company" when it has none; a record whose company is no candidate teaches
nothing). The model is a softmax over each record's candidates plus "no company" on hashed features, fitted
by full-batch Adam from zero weights (deterministic). For every author: train on the others, score the
held-out author's company field, against the rules on the same records.

`--write` fits on the whole pool and writes bot/extract/company_ranker.npz (float16).
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import switches  # noqa: E402
from benchmarks.corpora import TRAINING_POOL, is_trainable  # noqa: E402
from benchmarks.extraction_accuracy import load_samples  # noqa: E402
from benchmarks.pickle_cache import cached  # noqa: E402
from benchmarks.train_learned_layer import author_of  # noqa: E402
from bot.extract import company_ranker as cr  # noqa: E402
from bot.extract import extract  # noqa: E402
from bot.extract.textnorm import as_written, normalize_text, normalize_width  # noqa: E402

MARGIN_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


@dataclass
class Record:
    id: str
    author: str
    expect: str | None
    rules: str | None  # what extract() files without the ranker
    names: list[str]  # written forms; "" is "no company"
    feats: list[np.ndarray]
    label: int | None  # index into names, None when the company is no candidate
    seconds: float
    # what extract() gave the ranker (None on a labelled company line): re-featurized by --refeaturize
    args: tuple[str, str, str | None, str | None, str | None] | None = None
    text: str = ""


def load_records(paths: Sequence[Path] | None = None) -> list[Record]:
    """The pool's records, or (`--extra`) those of files outside it, run through extract()."""
    if paths is None:
        paths = TRAINING_POOL
    # Never a blind file, nor this round's blind corpus in any split.
    assert all(is_trainable(p) for p in paths)
    seen: dict[str, Any] = {}
    real_choose = cr.choose

    def recorder(customer_text: str, rep_text: str, header: str | None, person: str | None,
                 rules: str | None) -> str | None:
        seen["args"] = (customer_text, rep_text, header, person, rules)
        return rules

    cr.choose = recorder  # type: ignore[assignment]
    records = []
    try:
        for path in paths:
            for sample in load_samples(path):
                seen.clear()
                result = extract(sample["text"], ref_time=datetime.fromisoformat(sample["ref_time"]))
                expect = sample["expect"]["company"]
                args = seen.get("args")
                if args is None:  # a labelled company line: the rules are exact there
                    names, feats, seconds = [result.company or ""], [np.zeros(0, np.int64)], 0.0
                else:
                    start = time.perf_counter()
                    names, feats = cr.featurize(*args)
                    seconds = time.perf_counter() - start
                    normalized, written = normalize_text(sample["text"]), normalize_width(sample["text"])
                    names = [as_written(n, normalized, written) or "" for n in names]
                target = expect or ""
                label = names.index(target) if target in names else None
                author = author_of(path, sample["id"]) if path in TRAINING_POOL else sample["id"].split("-", 1)[0]
                records.append(Record(sample["id"], author, expect, result.company,
                                      names, feats, label, seconds, args, sample["text"]))
    finally:
        cr.choose = real_choose  # type: ignore[assignment]
    return records


def refeaturize(records: Sequence[Record]) -> None:
    """The candidates and features again from each record's cached ranker input: a cache stays valid across
    changes to company_ranker.py's candidates and features (not across changes to the rules)."""
    for r in records:
        if r.args is None:
            continue
        start = time.perf_counter()
        names, r.feats = cr.featurize(*r.args)
        r.seconds = time.perf_counter() - start
        normalized, written = normalize_text(r.text), normalize_width(r.text)
        r.names = [as_written(n, normalized, written) or "" for n in names]
        target = r.expect or ""
        r.label = r.names.index(target) if target in r.names else None


def people(source: str) -> dict[str, str | None]:
    """The customer each record's `person` is set to: `gold` the labelled customer_name; a path, the `pred` of a
    customer ranker dump (`train_customer_ranker.py --dump`: that ranker's held-out choice, what a new author's
    message meets at run time). Keyed by record id."""
    if source == "gold":
        return {s["id"]: s["expect"].get("customer_name") for path in TRAINING_POOL for s in load_samples(path)}
    rows = [json.loads(line) for line in Path(source).read_text().splitlines() if line.strip()]
    return {row["id"]: row["pred"] for row in rows}


def with_person(records: Sequence[Record], source: str) -> list[Record]:
    """Copies of the records whose ranker input names `source`'s customer (`extract`: as extract() chose it, the
    shipped customer ranker's choice, fitted on the whole pool: in-sample on the pool), re-featurized."""
    if source == "extract":
        return list(records)
    chosen = people(source)
    out = []
    for r in records:
        copy = replace(r)
        if r.args is not None and r.id in chosen:
            customer_text, rep_text, header, _, rules = r.args
            copy.args = (customer_text, rep_text, header, chosen[r.id], rules)
        out.append(copy)
    refeaturize(out)
    return out


def fit(records: Sequence[Record], *, l2: float, iters: int) -> np.ndarray:
    """Softmax over each record's choices; full-batch Adam on the mean log-loss plus L2 / n."""
    train = [r for r in records if r.label is not None and len(r.names) > 1]
    feats = [f for r in train for f in r.feats]
    sizes = np.array([len(r.names) for r in train])
    group_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    group_of = np.repeat(np.arange(len(train)), sizes)
    y = np.zeros(len(feats))
    y[group_start + np.array([r.label for r in train])] = 1.0
    lengths = np.array([len(f) for f in feats])
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    # Only the features the records use are fitted (the others stay zero): a smaller, faster problem.
    used, indices = np.unique(np.concatenate(feats), return_inverse=True)
    cand_of_index = np.repeat(np.arange(len(feats)), lengths)
    n, k = len(train), len(used)
    w = np.zeros(k)
    m, v = np.zeros_like(w), np.zeros_like(w)
    lr = 0.05
    for it in range(1, iters + 1):
        s = np.add.reduceat(w[indices], indptr[:-1])
        top = np.maximum.reduceat(s, group_start)
        e = np.exp(s - top[group_of])
        p = e / np.add.reduceat(e, group_start)[group_of]
        g = (p - y) / n
        grad = np.bincount(indices, weights=g[cand_of_index], minlength=k) + l2 * w / n
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w -= lr * (m / (1 - 0.9**it)) / (np.sqrt(v / (1 - 0.999**it)) + 1e-8)
    full = np.zeros(cr.N_FEATURES)
    full[used] = w
    return full


def form_records(records: Sequence[Record]) -> list[Record]:
    """The form step's training choices (`company_ranker.FORM_STEP`, round 18): for each record whose label is a
    firm among its candidates, the label's nested forms only (`company_ranker.family`), the label among them."""
    out = []
    for r in records:
        if r.label is None or r.label == 0 or len(r.names) < 3:
            continue
        members = cr.family(r.names, r.label)
        if len(members) > 1:
            out.append(replace(r, names=[r.names[i] for i in members],
                               feats=cr.family_feats(r.names, members, r.feats), label=members.index(r.label)))
    return out


def fit_form(records: Sequence[Record], *, l2: float, iters: int) -> np.ndarray:
    """The form step's weights: the same softmax, fitted on `form_records` only."""
    return fit(form_records(records), l2=l2, iters=iters)


def predict(w: np.ndarray, record: Record, margin: float = cr.NONE_MARGIN,
            w_form: np.ndarray | None = None) -> str | None:
    if len(record.names) == 1:
        return record.names[0] or None
    chosen = cr.decide(record.names, [float(w[f].sum()) for f in record.feats], margin)
    return cr.refine(record.names, record.feats, chosen, w_form)


def loao(records: Sequence[Record], *, l2: float, iters: int, dump: Path | None = None,
         authors: Sequence[str] = (), groups: int = 0, scored: dict[str, Sequence[Record]] | None = None,
         fits: Path | None = None, form_l2: float = 1.0) -> None:
    """Score each author by a model fitted without them: one fit per author, or with `groups` one fit per
    group of authors (round-robin over the authors in pool order): every author still held out, fewer fits.
    `scored`: the same records featurized other ways (another `person`, by label), scored by the same fits
    too; each is dumped beside `dump` as DUMP.LABEL.jsonl."""
    by_author: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_author[r.author].append(r)
    others: dict[str, dict[str, list[Record]]] = {}
    for label, variant in (scored or {}).items():
        others[label] = defaultdict(list)
        for r in variant:
            others[label][r.author].append(r)
    order = list(by_author)
    group_of = {a: (i % groups if groups else i) for i, a in enumerate(order)}
    # `fits`: the first stage's fits per group, reused across runs that change only the form step (round 18;
    # valid while the records, their features, the groups, l2 and iters are the same).
    fitted: dict[int, np.ndarray] = pickle.loads(fits.read_bytes()) if fits and fits.exists() else {}
    fitted_form: dict[int, np.ndarray | None] = {}
    print("| author | n | rules | ranker | reachable |" + "".join(f" {label} |" for label in others))
    print("|---|---|---|---|---|" + "---|" * len(others))
    rule_acc, new_acc = [], []
    other_acc: dict[str, list[float]] = defaultdict(list)
    by_margin: dict[float, list[float]] = defaultdict(list)
    rows = []
    other_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for author, held in by_author.items():
        if authors and author not in authors:
            continue
        g = group_of[author]
        if g not in fitted_form:
            train = [r for r in records if group_of[r.author] != g]
            if g not in fitted:
                fitted[g] = fit(train, l2=l2, iters=iters)
                if fits:
                    fits.write_bytes(pickle.dumps(fitted))
            fitted_form[g] = fit_form(train, l2=form_l2, iters=iters) if cr.FORM_STEP else None
        w, w_form = fitted[g], fitted_form[g]
        # With the form step, `stage1` keeps the first stage's own choice: the baseline of the same fits.
        rows += [{"id": r.id, "author": r.author, "expect": r.expect, "rules": r.rules,
                  "pred": predict(w, r, w_form=w_form), "reachable": r.label is not None, "names": r.names}
                 | ({"stage1": predict(w, r)} if w_form is not None else {}) for r in held]
        rules = sum(r.rules == r.expect for r in held) / len(held)
        new = sum(predict(w, r, w_form=w_form) == r.expect for r in held) / len(held)
        for margin in MARGIN_GRID:
            by_margin[margin].append(sum(predict(w, r, margin, w_form) == r.expect for r in held) / len(held))
        reach = sum(r.label is not None for r in held) / len(held)
        rule_acc.append(rules)
        new_acc.append(new)
        cells = ""
        for label, held_by_author in others.items():
            mine = held_by_author[author]
            other_rows[label] += [{"id": r.id, "author": r.author, "expect": r.expect, "rules": r.rules,
                                   "pred": predict(w, r, w_form=w_form), "reachable": r.label is not None,
                                   "names": r.names} for r in mine]
            other_acc[label].append(sum(predict(w, r, w_form=w_form) == r.expect for r in mine) / len(mine))
            cells += f" {other_acc[label][-1]:.1%} |"
        print(f"| {author} | {len(held)} | {rules:.1%} | {new:.1%} | {reach:.1%} |{cells}", flush=True)
    print(f"| mean of authors | {len(records)} | {statistics.mean(rule_acc):.1%} | {statistics.mean(new_acc):.1%} | |"
          + "".join(f" {statistics.mean(acc):.1%} |" for acc in other_acc.values()))
    if dump:
        dump.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n")
        for label, variant_rows in other_rows.items():
            dump.with_suffix(f".{label}.jsonl").write_text(
                "\n".join(json.dumps(row, ensure_ascii=False) for row in variant_rows) + "\n")
        if any("stage1" in row for row in rows):  # the form step's run: its first stage alone is the baseline
            dump.with_suffix(".stage1.jsonl").write_text("\n".join(
                json.dumps({**row, "pred": row["stage1"]}, ensure_ascii=False) for row in rows) + "\n")
    print("\n'no company' margin (mean of authors): "
          + ", ".join(f"{m}: {statistics.mean(a):.1%}" for m, a in by_margin.items()))


def score_extra(w: np.ndarray, extra: Sequence[Record]) -> None:
    """Authors outside the pool, scored by the weights fitted on the whole pool (what a new author meets)."""
    by_author: dict[str, list[Record]] = defaultdict(list)
    for r in extra:
        by_author[r.author].append(r)
    print("\n| author (outside the pool) | n | rules | ranker | reachable |\n|---|---|---|---|---|")
    for author, held in by_author.items():
        rules = sum(r.rules == r.expect for r in held) / len(held)
        new = sum(predict(w, r) == r.expect for r in held) / len(held)
        reach = sum(r.label is not None for r in held) / len(held)
        print(f"| {author} | {len(held)} | {rules:.1%} | {new:.1%} | {reach:.1%} |", flush=True)
    def accuracy(margin: float) -> float:
        return statistics.mean(sum(predict(w, r, margin) == r.expect for r in held) / len(held)
                               for held in by_author.values())

    print("'no company' margin (mean of these authors): "
          + ", ".join(f"{m}: {accuracy(m):.1%}" for m in MARGIN_GRID))


# The module switches of company_ranker.py that `--switch` may flip for a measurement (round 12).
SWITCHES = ("LOOSE_PHRASES", "FORM_KEYS", "DEICTIC", "SEGMENT_SPANS", "NEST_KEYS", "NEST_DETAIL", "CROSS_KEYS",
            "MESSAGE_ROLE_KEYS", "NULL_KEYS", "VERB_FRAME", "PERSON_TIE", "NOPERSON_KEY",
             "NOPERSON_MENTION", "FIRM_FAMILY", "SHARED_TITLES", "FOREIGN_FORMS", "TITLE_AFTER", "PLACE_TRIM",
            "LOOSE_EDGES", "CONTACT_FIELDS", "NULL_ORG", "FORM_STEP", "FORM_RANK")


def apply_switches(pairs: Sequence[str]) -> None:
    """`NAME=1` / `NAME=0`: set a module switch of company_ranker.py (benchmarks/switches.py)."""
    switches.apply_switches(cr, SWITCHES, pairs)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="fit on the whole pool and write the weights")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--form-l2", type=float, help="the form step's L2 (default --l2; round 18)")
    parser.add_argument("--no-loao", action="store_true")
    parser.add_argument("--cache", type=Path, help="pickle of the records: reused if present, else written "
                        "(only valid while the rules and the features are unchanged)")
    parser.add_argument("--authors", nargs="*", default=(), help="hold out only these authors (quicker)")
    parser.add_argument("--groups", type=int, default=0, help="hold out the authors in this many round-robin "
                        "groups (one fit per group) instead of one at a time (quicker; 0: one per author)")
    parser.add_argument("--dump", type=Path, help="write each record's leave-one-author-out choice (JSON lines)")
    parser.add_argument("--refeaturize", action="store_true", help="with --cache: recompute the candidates "
                        "and features from the cached ranker inputs (valid while the rules are unchanged)")
    parser.add_argument("--extra", type=Path, nargs="*", default=(), help="files outside the pool (a retired "
                        "blind set, never a blind one): each of their authors scored by the fit on the whole pool")
    parser.add_argument("--switch", nargs="*", default=(), metavar="NAME=0|1", help="flip a module switch of "
                        "company_ranker.py for this run (" + ", ".join(SWITCHES) + ")")
    parser.add_argument("--train-person", default="extract", metavar="extract|gold|DUMP", help="the customer "
                        "the training records' ranker input names: as extract() chose it (default), the labelled "
                        "one, or a customer ranker dump's held-out choice (round 15)")
    parser.add_argument("--test-person", nargs="*", default=(), metavar="extract|gold|DUMP", help="score the "
                        "held-out records also with these customers in their ranker input, by the same fits (each "
                        "dumped as DUMP.LABEL.jsonl; LABEL is extract, gold or the customer dump's file stem)")
    parser.add_argument("--fits", type=Path, help="pickle of the first stage's fits per group: reused if present, "
                        "else written (only valid while the records, features, groups, l2 and iters are unchanged)")
    parser.add_argument("--out", type=Path, default=cr.WEIGHTS_FILE, help="with --write: where the weights go "
                        "(default the shipped file; another path fits a variant without touching it)")
    args = parser.parse_args(argv)
    apply_switches(args.switch)
    records = cached(args.cache, load_records)
    extra = cached(args.cache.with_suffix(".extra.pkl") if args.cache and args.extra else None,
                   lambda: load_records(args.extra)) if args.extra else []
    if args.refeaturize:
        refeaturize(records)
        refeaturize(extra)
    times = sorted(r.seconds for r in records)
    print(f"{len(records)} records; featurize p50 {times[len(times) // 2] * 1000:.1f} ms, "
          f"p99 {times[int(len(times) * 0.99)] * 1000:.1f} ms; "
          f"mean candidates {statistics.mean(len(r.names) for r in records):.1f}")
    scored: dict[str, Sequence[Record]] = {
        (source if source in ("extract", "gold") else Path(source).stem): with_person(records, source)
        for source in args.test_person}
    records = with_person(records, args.train_person)
    form_l2 = args.l2 if args.form_l2 is None else args.form_l2
    if not args.no_loao:
        loao(records, l2=args.l2, iters=args.iters, dump=args.dump, authors=args.authors,
             groups=args.groups, scored=scored, fits=args.fits, form_l2=form_l2)
    if extra:
        score_extra(fit(records, l2=args.l2, iters=args.iters), extra)
    if args.write:
        w = fit(records, l2=args.l2, iters=args.iters)
        trained_on = np.array([p.resolve().relative_to(ROOT).as_posix() for p in TRAINING_POOL])
        # The form step's own weights (round 18); a file without them decides in one stage.
        form = {"w_form": fit_form(records, l2=form_l2, iters=args.iters).astype(np.float16)} if cr.FORM_STEP else {}
        np.savez_compressed(args.out, w=w.astype(np.float16), trained_on=trained_on, **form)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
