"""Round 13: the tag layer's reading of who answered whom in a chat (learned_layer.answer_act, dialogue_texts,
tag_text_indices; train_learned_layer.Config.dialogue).

The chats here were written for these tests; none is a corpus text.
"""

from __future__ import annotations

import argparse
import dataclasses
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from benchmarks import train_learned_layer as tl
from bot.extract.extractor import extract
from bot.extract.model import StageInput, TagInput
from bot.understanding import learned_layer as ll
from bot.understanding.semantic_tags import CUSTOMER_REQUEST_TAGS, NEGATIVE_BY_NATURE
from tests.tag_layer_support import assert_declines_and_rep_offers_only_lower

SIZE = 1 << ll.FEATURE_BITS


@pytest.mark.parametrize(("reply", "act"), [
    ("好的", "accepted"), ("行吧，周四上午", "accepted"), ("嗯嗯", "accepted"), ("可以的", "accepted"),
    ("对", "accepted"), ("没问题", "accepted"), ("OK", "accepted"), ("要的，发我", "accepted"),
    ("先不用了", "declined"), ("暂时不需要", "declined"), ("再说吧", "declined"), ("算了", "declined"),
    ("不急", "declined"),
    ("可以考虑一下别家", None), ("好贵啊", None), ("我们内部再商量下", None), ("是不是太贵了", None), ("", None),
])
def test_a_short_answer_is_read_as_assent_or_refusal_and_content_as_neither(reply: str, act: str | None) -> None:
    assert ll.answer_act(reply) == act


def test_only_a_rep_turn_the_customer_answers_next_is_accepted_or_declined() -> None:
    turns = (("R", "要不我先给您出个报价？"), ("C", "嗯嗯"),
             ("R", "另外需要安排个演示吗？"), ("C", "再说吧，我们内部再商量下"),
             ("R", "资料我发您邮箱了"), ("R", "您看下合同条款"), ("C", "好的"),
             ("R", "下周方便拜访吗"), ("N", "备注：客户在出差"), ("C", "可以"))
    accepted, declined = ll.dialogue_texts(turns)
    # The customer's "好的" answers the rep's messages since the customer last spoke (one turn sent in two); a note
    # between a turn and the reply breaks the pair.
    assert accepted.split("\n") == ["要不我先给您出个报价？", "资料我发您邮箱了", "您看下合同条款"]
    assert declined.split("\n") == ["另外需要安排个演示吗？"]


def _hashed(text: str) -> set[int]:
    return {int(i) for i in ll.text_indices(text, "")}


def test_accepted_turns_move_to_the_customer_scope_and_declined_ones_to_its_negated_scope() -> None:
    offer, demo = "要不我先给您出个报价", "另外需要安排个演示吗"
    data = TagInput("嗯嗯\n再说吧", f"{offer}\n{demo}", (), (), False, (("R", offer), ("C", "嗯嗯"),
                                                                         ("R", demo), ("C", "再说吧")))
    old = {int(i) for i in ll.tag_text_indices(data, False)}
    new = {int(i) for i in ll.tag_text_indices(data, True)}
    assert old == {int(i) for i in ll.text_indices(data.customer_text, data.rep_text)}
    offer_keys, demo_keys = _hashed(offer), _hashed(demo)  # plain customer-scope indices of each clause
    assert offer_keys <= new and not {k + 2 * SIZE for k in offer_keys} & new  # the customer's, not the rep's
    assert offer_keys - _hashed("嗯嗯\n再说吧") <= new - old
    assert {k + SIZE for k in demo_keys} <= new  # the customer's negated scope
    own = demo_keys - offer_keys - _hashed("嗯嗯\n再说吧")  # n-grams only the declined clause has
    assert own and not own & new and not {k + 2 * SIZE for k in own} & new
    assert ll.cnn_text(data, True).endswith(offer) and ll.cnn_text(data, False) == data.customer_text


def test_without_turns_the_dialogue_reading_changes_nothing() -> None:
    data = TagInput("价格能不能再便宜点", "我跟领导申请一下", (), (), False)
    assert np.array_equal(ll.tag_text_indices(data, True), ll.text_indices(data.customer_text, data.rep_text))


def test_the_extractor_hands_the_tagger_the_turns_by_side() -> None:
    seen: list[TagInput] = []

    def tagger(data: TagInput) -> tuple[str, ...]:
        seen.append(data)
        return ()

    chat = ("王小明 3/2 10:01\n张总您好，要不我先给您出个报价？\n张建国 3/2 10:02\n嗯嗯\n"
            "王小明 3/2 10:03\n另外需要安排个演示吗？\n张建国 3/2 10:05\n再说吧")
    extract(chat, ref_time=datetime(2026, 3, 3), tagger=tagger)
    assert [side for side, _ in seen[0].turns] == ["R", "C", "R", "C"]
    assert seen[0].turns[1] == ("C", "嗯嗯")


OFFER = "要不我先给您出个报价，顺便安排个演示？"


def _chat_input(reply: str, offer: str = OFFER) -> TagInput:
    turns = (("R", "张总好"), ("C", "最近在比较几家供应商"), *((("R", offer),) if offer else ()), ("C", reply))
    return TagInput(f"最近在比较几家供应商\n{reply}", "\n".join(t for side, t in turns if side == "R"), (), (), False,
                    turns)


