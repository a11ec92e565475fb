"""One clock: product code never reads the wall clock behind the injected one (ARCHITECTURE.md #7).

The behavioural guard is CI's second run with the wall clock moved years ahead; this static check
names the offending line at once, before anything has to fail in time."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "store", "scheduler")
ALLOWED_FILES = {Path("bot/clock.py")}  # system_clock: what composition roots inject
MARKER = "# wall-clock:"  # a reviewed exception on that line (e.g. APScheduler's own trigger time)
WALL_CLOCK_CALLS = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "time_ns"),
}


def wall_clock_reads(path: Path) -> list[int]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
        if (name, node.func.attr) in WALL_CLOCK_CALLS and MARKER not in lines[node.lineno - 1]:
            found.append(node.lineno)
    return found


def test_product_code_reads_time_only_from_the_injected_clock() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT) not in ALLOWED_FILES
        for line in wall_clock_reads(path)
    ]
    assert offenders == [], f"wall-clock reads outside bot/clock.py: {offenders}"


def test_the_guard_sees_a_wall_clock_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import datetime, time\nx = datetime.datetime.now()\ny = time.time()\n"
                      "z = datetime.datetime.now()  # wall-clock: reviewed\n")
    assert wall_clock_reads(sample) == [2, 3]
