"""Stage confusion matrix (expected × got, null included) per corpus of the training pool.

Usage: python benchmarks/stage_confusion.py [FILE.jsonl ...] [--misses] [--labelled-tags]
Defaults to benchmarks/corpora.py TRAINING_POOL. For each file it prints stage accuracy and a Markdown
matrix (rows: the label, columns: what understand_text() gave, `—` for null), then the same matrix summed
over all files. `--misses` lists each wrong record's id, expected and got stage, never for a blind file.
`--labelled-tags` gives the extractor each record's labelled tags instead of its own: how stage would
score with perfect tags (stage reads the tags as evidence).
Always exits 0: it is a report, not a gate.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # allow running from a checkout without installing the package

from benchmarks.corpora import TRAINING_POOL, is_blind  # noqa: E402
from benchmarks.extraction_accuracy import load_samples  # noqa: E402
from bot.extract import extract  # noqa: E402
from bot.understanding.text import understand_text  # noqa: E402
from store.stages import Stage  # noqa: E402

LABELS: tuple[str | None, ...] = (None, *(s.value for s in Stage))


def _cell(label: str | None) -> str:
    return "—" if label is None else label


def confusion(
    path: Path, *, labelled_tags: bool = False
) -> tuple[Counter[tuple[str | None, str | None]], list[tuple[str, str | None, str | None]]]:
    """(expected, got) counts and the wrong records of one corpus file."""
    counts: Counter[tuple[str | None, str | None]] = Counter()
    wrong: list[tuple[str, str | None, str | None]] = []
    for sample in load_samples(path):
        sent_at = datetime.fromisoformat(sample["ref_time"])
        if labelled_tags:
            tags = tuple(sorted(sample["expect"]["tags"]))
            result = extract(sample["text"], ref_time=sent_at, tagger=lambda _data, tags=tags: tags)
        else:
            result = understand_text(sample["text"], sent_at=sent_at)
        got = result.stage_hint.value if result.stage_hint else None
        expected = sample["expect"]["stage_hint"]
        counts[(expected, got)] += 1
        if got != expected:
            wrong.append((sample["id"], expected, got))
    return counts, wrong


def render(title: str, counts: Counter[tuple[str | None, str | None]]) -> str:
    total = sum(counts.values())
    right = sum(n for (e, g), n in counts.items() if e == g)
    lines = [f"### {title}: stage {right}/{total} = {right / total:.1%}" if total else f"### {title}: empty", ""]
    lines.append("| expected \\ got | " + " | ".join(_cell(g) for g in LABELS) + " | total |")
    lines.append("|---|" + "---|" * (len(LABELS) + 1))
    for e in LABELS:
        row = [counts[(e, g)] for g in LABELS]
        cells = [f"**{n}**" if e == g else (str(n) if n else "·") for g, n in zip(LABELS, row, strict=True)]
        lines.append(f"| {_cell(e)} | " + " | ".join(cells) + f" | {sum(row)} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=list(TRAINING_POOL))
    parser.add_argument("--misses", action="store_true", help="list wrong records (refused for blind files)")
    parser.add_argument("--labelled-tags", action="store_true", help="use each record's labelled tags")
    args = parser.parse_args(argv[1:])
    overall: Counter[tuple[str | None, str | None]] = Counter()
    for path in args.files:
        counts, wrong = confusion(path, labelled_tags=args.labelled_tags)
        overall += counts
        print(render(f"{path.parent.name}/{path.name}", counts))
        if args.misses:
            if is_blind(path):
                print("\n(misses of a blind file are not shown)")
            else:
                print("\nmisses:")
                for sample_id, expected, got in wrong:
                    print(f"  {sample_id}: expected {_cell(expected)}, got {_cell(got)}")
        print()
    if len(args.files) > 1:
        print(render("all files", overall))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
