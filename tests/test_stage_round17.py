"""Round 17: the stage head's context block (learned_layer.STAGE_CONTEXTS: the message's form, alone and crossed with
the rules' stage; the rules' evidence per stage and the new-contact flag, crossed with the form), behind the weights'
meta "stage_context"; the extractor carries the chat's turns on StageInput (benchmarks/stage_form_check.py measures it).

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from benchmarks import stage_form_check as check
from benchmarks import train_learned_layer as tl
from bot.extract.extractor import extract
from bot.extract.model import StageInput
from bot.understanding import learned_layer as ll
from store.stages import Stage

SINGLE = (("C", "合同我们这边法务看过了，下周盖章"),)
CHAT = (("C", "合同我们这边法务看过了，下周盖章"), ("R", "好的，盖完章寄一份给我"))
NOTE = (("N", "客户说合同法务看过了，下周盖章"),)


NEEDS_AND_TERMS = frozenset({Stage.NEEDS_CONFIRMED, Stage.NEGOTIATION})


def _input(turns: tuple[tuple[str, str], ...], rule: Stage | None = Stage.NEGOTIATION,
           evidence: frozenset[Stage] = NEEDS_AND_TERMS, new: bool = False) -> StageInput:
    return StageInput("合同我们这边法务看过了，下周盖章", "", ("合同法务",), rule, False, True, evidence, new, turns)


def test_the_context_indices_follow_form_rule_stage_and_evidence() -> None:
    assert ll.N_CONTEXT["form"] == len(ll.FORMS) * (1 + len(ll.STAGES))
    single = ll.stage_context_indices(_input(SINGLE), ("form",))
    f = ll.FORMS.index("single")
    assert single == [f, len(ll.FORMS) + f * len(ll.STAGES) + ll.STAGES.index(Stage.NEGOTIATION)]
    assert ll.stage_context_indices(_input(CHAT), ("form",))[0] == ll.FORMS.index("chat")
    assert ll.stage_context_indices(_input(NOTE), ("form",))[0] == ll.FORMS.index("note")
    assert ll.stage_context_indices(_input(()), ("form",))[0] == ll.FORMS.index("note")  # no turns given: a note
    width = len(Stage) + 1
    evidence = ll.stage_context_indices(_input(SINGLE, new=True), ("evidence",))
    order = list(Stage)
    assert evidence == [f * width + order.index(Stage.NEEDS_CONFIRMED), f * width + order.index(Stage.NEGOTIATION),
                        f * width + len(Stage)]
    both = ll.stage_context_indices(_input(SINGLE), ("form", "evidence"))
    assert both[:2] == single and both[2:] == [ll.N_CONTEXT["form"] + i for i in evidence[:2]]
    assert max(both) < sum(ll.N_CONTEXT.values())


def _with_context(weights: ll.Weights, rows: np.ndarray, parts: tuple[str, ...]) -> ll.Weights:
    return dataclasses.replace(weights, stage_w=np.vstack([weights.stage_w, rows.astype(np.float32)]),
                               stage_context=parts)


def test_weights_without_the_block_ignore_the_form_and_zero_rows_decide_as_before() -> None:
    weights = ll.shipped_weights()
    assert weights is not None and weights.stage_context == ()
    before = ll.stage_probabilities(weights, _input(SINGLE))
    assert ll.stage_probabilities(weights, _input(CHAT)) == pytest.approx(before)  # the form is not read
    zero = _with_context(weights, np.zeros((ll.N_CONTEXT["form"], len(ll.STAGES))), ("form",))
    assert ll.stage_probabilities(zero, _input(SINGLE)) == pytest.approx(before)
    rows = np.zeros((ll.N_CONTEXT["form"], len(ll.STAGES)))
    rows[ll.FORMS.index("single"), ll.STAGES.index(Stage.WON)] = 20.0  # a forwarded single leans to 已成交
    lifted = _with_context(weights, rows, ("form",))
    assert ll.learned_stage(lifted, _input(SINGLE)) is Stage.WON
    assert ll.learned_stage(lifted, _input(CHAT)) is ll.learned_stage(weights, _input(CHAT))
    # the new-contact bound still holds over the block: no 已成交 without the rules' evidence of it
    assert ll.learned_stage(lifted, _input(SINGLE, new=True)) is not Stage.WON


def test_a_weights_file_with_the_block_loads_and_one_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    with np.load(ll.WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps({**meta, "stage_context": ["form", "evidence"]}, ensure_ascii=False))
    np.savez(tmp_path / "short.npz", **arrays)
    with pytest.raises(ValueError, match="stage head"):
        ll.load_weights(tmp_path / "short.npz")
    n = sum(ll.N_CONTEXT.values())
    arrays["stage_w"] = np.vstack([arrays["stage_w"], np.zeros((n, len(ll.STAGES)), dtype=arrays["stage_w"].dtype)])
    np.savez(tmp_path / "context.npz", **arrays)
    loaded = ll.load_weights(tmp_path / "context.npz")
    assert loaded.stage_context == ("form", "evidence")
    arrays["meta"] = np.array(json.dumps({**meta, "stage_context": ["weather"]}, ensure_ascii=False))
    np.savez(tmp_path / "unknown.npz", **arrays)
    with pytest.raises(ValueError, match="context"):
        ll.load_weights(tmp_path / "unknown.npz")


def test_the_extractor_carries_the_turns_to_the_stager() -> None:
    seen: list[StageInput] = []

    def stager(data: StageInput) -> Stage | None:
        seen.append(data)
        return data.rule_stage

    chat = "王总 11/19 14:03\n合同法务看过了，下周盖章\n李明 11/19 14:05\n好的，盖完章寄一份给我"
    extract(chat, ref_time=datetime.fromisoformat("2026-11-19T15:00:00+08:00"), rep_names=("李明",), stager=stager)
    extract("王总说合同法务看过了，下周盖章", ref_time=datetime.fromisoformat("2026-11-19T15:00:00+08:00"),
            stager=stager)
    assert ll.message_form(seen[0]) == "chat" and {s for s, _ in seen[0].turns} == {"C", "R"}
    assert ll.message_form(seen[1]) == "note"


def _item(k: int, text: str, stage: str, turns: tuple[tuple[str, str], ...], author: str) -> tl.Item:
    si = StageInput(text, "", (), Stage.NEEDS_CONFIRMED, False, True, frozenset({Stage.NEEDS_CONFIRMED}), False, turns)
    sample = {"id": f"t{k}", "format": "forwarded_single" if len(turns) == 1 else "wecom_copy", "text": text,
              "expect": {"tags": [], "stage_hint": stage}}
    return tl.Item(sample, author, None, (), si, set(), Stage.NEEDS_CONFIRMED,  # type: ignore[arg-type]
                   ll.text_indices(text, ""))


def test_the_trainer_fits_the_block_and_it_learns_a_form_the_text_does_not_show() -> None:
    # The same words mean 需求确认 in a chat copy and 方案演示 in a forwarded single: only the form tells them apart.
    items = [_item(k, "方案再看看", "方案演示" if k % 2 else "需求确认", SINGLE if k % 2 else CHAT, f"a{k % 4}")
             for k in range(40)]
    cfg = tl.Config(l2_hash=1.0)
    plain = tl.fit_stage(items, cfg, tl.StageOptions(l2_hash=1.0))
    fitted = tl.fit_stage(items, cfg, tl.StageOptions(l2_hash=1.0, context=("form",)))
    assert fitted[0].shape[0] == plain[0].shape[0] + ll.N_CONTEXT["form"]
    w = check.stage_only_weights(fitted, ("form",))
    assert ll.learned_stage(w, items[1].stage_input) is Stage.DEMO
    assert ll.learned_stage(w, items[0].stage_input) is Stage.NEEDS_CONFIRMED
    base = check.stage_only_weights(plain, ())
    assert ll.learned_stage(base, items[1].stage_input) is ll.learned_stage(base, items[0].stage_input)
    assert check.parts_of("evidence+form") == ("form", "evidence") and check.parts_of("base") == ()