def test_with_dialogue_weights_a_declined_offer_never_raises_a_tag_an_accepted_one_may() -> None:
    weights = ll.shipped_weights()
    assert weights is not None
    dialogue = dataclasses.replace(weights, dialogue=True)
    assert ll.dialogue_texts(_chat_input("先不用了").turns) == ("", OFFER)
    without = ll.tag_probabilities(dialogue, _chat_input("先不用了", offer=""), ())
    declined = ll.tag_probabilities(dialogue, _chat_input("先不用了"), ())
    assert all(declined[t] <= without[t] + 1e-9 for t in ll.TAGS if t not in NEGATIVE_BY_NATURE)
    assert any(declined[t] < without[t] - 1e-6 for t in CUSTOMER_REQUEST_TAGS)
    accepted = _chat_input("嗯嗯")
    gained = ll.tag_probabilities(dialogue, accepted, ())
    assert any(gained[t] > ll.tag_probabilities(weights, accepted, ())[t] for t in CUSTOMER_REQUEST_TAGS)
    assert_declines_and_rep_offers_only_lower(dialogue)


def test_weights_without_the_flag_load_and_decide_as_before(tmp_path: object) -> None:
    weights = ll.shipped_weights()
    assert weights is not None and not weights.dialogue  # the shipped file has no "dialogue" in its meta
    data = _chat_input("嗯嗯")
    plain = dataclasses.replace(data, turns=())
    assert ll.tag_probabilities(weights, data, ()) == ll.tag_probabilities(weights, plain, ())
    assert ll.learned_tags(weights, data, ()) == ll.learned_tags(weights, plain, ())


def _item(k: int, data: TagInput, tags: list[str], author: str) -> tl.Item:
    stage = StageInput(data.customer_text, data.rep_text, (), None, False, False)
    return tl.Item({"id": str(k), "expect": {"tags": tags}}, author, data, (), stage, set(), None,
                   ll.text_indices(data.customer_text, data.rep_text))


def test_the_trainer_reads_the_turns_only_with_the_option() -> None:
    data = _chat_input("嗯嗯")
    item = _item(0, data, ["要报价"], "a")
    assert np.array_equal(tl.tag_hashed(item, False), item.hashed)
    assert np.array_equal(tl.tag_hashed(item, True), ll.tag_text_indices(data, True))
    opts = tl.CnnOptions(filters=1, bits=5)
    with_turns = tl.cnn_rows([item], dataclasses.replace(opts, dialogue=True))
    assert len(with_turns.ids) > len(tl.cnn_rows([item], opts).ids)  # the accepted offer's windows
    cfg = tl.Config(l2_hash=1.0, folds=4, cnn=tl.CnnOptions(filters=2), dialogue=True)
    assert cfg.conv is not None and cfg.conv.dialogue
    fit = tl.fit_tags([item, _item(1, _chat_input("先不用了"), [], "b")], dataclasses.replace(cfg, iters=5))
    assert tl.weights(fit, (np.zeros((1, 1)), np.zeros(1)), np.full(len(ll.TAGS), 0.5), 0.0).dialogue


def test_the_measuring_tool_scores_each_author_with_a_second_stage_fitted_without_it() -> None:
    from benchmarks.tag_dialogue_check import second_stage

    texts = ("价格太贵了", "下周来演示一下", "合同法务在看", "付款走三个节点", "钉钉那个便宜", "好的")
    items = [_item(k, TagInput(texts[k % 6], "", (), (), False), [ll.TAGS[k % 3]], f"a{k % 4}") for k in range(24)]
    first = np.random.default_rng(0).uniform(0.05, 0.95, (len(items), len(ll.TAGS)))
    probs = second_stage(items, first, None, 1.0)
    held = [k for k, i in enumerate(items) if i.author == "a1"]
    w, b = tl.fit_stack([i for i in items if i.author != "a1"], first[[k for k in range(24) if k not in held]], 1.0)
    x = tl.stack_rows([items[k] for k in held], first[held])
    assert probs[held] == pytest.approx(1 / (1 + np.exp(-np.clip(x @ w + b, -30, 30))))
    by_group = second_stage(items, first, None, 1.0, groups=2)  # a0, a2 in one group, a1, a3 in the other
    w, b = tl.fit_stack([i for i in items if i.author in ("a0", "a2")],
                        first[[k for k, i in enumerate(items) if i.author in ("a0", "a2")]], 1.0)
    assert by_group[held] == pytest.approx(1 / (1 + np.exp(-np.clip(x @ w + b, -30, 30))))


def test_the_tag_checks_keep_second_stage_probabilities_per_model_and_records(tmp_path: Path) -> None:
    from benchmarks.tag_dialogue_check import kept_second_stage

    args = argparse.Namespace(no_cnn=True, stack_groups=4)
    fits: list[str] = []

    def fit(value: float) -> np.ndarray:
        fits.append(str(value))
        return np.full((2, len(ll.TAGS)), value)

    first = kept_second_stage(tmp_path, "shipped", args, ("a", "b"), lambda: fit(0.25))
    assert (tmp_path / "shipped-nocnn-g4.pkl").exists()
    again = kept_second_stage(tmp_path, "shipped", args, ("a", "b"), lambda: fit(0.75))
    assert fits == ["0.25"] and np.array_equal(first, again)  # kept for the same records: not fitted again
    other = kept_second_stage(tmp_path, "shipped", args, ("a", "c"), lambda: fit(0.75))
    assert fits == ["0.25", "0.75"] and other[0, 0] == 0.75  # other records: fitted again
    assert kept_second_stage(None, "shipped", args, ("a", "b"), lambda: fit(0.5))[0, 0] == 0.5


def test_the_tag_checks_score_read_and_unread_authors_apart() -> None:
    from benchmarks.tag_dialogue_check import author_sets

    items = [_item(k, TagInput("好的", "", (), (), False), [], f"a{k % 3}") for k in range(6)]
    assert author_sets(items, ["a1", "zz"]) == {"read": ["a1"], "unread": ["a0", "a2"], "all": ["a0", "a1", "a2"]}
    assert author_sets(items, ["zz"]) == {"all": ["a0", "a1", "a2"]}
