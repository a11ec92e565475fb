"""Stage, round 9 (issue #13): measuring the stage head on what it reads in production.

In production the stage head reads the LEARNED tag head's tags, and the rules' stage computed from them; it is
fitted on the rules' tags. benchmarks/train_learned_layer.cross_fitted_stage_inputs rebuilds each record's
StageInput with cross-fitted learned tags (a tag head that never saw the record's author group), so
benchmarks/stage_loao.py scores the head as it serves. These tests check that rebuilding.

The sentences here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest

import benchmarks.train_learned_layer as trainer
from bot.extract import extract
from bot.extract.model import StageInput, TagInput
from bot.understanding import learned_layer as ll
from bot.understanding.text import make_tagger
from store.stages import Stage

RULES_TAGGER = make_tagger(learned=False)
SENT = "2026-11-16T10:00:00+08:00"
TEXTS = (
    "下午去了趟凯达冷链，跟仓储部的孔经理聊了半小时",
    "孔经理说下周三上午方便，约好去他们仓库看看",
    "晨光印务的魏总问我们的系统能不能接他们的老ERP",
    "魏总那边说预算还在走流程，下个月再说",
    "跟禾丰农机的严工约了周五下午过去",
    "严工说他们老板觉得价格偏高",
    "给恒远纸业的郭姐回了个电话，她在出差",
    "郭姐说合同条款法务还要再看一遍",
)


def _item(text: str, author: str, number: int) -> trainer.Item:
    seen: dict[str, Any] = {}

    def tagger(data: TagInput) -> tuple[str, ...]:
        seen["tag"], seen["rule_tags"] = data, RULES_TAGGER(data)
        return tuple(seen["rule_tags"])

    def stager(data: StageInput) -> Stage | None:
        seen["stage"] = data
        return data.rule_stage

    sample = {"id": f"{author}-{number}", "text": text, "ref_time": SENT, "format": "plain_note",
              "expect": {"tags": [], "stage_hint": None}}
    result = extract(text, ref_time=datetime.fromisoformat(SENT), tagger=tagger, stager=stager)
    data = seen["tag"]
    return trainer.Item(sample, author, data, seen["rule_tags"], seen["stage"], set(result.tags), result.stage_hint,
                        ll.text_indices(data.customer_text, data.rep_text))


@pytest.fixture(scope="module")
def items() -> list[trainer.Item]:
    return [_item(text, f"a{k % 4}", k) for k, text in enumerate(TEXTS)]


def test_the_stage_input_is_rebuilt_with_the_given_tags_and_the_rule_stage_reads_them(
        items: list[trainer.Item]) -> None:
    plain, quoted = trainer.stage_inputs_with_tags(items[:1] * 2, [(), ("要报价",)])
    assert (plain.tags, quoted.tags) == ((), ("要报价",))
    # The rules' stage is recomputed from the tags, as extract() does in production: a quote request is needs.
    assert plain.rule_stage is Stage.FIRST_CONTACT
    assert quoted.rule_stage is Stage.NEEDS_CONFIRMED
    assert quoted.customer_text == items[0].stage_input.customer_text


def test_learned_tags_are_thresholded_and_a_visit_needs_a_date(items: list[trainer.Item]) -> None:
    cfg = trainer.Config(l2_hash=1.0, folds=0, threshold=0.5)
    first = np.full((len(items), len(ll.TAGS)), 0.1)
    first[:, ll.TAGS.index("要报价")] = 0.7
    first[:, ll.TAGS.index("预约拜访")] = 0.9
    chosen = trainer.oof_learned_tags(items, cfg, first)
    for item, tags in zip(items, chosen, strict=True):
        expected = {"要报价", "预约拜访"} if item.tag_input.has_future_date else {"要报价"}
        assert set(tags) == expected
    assert any(not i.tag_input.has_future_date for i in items) and any(i.tag_input.has_future_date for i in items)


def test_each_groups_second_stage_is_fitted_without_that_group(items: list[trainer.Item],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = trainer.Config(l2_hash=1.0, folds=2)
    group = trainer.author_groups(items, cfg.folds)
    fitted_on: list[set[str]] = []
    real = trainer.second_stage

    def recording(fit_items: list[trainer.Item], first: np.ndarray, c: trainer.Config) -> Any:
        fitted_on.append({i.author for i in fit_items})
        return real(fit_items, first, c)

    monkeypatch.setattr(trainer, "second_stage", recording)
    trainer.oof_learned_tags(items, cfg, np.full((len(items), len(ll.TAGS)), 0.3))
    assert len(fitted_on) == cfg.folds
    for g, authors in enumerate(fitted_on):
        assert authors and all(group[a] != g for a in authors)
