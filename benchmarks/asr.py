"""Offline ASR benchmark: real-time factor, CER and peak RSS per decoding configuration, plus the
end-to-end time of one memo from inbox row to confirmation card.

Usage: python benchmarks/asr.py [--clips DIR] [--beams 1,5] [--threads 1] [--concurrency 1]
  DIR holds audio files (any supported format) and optionally references.json {stem: text}.
  Defaults to tests/data/voice. Each configuration runs in its own process so peak RSS is its own.
Targets (2-core machine): RTF <= 0.25, peak RSS < 600 MB, a 30 s memo becomes a card in < 10 s.
Always exits 0 (a report, not a gate).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # allow running from a checkout without installing the package

import cn2an  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

DEFAULT_CLIPS = ROOT / "tests" / "data" / "voice"
AUDIO_SUFFIXES = {".amr", ".wav", ".mp3", ".ogg", ".m4a", ".silk", ".flac"}


def cer_counts(hypothesis: str, reference: str) -> tuple[int, int]:
    """(character edits, reference length) after dropping punctuation/space and writing numbers as
    digits on both sides ("十五万" and "15万" are the same words)."""

    def norm(text: str) -> str:
        from bot.extract.textnorm import to_simplified

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cn2an warns about a lone 万/百 it leaves as is
            text = cn2an.transform(to_simplified(text), "cn2an")
        return "".join(ch for ch in text if ch.isalnum())

    hyp, ref = norm(hypothesis), norm(reference)
    return Levenshtein.distance(hyp, ref), len(ref)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_config(clips: Path, beam: int, threads: int, concurrency: int) -> dict[str, Any]:
    """One configuration in this process: cold end-to-end memo first, then every clip warm."""
    from bot.transcribe.engine import AsrOptions, transcribe_file
    from bot.transcribe.model import resolve_model_dir

    refs = json.loads((clips / "references.json").read_text("utf-8")) if (clips / "references.json").exists() else {}
    files = sorted(p for p in clips.iterdir() if p.suffix in AUDIO_SUFFIXES and p.stem != "corrupt")
    cache = Path(tempfile.gettempdir()) / "genjin-asr-bench"
    e2e_clip = next((p for p in files if p.stem == "memo_30s"), files[-1])
    cold = end_to_end(e2e_clip, cache, beam, threads, concurrency)  # includes loading the model
    warm = end_to_end(e2e_clip, cache, beam, threads, concurrency)
    options = AsrOptions(model_dir=resolve_model_dir(None, cache), beam_size=beam, cpu_threads=threads,
                         workers=concurrency)
    rows = []
    audio_total = elapsed_total = 0.0
    edits_total = ref_total = 0
    for path in files:
        result = transcribe_file(path, options, products=["移动客户管理", "运输管理系统", "移动CRM"])
        row: dict[str, Any] = {"clip": path.name, "seconds": round(result.audio_seconds, 1),
                               "rtf": round(result.elapsed_seconds / result.audio_seconds, 3), "text": result.text}
        audio_total += result.audio_seconds
        elapsed_total += result.elapsed_seconds
        if path.stem in refs:
            edits, length = cer_counts(result.text, refs[path.stem])
            row["cer"] = round(edits / length, 3)
            edits_total += edits
            ref_total += length
        rows.append(row)
    return {"beam": beam, "threads": threads, "rtf": round(elapsed_total / audio_total, 3),
            "cer": round(edits_total / ref_total, 3) if ref_total else None, "peak_rss_mb": round(peak_rss_mb()),
            "e2e_cold_s": round(cold, 2), "e2e_warm_s": round(warm, 2), "e2e_clip": e2e_clip.name, "clips": rows}


def end_to_end(clip: Path, cache: Path, beam: int, threads: int, concurrency: int) -> float:
    """Seconds from the memo's inbox row to its card in the outbox (worker + runner, SQLite)."""
    from sqlmodel import Session, select

    from bot.app import build_runtime
    from bot.config import Settings
    from bot.pipeline.media import sniff_audio, store_media
    from store.db import session_scope
    from store.inbox import insert_inbound
    from store.members import seed_demo_team
    from store.models import Member, OutboxMessage

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", data_dir=Path(tmp), whisper_cache_dir=cache,
                            whisper_beam_size=beam, whisper_cpu_threads=threads,
                            transcription_concurrency=concurrency)
        runtime = build_runtime(settings)
        with session_scope(runtime.engine) as s:
            seed_demo_team(session=s)
        with Session(runtime.engine) as s:
            sender = s.exec(select(Member).where(Member.sandbox_id.is_not(None))).first()  # type: ignore[union-attr]
            assert sender is not None and sender.sandbox_id
        data = clip.read_bytes()
        ref = store_media(data, settings.media_dir, sniff_audio(data) or "amr")
        started = time.perf_counter()
        with session_scope(runtime.engine) as s:
            insert_inbound(session=s, platform="sandbox", msg_id="bench", sender=sender.sandbox_id, kind="voice",
                           media_ref=ref)
        runtime.worker.drain()
        assert runtime.transcriber is not None
        runtime.transcriber.drain()
        elapsed = time.perf_counter() - started
        with Session(runtime.engine) as s:
            kinds = [m.kind for m in s.exec(select(OutboxMessage)).all()]
        runtime.engine.dispose()
        if "card" not in kinds:
            print(f"  (no card for {clip.name}: {kinds})", file=sys.stderr)
        return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=DEFAULT_CLIPS)
    parser.add_argument("--beams", default="1,5")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one beam, print JSON
    args = parser.parse_args()
    if args.one is not None:
        import logging

        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        print(json.dumps(run_config(args.clips, args.one, args.threads, args.concurrency), ensure_ascii=False))
        return 0
    print(f"clips: {args.clips}   cpu_threads={args.threads}   (targets: RTF <= 0.25, RSS < 600 MB, e2e < 10 s)")
    for beam in (int(b) for b in args.beams.split(",")):
        out = subprocess.run([sys.executable, __file__, "--clips", str(args.clips), "--threads", str(args.threads),
                              "--concurrency", str(args.concurrency), "--one", str(beam)],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"beam {beam}: failed\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        cer = f"{r['cer']:.3f}" if r["cer"] is not None else "n/a"
        print(f"beam {beam}: RTF {r['rtf']:.3f}   CER {cer}   peak RSS {r['peak_rss_mb']} MB   "
              f"e2e {r['e2e_clip']} cold {r['e2e_cold_s']:.2f} s / warm {r['e2e_warm_s']:.2f} s")
        for c in r["clips"]:
            extra = f"  CER {c['cer']:.3f}" if "cer" in c else ""
            print(f"    {c['clip']:<18} {c['seconds']:>6.1f} s  RTF {c['rtf']:.3f}{extra}  {c['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
