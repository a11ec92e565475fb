"""Which labelled corpora are training data and which are still blind (issue #13).

A held-out file is blind until its one honest scoring is recorded; after that it joins the training
pool and its misses may be read. The files keep their names (their READMEs and FINAL/FIRST_LOOK notes
refer to them), so retirement is recorded here, in one place, for every script.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"

# Retired held-out sets, each after its blind scorings were recorded:
# - corpus v3: corpus_v3/FINAL.md (fields3 round);
# - corpus v2's held-out third: scored in aggregate in every round up to tags3 (corpus_v2/FINAL.md,
#   FINAL_TAGS.md), last 0.853;
# - corpus v4: first look 0.830 and one scoring after the tags3/fields3 round, 0.842 (corpus_v4/README.md);
# - corpus v5 (both splits): blind through round 5, first look and final recorded in corpus_v5/FIRST_LOOK.md
#   and FINAL.md (held-out 0.820 -> 0.865); retired at the start of round 6, whose blind set is corpus v7.
# - corpus v7 (both splits): blind through round 6, first look and final recorded in corpus_v7/FIRST_LOOK.md
#   and FINAL.md (held-out 0.849 -> 0.880); retired at the start of round 7, whose blind set is corpus v9.
# - corpus v9 (both splits): blind through round 7, first look and final recorded in corpus_v9/FIRST_LOOK.md
#   and FINAL.md (held-out 0.870 -> 0.896); retired at the start of round 8, whose blind set is corpus v10.
# - corpus v10 (both splits): blind through round 8, first look and final recorded in corpus_v10/FIRST_LOOK.md
#   and FINAL.md (held-out 0.885 -> 0.913); retired at the start of round 9, whose blind set is corpus v11.
# - corpus v11 (both splits): blind through round 9, first look and final recorded in corpus_v11/FIRST_LOOK.md
#   and FINAL.md (held-out 0.929 -> 0.929); retired at the start of round 10, whose blind set is corpus v12.
# - corpus v12 (both splits): blind through round 10, first look and final recorded in corpus_v12/FIRST_LOOK.md
#   and FINAL.md (held-out 0.888 -> 0.898); retired in round 11, whose blind set is corpus v14.
# - corpus v14 (both splits): blind through round 11, first look and final recorded in corpus_v14/FIRST_LOOK.md
#   and FINAL.md (held-out 0.860 -> 0.874); retired in round 12, whose blind set is corpus v15.
# - corpus v15 (both splits): blind through round 12, first look and final recorded in corpus_v15/FIRST_LOOK.md
#   and FINAL.md (held-out 0.887 -> 0.897); retired in round 13, whose blind set is corpus v16.
# - corpus v16 (both splits): blind through round 13, first look and final recorded in corpus_v16/FIRST_LOOK.md
#   and FINAL.md (held-out 0.921 -> 0.922); retired in round 14, whose blind set is corpus v18.
# - corpus v18 (both splits): blind through round 14, first look and final recorded in corpus_v18/FIRST_LOOK.md
#   and FINAL.md (held-out 0.902 -> 0.914); retired in round 15, whose blind set is corpus v19.
# - corpus v19 (both splits): blind through round 15, first look and final recorded in corpus_v19/FIRST_LOOK.md
#   and FINAL.md (held-out 0.914 -> 0.915); retired in round 16, whose blind set is corpus v20.
# - corpus v20 (both splits): blind through round 16, first look and final recorded in corpus_v20/FIRST_LOOK.md
#   and FINAL.md (held-out 0.923 -> 0.925); retired in round 17, whose blind set is corpus v22.
# - corpus v22 (both splits): blind through round 17, first look and final recorded in corpus_v22/FIRST_LOOK.md
#   and FINAL.md (held-out 0.937 -> 0.934); retired in round 18, whose blind set is corpus v23.
# - corpus v23 (both splits): blind through round 18, first look and final recorded in corpus_v23/FIRST_LOOK.md
#   and FINAL.md (held-out 0.875 -> 0.876); retired in round 19, whose blind set is corpus v24.
# - corpus v24 (both splits): blind through round 19, first look and final recorded in corpus_v24/FIRST_LOOK.md
#   and FINAL.md (held-out 0.885 -> 0.886); retired in round 20, whose blind set is corpus v25. Not yet in
#   TRAINING_POOL: see AWAITING_RETRAIN.
RETIRED_HELD_OUT = (
    DATA / "corpus_v3" / "held_out.jsonl",
    DATA / "corpus_v2" / "held_out.jsonl",
    DATA / "corpus_v4" / "held_out.jsonl",
    DATA / "corpus_v5" / "held_out.jsonl",
    DATA / "corpus_v7" / "held_out.jsonl",
    DATA / "corpus_v9" / "held_out.jsonl",
    DATA / "corpus_v10" / "held_out.jsonl",
    DATA / "corpus_v11" / "held_out.jsonl",
    DATA / "corpus_v12" / "held_out.jsonl",
    DATA / "corpus_v14" / "held_out.jsonl",
    DATA / "corpus_v15" / "held_out.jsonl",
    DATA / "corpus_v16" / "held_out.jsonl",
    DATA / "corpus_v18" / "held_out.jsonl",
    DATA / "corpus_v19" / "held_out.jsonl",
    DATA / "corpus_v20" / "held_out.jsonl",
    DATA / "corpus_v22" / "held_out.jsonl",
    DATA / "corpus_v23" / "held_out.jsonl",
)
CORPUS_V5 = (DATA / "corpus_v5" / "dev.jsonl", DATA / "corpus_v5" / "held_out.jsonl")

# Corpus v6: training corpora by further authors (one author per file, written for training, never blind);
# a file joins once its author's notes say it is complete.
CORPUS_V6 = tuple(sorted((DATA / "corpus_v6").glob("v6*.jsonl")))
# Corpus v8: more training authors of round 6, the same way (corpus v7 is the blind set).
CORPUS_V8 = tuple(sorted((DATA / "corpus_v8").glob("v8*.jsonl")))
# Corpus v13: training authors from round 10 on (corpus_v8's letters ran out at v8Z), the same way.
CORPUS_V13 = tuple(sorted((DATA / "corpus_v13").glob("v13*.jsonl")))
# Corpus v17: training authors from round 13 on (corpus_v13's letters ran out at v13Z), the same way.
CORPUS_V17 = tuple(sorted((DATA / "corpus_v17").glob("v17*.jsonl")))
# Corpus v21: training authors from round 16 on (corpus_v17's letters ran out at v17Z), the same way.
CORPUS_V21 = tuple(sorted((DATA / "corpus_v21").glob("v21*.jsonl")))

TRAINING_POOL = (
    DATA / "chats.jsonl",
    DATA / "corpus_v2" / "dev.jsonl",
    DATA / "corpus_v5" / "dev.jsonl",
    DATA / "corpus_v7" / "dev.jsonl",
    DATA / "corpus_v9" / "dev.jsonl",
    DATA / "corpus_v10" / "dev.jsonl",
    DATA / "corpus_v11" / "dev.jsonl",
    DATA / "corpus_v12" / "dev.jsonl",
    DATA / "corpus_v14" / "dev.jsonl",
    DATA / "corpus_v15" / "dev.jsonl",
    DATA / "corpus_v16" / "dev.jsonl",
    DATA / "corpus_v18" / "dev.jsonl",
    DATA / "corpus_v19" / "dev.jsonl",
    DATA / "corpus_v20" / "dev.jsonl",
    DATA / "corpus_v22" / "dev.jsonl",
    DATA / "corpus_v23" / "dev.jsonl",
    *RETIRED_HELD_OUT,
    *CORPUS_V6,
    *CORPUS_V8,
    *CORPUS_V13,
    *CORPUS_V17,
    *CORPUS_V21,
)


CORPUS_V7 = (DATA / "corpus_v7" / "dev.jsonl", DATA / "corpus_v7" / "held_out.jsonl")

CORPUS_V10 = (DATA / "corpus_v10" / "dev.jsonl", DATA / "corpus_v10" / "held_out.jsonl")

CORPUS_V11 = (DATA / "corpus_v11" / "dev.jsonl", DATA / "corpus_v11" / "held_out.jsonl")

CORPUS_V12 = (DATA / "corpus_v12" / "dev.jsonl", DATA / "corpus_v12" / "held_out.jsonl")

CORPUS_V14 = (DATA / "corpus_v14" / "dev.jsonl", DATA / "corpus_v14" / "held_out.jsonl")

CORPUS_V15 = (DATA / "corpus_v15" / "dev.jsonl", DATA / "corpus_v15" / "held_out.jsonl")

CORPUS_V16 = (DATA / "corpus_v16" / "dev.jsonl", DATA / "corpus_v16" / "held_out.jsonl")

CORPUS_V18 = (DATA / "corpus_v18" / "dev.jsonl", DATA / "corpus_v18" / "held_out.jsonl")

CORPUS_V19 = (DATA / "corpus_v19" / "dev.jsonl", DATA / "corpus_v19" / "held_out.jsonl")

CORPUS_V20 = (DATA / "corpus_v20" / "dev.jsonl", DATA / "corpus_v20" / "held_out.jsonl")

CORPUS_V22 = (DATA / "corpus_v22" / "dev.jsonl", DATA / "corpus_v22" / "held_out.jsonl")

CORPUS_V23 = (DATA / "corpus_v23" / "dev.jsonl", DATA / "corpus_v23" / "held_out.jsonl")

CORPUS_V24 = (DATA / "corpus_v24" / "dev.jsonl", DATA / "corpus_v24" / "held_out.jsonl")
# Retired corpora that join TRAINING_POOL with the next retrain of every learned part (the shipped weights record
# the pool they were fitted on, and the tests hold them to TRAINING_POOL). Their misses may be read meanwhile. Round
# 20 shipped no refit (a refit of the tag-and-stage layer on the unchanged pool was measured level and not kept), so
# corpus v24 waits here.
AWAITING_RETRAIN = CORPUS_V24

# Corpus v25 (two blind authors, round 20): its dev split is not tuned on during round 20 either, so that the
# round's result is measured on unseen records; its held_out split stays blind after the round.
CORPUS_V25 = (DATA / "corpus_v25" / "dev.jsonl", DATA / "corpus_v25" / "held_out.jsonl")
BLIND_THIS_ROUND = (DATA / "corpus_v25" / "dev.jsonl",)
# This round's blind corpus, both splits: no trainer reads it while the round lasts (the one name a new round edits
# besides BLIND_THIS_ROUND; trainers and tests ask `is_trainable`).
BLIND_CORPUS = CORPUS_V25


def _same(path: Path, paths: tuple[Path, ...]) -> bool:
    return any(path.resolve() == other.resolve() for other in paths)


def is_blind(path: Path) -> bool:
    """A held-out file that has not been retired, or a split kept unseen this round: aggregate figures only,
    never its misses."""
    if _same(path, BLIND_THIS_ROUND):
        return True
    if _same(path, RETIRED_HELD_OUT) or _same(path, AWAITING_RETRAIN):
        return False
    return "held_out" in path.stem


def is_trainable(path: Path) -> bool:
    """A file a learned part may be fitted on: not blind, and not in this round's blind corpus (any split, or any
    other file beside them)."""
    folders = {blind.resolve().parent for blind in BLIND_CORPUS}
    return not is_blind(path) and path.resolve().parent not in folders
