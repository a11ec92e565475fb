"""Round 14 of the company ranker: the "no company" row reads what kind of message it is (`NULL_KEYS`), and each
mention the verb of its clause (`VERB_FRAME`).

Sentences are written for these tests (no corpus text). Which choice wins is the trained model's decision (judged
held out in tests/data/FINAL_FIELDS.md, round 14), so these tests check the features: with a switch off the
features are exactly round 13's (older weights decide as before), with it on the keys described are there.
"""

from __future__ import annotations

import pytest

from bot.extract import company_ranker as co

MEMO = "嗯那个今天去了华鑫科技那边然后就是跟他们王总聊了一下他们现在用的是顺丰的系统"
PRIVATE = "我家里要装两台空调，你们下周能来看看吗？我自己在家"


def _feats(text: str) -> tuple[list[str], list[set[int]]]:
    names, feats = co.featurize(text, "", None, None, None)
    return names, [set(f.tolist()) for f in feats]


def _key(key: str) -> int:
    return int(co.hashed([key])[0])


def test_switches_off_give_round_13s_features(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(co, "NULL_KEYS", False)
    monkeypatch.setattr(co, "VERB_FRAME", False)
    names, before = _feats(MEMO)
    cands = co.candidates(MEMO, "", None, None, None)
    old_none = co.none_keys(cands, None, None)
    assert before[0] == set(co.hashed(old_none).tolist())
    monkeypatch.setattr(co, "NULL_KEYS", True)
    monkeypatch.setattr(co, "VERB_FRAME", True)
    names_on, after = _feats(MEMO)
    assert names == names_on  # the same candidates, only more keys
    assert before[0] < after[0]
    assert all(b <= a for b, a in zip(before, after, strict=True))


def test_switches_are_off_by_default() -> None:
    # measured level / down held out (FINAL_FIELDS.md, round 14): the shipped features are round 13's
    assert not co.NULL_KEYS and not co.VERB_FRAME


def test_no_company_row_reads_the_kind_of_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(co, "NULL_KEYS", True)
    _, private = _feats(PRIVATE)
    for key in ("NONEsingular", "NONEsingular:you", "NONEpunct1", "NONEsuffixed0"):
        assert _key(key) in private[0], key
    _, memo = _feats(MEMO)
    for key in ("NONEreg:3p", "NONEpunct0", "NONEvisit", "NONEuse:3p", "NONErole:third:3p"):
        assert _key(key) in memo[0], key
    assert _key("NONEsingular") not in memo[0] and _key("NONEsuffixed0") not in memo[0]


def test_verb_frame_keys_of_a_mention(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(co, "VERB_FRAME", True)
    names, feats = _feats(MEMO)
    visited, used = feats[names.index("华鑫科技")], feats[names.index("顺丰")]
    assert _key("Cvfb:visit:3p") in visited and _key("Cvfb:use") not in visited
    assert _key("Cvfb:use:3p") in used and _key("Cvfb:visit") not in used
    # the firm's side speaks and wants (那边 stands between the firm and the verbs, inside six characters)
    keys = co._verb_frame_keys("华鑫那边说下周要下单", 0, 2, "plain")
    assert {"vfa:speak:open", "vfa:want:plain"} <= set(keys)
    keys = co._verb_frame_keys("我们把报价单发给华鑫了，昨天", 8, 10, "plain")
    assert "vfb:sellto" in keys and not any(k.startswith("vfa:") for k in keys)
    assert co._verb_frame_keys("我们把报价单发给华鑫了，昨天说要", 8, 10, "plain") == keys  # the clause ends at ，


def test_author_sets_of_round_14() -> None:
    from benchmarks import company_misses, people_compare

    order = [f"a{i}" for i in range(107)]
    read = company_misses.author_sets(order, 7, 3)["read"]
    assert len(read) == 15 and "a3" in read and "a10" in read and "a0" not in read
    assert people_compare.author_sets(order, 7, 3)["READ"] == read
    assert company_misses.author_sets(order)["read"] == set(order[0::2])  # rounds 10-12's split by default
    assert people_compare.author_sets(order)["READ"] == set(order[0::6])  # round 13's
