"""The learned next-contact chooser (bot/extract/contact_ranker.py, issue #13 round 8).

Sentences are written for these tests (no corpus text). Each case in CHOSEN is one the rules alone get
wrong: `test_the_rules_alone_miss_these` proves it, so the table cannot pass vacuously.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from benchmarks import train_contact_ranker as trainer
from benchmarks.corpora import BLIND_CORPUS, ROOT, TRAINING_POOL, is_trainable
from bot.extract import contact_ranker as kr
from bot.extract import extract
from bot.extract.weights_file import ShippedWeights
from bot.extract.when import find_time_mentions

SENT = datetime.fromisoformat("2026-11-20T10:00:00+08:00")  # a Friday: 下周一 is 11-23

CHOSEN = [
    # A spoken repair in a voice memo: the day said after "不对" / "哦不是" is meant, not the one withdrawn.
    ("做个记录 约了下周三 哦不是 下周四上午去他们厂里看设备", date(2026, 11, 26)),
    ("嗯 那个 记一下 跟金桥酒店的前厅经理约好了 下周三 不对 下周四下午两点 去酒店给前台做培训", date(2026, 11, 26)),
    ("嗯 约了 下周一 哦不对 下周二下午 去他们仓库看现场", date(2026, 11, 24)),
    # A delivery day next to the visit that follows it: the visit is the contact.
    ("方姐 11/20 09:00\n设备下周一到货吗\n李杰 11/20 09:05\n对 下周一到 到了我们下周二过去装\n方姐 11/20 09:06\n好的",
     date(2026, 11, 24)),
    # A period of work starts on one day; the visit that closes it is on another.
    ("跟踪一下 东方医院信息科下周一开始试运行 试运行一周后下周五我们去收集反馈", date(2026, 11, 27)),
]


def _contact(text: str) -> date | None:
    when = extract(text, ref_time=SENT).next_contact
    return when.date() if when else None


@pytest.mark.parametrize(("text", "day"), CHOSEN)
def test_the_chooser_picks_the_planned_contact(text: str, day: date) -> None:
    assert _contact(text) == day


@pytest.mark.parametrize(("text", "day"), CHOSEN)
def test_the_rules_alone_miss_these(text: str, day: date, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kr, "load_weights", lambda: None)  # no weights: the rules' choice stands
    assert _contact(text) != day


def test_dates_resolve_against_the_send_time_not_the_processing_time() -> None:
    text = "嗯 约了 下周一 哦不对 下周二下午 去他们仓库看现场"
    a_day_earlier = extract(text, ref_time=datetime.fromisoformat("2026-11-13T10:00:00+08:00")).next_contact
    assert a_day_earlier is not None and a_day_earlier.date() == date(2026, 11, 17)


def test_the_candidates_are_the_future_days_and_each_day_once() -> None:
    text = "上周三见过面，下周一前付款，下周一下午三点再过去，下周三电话回访"
    mentions = find_time_mentions(text, ref_time=SENT)
    data = kr.ContactInput(text, mentions, SENT, None)
    days = [c.day for c in kr.candidates(data)]
    assert days == [date(2026, 11, 23), date(2026, 11, 25)]
    # the card shows the mention with a clock time
    first = kr.candidates(data)[0].representative(None)
    assert first.has_time and first.when.hour == 15


def test_the_weights_load_once_per_process_even_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kr, "SHIPPED", ShippedWeights(kr.WEIGHTS_FILE, kr.read_weights, name="contact_ranker"))
    threads = [threading.Thread(target=kr.load_weights) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for text, _ in CHOSEN[:2]:
        _contact(text)
    assert kr.load_weights() is not None
    assert kr.SHIPPED.loads == 1


def test_the_shipped_weights_are_small_and_trained_on_the_training_pool_only() -> None:
    assert kr.WEIGHTS_FILE.stat().st_size < 200_000
    weights = kr.read_weights(kr.WEIGHTS_FILE)
    pool = {p.resolve().relative_to(ROOT).as_posix() for p in TRAINING_POOL}
    assert weights.trained_on and set(weights.trained_on) == pool
    assert all(is_trainable(ROOT / p) for p in weights.trained_on)


def test_training_refuses_a_blind_file() -> None:
    with pytest.raises(AssertionError):
        trainer.load_records((*TRAINING_POOL, BLIND_CORPUS[1]))


def test_inference_and_training_are_deterministic() -> None:
    text = CHOSEN[0][0]
    assert len({_contact(text) for _ in range(3)}) == 1
    mentions = find_time_mentions(text, ref_time=SENT)
    data = kr.ContactInput(text, mentions, SENT, mentions[0])
    cands = kr.candidates(data)
    dense, hashed = kr.featurize(data, cands)
    again = kr.featurize(data, cands)
    assert np.array_equal(dense, again[0]) and hashed == again[1]
    days: list[str | None] = [*(c.day.isoformat() for c in cands), None]
    records = [trainer.Record("a", days[1], days[0], days, dense, hashed, 0.0),
               trainer.Record("b", None, days[0], days, dense, hashed, 0.0)]
    first, second = trainer.fit(records), trainer.fit(records)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert first[0].any()


@pytest.mark.parametrize("content", [b"not a zip archive", None])
def test_a_missing_or_damaged_weights_file_leaves_the_rules_choice(
        content: bytes | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "contact_ranker.npz"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setattr(kr, "SHIPPED", ShippedWeights(path, kr.read_weights, name="contact_ranker"))
    text, _ = CHOSEN[0]
    mentions = find_time_mentions(text, ref_time=SENT)
    data = kr.ContactInput(text, mentions, SENT, mentions[0])
    assert kr.choose_contact(data) is mentions[0]
    assert _contact(text) == date(2026, 11, 25)  # the rules' day, as without the chooser


def test_weights_of_another_feature_set_are_unusable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "contact_ranker.npz"
    np.savez_compressed(path, dense=np.zeros(3, np.float32), hashed=np.zeros(kr.N_HASHED, np.float32),
                        dense_names=np.array(["a", "b", "c"]), trained_on=np.array(["x"]))
    monkeypatch.setattr(kr, "SHIPPED", ShippedWeights(path, kr.read_weights, name="contact_ranker"))
    assert kr.load_weights() is None


def test_the_start_of_a_month_is_a_day_like_its_end() -> None:
    # 月初 is the twin of 月底: the first of the month (the next one when said after the middle of a month).
    assert _contact("嗯 跟那个瑞丰五金的老板聊了 他说现在忙 让我下个月初再给他打电话") == date(2026, 12, 1)
    assert _contact("客户说款月初付 到时候我再问问") is None  # a payment, not a contact
    found = {m.text: m.when.date() for m in find_time_mentions("月初再约，十二月初过去，正月初八开工，上个月初来过",
                                                               ref_time=SENT)}
    assert found == {"月初": date(2026, 12, 1), "十二月初": date(2026, 12, 1)}
    early = datetime.fromisoformat("2026-11-03T10:00:00+08:00")
    assert [m.when.date() for m in find_time_mentions("月初", ref_time=early)] == [date(2026, 11, 1)]


def test_a_day_refused_in_cantonese_is_never_chosen_whatever_the_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    # The bound reads the text as the rules do (as_mandarin: "不喺" is "不在"). Weights that rank the earliest day
    # first would otherwise pick the refused 周一.
    def earliest_first(weights: object, dense: np.ndarray, hashed: object) -> np.ndarray:
        return np.arange(len(dense), 0, -1, dtype=np.float64)

    monkeypatch.setattr(kr, "scores", earliest_first)
    assert _contact("下周一我不喺公司，下周三过来吧") == date(2026, 11, 25)


def _input(text: str) -> kr.ContactInput:
    mentions = find_time_mentions(text, ref_time=SENT)
    return kr.ContactInput(text, mentions, SENT, None)


@pytest.mark.parametrize(
    ("text", "refused", "moved"),
    [
        # The day moved from is ruled out, the day moved to is not (contact._moved).
        ("原定下周四的培训会推迟到下周五上午", [], [date(2026, 11, 26)]),
        ("下周三的会改到下周四吧", [], [date(2026, 11, 25)]),
        # A day turned down, with the day offered instead (contact._declined).
        ("下周三不在，下周四下午吧", [date(2026, 11, 25)], []),
        # A day named twice, once moved and once plainly, still holds: only a day every mention of which is moved
        # away from is ruled out.
        ("下周三先电话沟通一下，下周三的现场培训推迟到下周五", [], []),
        # Nothing moved or refused.
        ("下周二上午过去看设备", [], []),
    ],
)
def test_masked_rows_name_the_days_refused_and_moved_from(
        text: str, refused: list[date], moved: list[date]) -> None:
    data = _input(text)
    cands = kr.candidates(data)
    masked = kr.masked_rows(data, cands)
    assert [cands[i].day for i in masked["refused"]] == refused
    assert [cands[i].day for i in masked["moved"]] == moved


def test_a_masked_row_is_never_chosen_and_none_stays_open() -> None:
    ranked = np.array([3.0, 2.0, 1.0])  # two candidate days, then "none"
    masked = {"refused": [0], "moved": [1]}
    assert int(np.argmax(kr.apply_masks(ranked, masked, frozenset({"refused", "moved"})))) == 2
    assert int(np.argmax(kr.apply_masks(ranked, masked, frozenset({"refused"})))) == 1
    assert int(np.argmax(kr.apply_masks(ranked, masked, frozenset()))) == 0


def test_the_trainer_scores_with_the_masks_choose_contact_applies() -> None:
    text = "原定下周四的培训会推迟到下周五上午"
    data = _input(text)
    cands = kr.candidates(data)
    dense, hashed = kr.featurize(data, cands)
    days: list[str | None] = [*(c.day.isoformat() for c in cands), None]
    record = trainer.Record("a", days[1], None, days, dense, hashed, 0.0, masked=kr.masked_rows(data, cands))
    # Weights that favour the first row (the day moved from) through the "moved" feature itself.
    wd = np.zeros(len(kr.DENSE))
    wd[kr.DENSE.index("moved")] = 5.0
    wh = np.zeros(kr.N_HASHED)
    assert trainer.predict(record, wd, wh, frozenset()) == days[0]
    assert trainer.predict(record, wd, wh, frozenset({"refused", "moved"})) != days[0]
    # What ships is what choose_contact applies.
    assert trainer.predict(record, wd, wh) == trainer.predict(record, wd, wh, kr.SHIPPED_MASKS)
