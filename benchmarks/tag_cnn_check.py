"""Does a character convolution (learned_layer.CharCnn) help the tag model on authors it was not trained on? (round 12)

Usage: python benchmarks/tag_cnn_check.py --cache FILE [--oof FILE] [--cnn-oof-dir DIR] [--filters 64 ...]
       [--dims 32] [--widths 2 3 4] [--epochs 10] [--l2 1 ...] [--dropout 0.3 ...] [--bits 12] [--subset A1 ...]
       [--check B1 ...] [--all] [--speed N]

The scheme of tag_mlp_check.py (its run_candidates): each record's first-stage probabilities and the convolution's
log-odds come from fits without its author group (4 groups of the sorted authors); for each held-out author the
second stage is fitted on the other authors' out-of-fold rows, without and with the convolution's ten log-odds, and
applied to that author. Columns: "first" = the convolution alone (decided at 0.5), "second" = the second stage reading
the linear first stage and the convolution (what would ship). `--speed N`: p50/p99 of one message's convolution
(learned_layer.cnn_logodds) over every N-th pool message, with a fit of the first candidate.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import train_learned_layer as tl  # noqa: E402
from benchmarks.tag_mlp_check import Candidate, author_sets, load_pool, run_candidates  # noqa: E402
from bot.understanding import learned_layer as ll  # noqa: E402

Matrix = np.ndarray


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, help="the pool's records (train_learned_layer --cache)")
    parser.add_argument("--oof", type=Path, help="reuse the linear first stage's out-of-fold output")
    parser.add_argument("--cnn-oof-dir", type=Path, help="keep each candidate's out-of-fold log-odds here")
    parser.add_argument("--filters", type=int, nargs="*", default=[64], help="per width")
    parser.add_argument("--widths", type=int, nargs="+", default=list(tl.CnnOptions.widths))
    parser.add_argument("--dims", type=int, default=tl.CnnOptions.dims)
    parser.add_argument("--epochs", type=int, default=tl.CnnOptions.epochs, help="at most (early stop)")
    parser.add_argument("--l2", type=float, nargs="*", default=[tl.CnnOptions.l2])
    parser.add_argument("--dropout", type=float, nargs="*", default=[tl.CnnOptions.dropout])
    parser.add_argument("--bits", type=int, default=tl.CnnOptions.bits)
    parser.add_argument("--lr", type=float, default=tl.CnnOptions.lr)
    parser.add_argument("--subset", nargs="*", default=[])
    parser.add_argument("--check", nargs="*", default=[])
    parser.add_argument("--all", action="store_true", help="also score every pool author")
    parser.add_argument("--speed", type=int, default=0, help="time the convolution on every N-th message")
    args = parser.parse_args(argv[1:])
    start = time.perf_counter()
    items, first, base = load_pool(args.cache, args.oof)
    options = [tl.CnnOptions(filters=f, widths=tuple(args.widths), dims=args.dims, bits=args.bits,
                             epochs=args.epochs, lr=args.lr, dropout=d, l2=l2)
               for f in args.filters for l2 in args.l2 for d in args.dropout]

    def candidate(opts: tl.CnnOptions) -> Candidate:
        widths = "".join(map(str, opts.widths))
        name = f"cnn f{opts.filters} w{widths} d{opts.dims} e{opts.epochs} L2 {opts.l2:g} drop {opts.dropout:g}"

        def compute() -> Matrix:
            if args.cnn_oof_dir is not None:
                args.cnn_oof_dir.mkdir(parents=True, exist_ok=True)
                tl.CNN_OOF_CACHE = args.cnn_oof_dir / (f"f{opts.filters}-w{widths}-d{opts.dims}-b{opts.bits}-"
                                                       f"e{opts.epochs}-l{opts.l2:g}-d{opts.dropout:g}-"
                                                       f"lr{opts.lr:g}.pkl")
            out = tl.cnn_oof(items, opts, base.folds, log=True)
            assert out is not None
            return out

        return name, compute

    if args.speed:
        cnn = tl.fit_cnn(items, options[0])
        times = []
        for item in items[:: args.speed]:
            ll.cnn_windows.cache_clear()
            t = time.perf_counter()
            ll.cnn_logodds(cnn, item.tag_input)
            times.append(1000 * (time.perf_counter() - t))
        print(f"convolution per message over {len(times)} messages: p50 {np.percentile(times, 50):.2f} ms, "
              f"p99 {np.percentile(times, 99):.2f} ms", flush=True)
    run_candidates(items, first, base, author_sets(items, args.subset, args.check, args.all),
                   [candidate(o) for o in options])
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
