"""One Stage definition (store/stages.py): nothing else spells a stage name, and what is stored is the
Chinese value on both databases."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from bot.extract import extract
from store.customers import create_customer
from store.stages import OPEN_STAGES, PROGRESSION, Stage
from tests.factories import T0, make_org

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "store", "scheduler")
THE_DEFINITION = Path("store/stages.py")
MIGRATIONS = Path("store/migrations")  # frozen history: a later rename must not rewrite an old default


def stage_literals(path: Path) -> list[int]:
    """Lines where a string constant is exactly a stage name."""
    names = {s.value for s in Stage}
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and node.value in names]


def test_stage_names_are_spelled_only_in_store_stages() -> None:
    offenders = [
        f"{rel}:{line}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if (rel := path.relative_to(ROOT)) != THE_DEFINITION and not rel.is_relative_to(MIGRATIONS)
        for line in stage_literals(path)
    ]
    assert offenders == [], f"use store.stages.Stage instead of a stage name literal: {offenders}"


def test_the_guard_sees_a_stage_literal(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('x = "初步接触"\ny = "初步接触很好"\nz = {"已流失": 1}\n', encoding="utf-8")
    assert stage_literals(sample) == [1, 3]


def test_order_path_and_open_stages() -> None:
    assert " → ".join(PROGRESSION) == "初步接触 → 需求确认 → 方案演示 → 合同洽谈 → 已成交"
    assert Stage.LOST not in PROGRESSION and Stage.WON not in OPEN_STAGES
    assert list(Stage)[-1] is Stage.LOST  # the extractor's "most advanced" reading relies on it


def test_stages_are_stored_and_compared_as_their_chinese_value(engine) -> None:
    # A driver that dumped an Enum by name would store "FIRST_CONTACT" (psycopg does for plain Enums).
    org = make_org(engine)
    hint = extract("王总说合同已经签了，下周付首付款", ref_time=T0).stage_hint
    assert hint is Stage.WON
    with Session(engine) as session:
        rep = session.merge(org.rep_a)
        created = create_customer(session=session, actor=rep, name="王总", at=T0)
        won = create_customer(session=session, actor=rep, name="李总", stage=hint, at=T0)
        session.commit()
        ids = (created.id, won.id)
    with Session(engine) as session:
        stored = session.execute(text("SELECT stage FROM customer WHERE id IN (:a, :b) ORDER BY id"),
                                 {"a": ids[0], "b": ids[1]}).scalars().all()
    assert stored == ["初步接触", "已成交"]
