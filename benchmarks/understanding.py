"""Understanding benchmark: per-field accuracy on the text corpus, and on a voice set the CER and
per-field accuracy with and without biasing (the rep's book in the prompt, pinyin correction).

Usage: python benchmarks/understanding.py [--corpus tests/data/chats.jsonl]
         [--voice benchmarks/data/voice/memos.jsonl] [--book benchmarks/data/voice/book.json]
         [--beam 5] [--no-voice]
The voice set is JSON lines: {"file": audio path relative to the set, "ref_time", "reference": the
words spoken, "expect": {customer_name, company, phone, amount_cny, next_contact}}. The book is the
rep's customers (see benchmarks/data/voice/book.json). Targets: every text field >= 95%; on voice,
customer and company >= 90% with biasing. Always exits 0 (a report, not a gate).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # allow running from a checkout without installing the package

from benchmarks.asr import cer_counts  # noqa: E402
from benchmarks.extraction_accuracy import FIELDS, evaluate, load_samples  # noqa: E402
from bot.extract import DEFAULT_TAGS, Extraction, extract  # noqa: E402
from bot.extract.when import SHANGHAI  # noqa: E402
from bot.understanding.book import DUE_NOW, OTHER, RECENT, RECENT_DAYS, STALE, BookEntry, rank_entries  # noqa: E402
from bot.understanding.memo import understand_memo  # noqa: E402
from bot.understanding.prompt import build_prompt  # noqa: E402

DEFAULT_CORPUS = ROOT / "tests" / "data" / "chats.jsonl"
DEFAULT_VOICE = ROOT / "benchmarks" / "data" / "voice" / "memos.jsonl"
DEFAULT_BOOK = ROOT / "benchmarks" / "data" / "voice" / "book.json"
VOICE_FIELDS = ("customer_name", "company", "phone", "amount_cny", "next_contact")


def load_book(path: Path, ref_time: datetime) -> tuple[list[BookEntry], list[str], str]:
    data = json.loads(path.read_text("utf-8"))
    entries = []
    for c in data["customers"]:
        days = c.get("last_touch_days")
        touch = ref_time - timedelta(days=days) if days is not None else None
        if c.get("due"):
            priority = DUE_NOW
        elif days is not None and days <= RECENT_DAYS:
            priority = RECENT
        elif c.get("stale"):
            priority = STALE
        else:
            priority = OTHER
        entries.append(BookEntry(c["name"], c.get("company"), priority, touch))
    return rank_entries(entries), list(data.get("products", [])), data.get("rep", "")


def fields_of(ext: Extraction) -> dict[str, Any]:
    return {
        "customer_name": ext.customer_name,
        "company": ext.company,
        "phone": ext.phone,
        "amount_cny": ext.amount_cny,
        "next_contact": ext.next_contact.date().isoformat() if ext.next_contact else None,
    }


def text_report(corpus: Path) -> None:
    samples = load_samples(corpus)
    accuracy, mismatches = evaluate(samples)
    print(f"== text corpus: {corpus} ({len(samples)} samples)")
    for field in FIELDS:
        mark = "" if accuracy[field] >= 0.95 else "   < 95% target"
        print(f"  {field:<14} {accuracy[field]:6.1%}{mark}")
    for sample_id, field, expected, got in mismatches:
        print(f"  miss {sample_id} {field}: expected {expected!r}, got {got!r}")


def voice_report(voice: Path, book_path: Path, beam: int) -> None:
    from bot.transcribe.engine import AsrOptions, prompt_token_counter, transcribe_file
    from bot.transcribe.model import resolve_model_dir

    memos = [json.loads(line) for line in voice.read_text("utf-8").splitlines() if line.strip()]
    options = AsrOptions(model_dir=resolve_model_dir(None, Path("/tmp") / "genjin-asr-bench"), beam_size=beam)
    first_ref = datetime.fromisoformat(memos[0]["ref_time"])
    book, products, rep = load_book(book_path, first_ref)
    prompt = build_prompt(book, products, count_tokens=prompt_token_counter(options.model_dir))
    print(f"\n== voice set: {voice} ({len(memos)} memos), book {book_path.name} ({len(book)} customers)")
    print(f"  biasing prompt: {prompt.tokens} tokens, {len(prompt.entries)}/{len(book)} customers, "
          f"{len(prompt.products)} products")
    print(f"  {prompt.text}")
    configs = {
        "no biasing": (False, False),
        "correction only": (False, True),
        "prompt only": (True, False),
        "prompt + correction": (True, True),
    }
    heard: dict[bool, dict[str, str]] = {False: {}, True: {}}
    for use_prompt in (False, True):
        for memo in memos:
            result = transcribe_file(voice.parent / memo["file"], options, products=products,
                                     prompt=prompt.text if use_prompt else None)
            heard[use_prompt][memo["file"]] = result.text
    for label, (use_prompt, use_correction) in configs.items():
        edits = length = 0
        hits = dict.fromkeys(VOICE_FIELDS, 0)
        lines = []
        for memo in memos:
            text = heard[use_prompt][memo["file"]]
            ref_time = datetime.fromisoformat(memo["ref_time"]).astimezone(SHANGHAI)
            if use_correction:
                u = understand_memo(text, book=book, ref_time=ref_time, tz=SHANGHAI, tag_rules=DEFAULT_TAGS,
                                    products=products, rep_names=[rep])
                text, ext = u.text, u.extraction
            else:
                ext = extract(text, ref_time=ref_time, products=products, rep_names=[rep])
            e, n = cer_counts(text, memo["reference"])
            edits, length = edits + e, length + n
            got = fields_of(ext)
            wrong = {f: got[f] for f in VOICE_FIELDS if got[f] != memo["expect"][f]}
            for f in VOICE_FIELDS:
                hits[f] += f not in wrong
            lines.append(f"    {memo['file']} cer {e / n:.2f} {text}" + (f"  MISSED {wrong}" if wrong else ""))
        print(f"\n  -- {label}: CER {edits / length:.3f}")
        print("  " + "  ".join(f"{f} {hits[f] / len(memos):.0%}" for f in VOICE_FIELDS))
        print("\n".join(lines))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--voice", type=Path, default=DEFAULT_VOICE)
    parser.add_argument("--book", type=Path, default=DEFAULT_BOOK)
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--no-voice", action="store_true")
    args = parser.parse_args(argv[1:])
    text_report(args.corpus)
    if not args.no_voice:
        voice_report(args.voice, args.book, args.beam)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
