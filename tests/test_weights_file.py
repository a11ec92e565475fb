"""The shared loader of shipped model weights: once per process, and an unusable file is read once, not per message."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path

import pytest

from bot.extract.weights_file import ShippedWeights
from bot.understanding import learned_layer as ll
from bot.understanding.text import understand_text

SENT = datetime.fromisoformat("2026-11-16T10:00:00+08:00")


def test_a_good_file_is_parsed_once_even_when_first_used_by_many_threads(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    path.write_bytes(b"weights")
    calls: list[Path] = []

    def parse(p: Path) -> bytes:
        calls.append(p)
        return p.read_bytes()

    shipped = ShippedWeights(path, parse, name="test_model")
    threads = [threading.Thread(target=shipped.get) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert shipped.get() == b"weights"
    assert calls == [path] and shipped.loads == 1


@pytest.mark.parametrize("error", [OSError, ValueError, KeyError])
def test_an_unusable_file_is_no_weights_read_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, error: type[Exception],
) -> None:
    path = tmp_path / "w.npz"
    path.write_bytes(b"damaged")
    calls = 0

    def parse(p: Path) -> bytes:
        nonlocal calls
        calls += 1
        raise error("unusable")

    shipped = ShippedWeights(path, parse, name="test_model")
    with caplog.at_level(logging.WARNING):
        assert [shipped.get() for _ in range(3)] == [None, None, None]
    assert calls == 1 and shipped.loads == 0
    assert [r.getMessage() for r in caplog.records] == ["test_model.weights_unusable"]


def test_a_missing_file_is_no_weights_and_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shipped = ShippedWeights(tmp_path / "absent.npz", lambda p: p.read_bytes(), name="test_model")
    with caplog.at_level(logging.WARNING):
        assert shipped.get() is None and shipped.get() is None
    assert [r.getMessage() for r in caplog.records] == ["test_model.weights_missing"]


def test_a_damaged_learned_layer_file_leaves_the_rules_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    damaged = tmp_path / "learned_layer.npz"
    damaged.write_bytes(b"not a zip archive")
    monkeypatch.setattr(ll, "SHIPPED", ShippedWeights(damaged, ll.load_weights, name="understanding.learned_layer"))
    text = "刘主任说系统老是卡，报表也导不出来，下周三去他们公司看看"
    with caplog.at_level(logging.WARNING):
        results = [understand_text(text, sent_at=SENT) for _ in range(3)]
    assert results == [understand_text(text, sent_at=SENT, learned=False)] * 3
    assert [r.getMessage() for r in caplog.records] == ["understanding.learned_layer.weights_unusable"]
