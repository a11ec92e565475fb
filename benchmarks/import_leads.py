"""How fast `genjin import` is: 10k spreadsheet rows (Chinese headers; some repeated in the file,
some already customers, some invalid) through the full path — read, map, validate, duplicate check,
rules (weighted, least load, round robin with caps), write — on SQLite and PostgreSQL; then the same
file again (idempotent: everything skipped) and a dry run. The budget is 60 s for 10k rows; the
printed ratio is time / budget (below 1.0 passes).

    python benchmarks/import_leads.py                          # sqlite and postgres, 10k rows
    python benchmarks/import_leads.py --rows 50000 --backends sqlite
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openpyxl import Workbook  # noqa: E402
from sqlmodel import Session, func, select  # noqa: E402

from bot.config import LeadSettings, Settings  # noqa: E402
from bot.leads.import_export import detect_mapping, read_table  # noqa: E402
from bot.leads.importer import Importer  # noqa: E402
from store.db import make_engine, migrate, session_scope  # noqa: E402
from store.models import Customer, LeadTouch, Member, Role, Team  # noqa: E402

BUDGET_SECONDS = 60.0
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文斌"
COMPANIES = ["华康医疗", "申通物流", "南方电网", "海信家电", "三一重工", "蓝天教育", "恒通汽配", "金桥软件", "远航外贸"]
CHANNELS = ["dy", "xhs", "抖音", "bd", "官网", "wx", "展会活动", "zhihu", "tt_ads"]  # tt_ads: unknown, flagged
REGIONS = ["华东", "华南", "华北", "西南", ""]
RULES = """
pool_team = "bench"

[groups."华东A"]
members = ["r0", "r1", "r2", "r3"]
strategy = "weighted"
cap = 800

[groups."华东B"]
members = ["r4", "r5", "r6", "r7"]
strategy = "least_load"
cap = 800

[groups."其他"]
members = ["r8", "r9", "r10", "r11"]
strategy = "round_robin"
cap = 1000

[[rules]]
name = "华东短视频"
channel = ["抖音", "小红书"]
region = "华东"
groups = ["华东A", "华东B"]

[[rules]]
name = "搜索与官网"
channel = ["百度", "官网", "知乎"]
groups = ["其他"]
"""


def make_rows(n: int, rng: random.Random) -> list[list[str]]:
    rows = []
    for i in range(n):
        if i and rng.random() < 0.05:  # repeated in the file (a form filled twice): becomes a touch
            rows.append(list(rows[rng.randrange(len(rows))]))
            continue
        phone = f"1{rng.choice('3578')}{i:09d}" if rng.random() > 0.02 else "12345"  # 2% invalid
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")
        rows.append([name, phone, f"u{i}@example.cn" if rng.random() < 0.3 else "", rng.choice(COMPANIES) + f"{i % 97}",
                     rng.choice(CHANNELS), rng.choice(REGIONS), rng.choice(["制造业", "医疗", "物流", "教育"]),
                     rng.choice(["移动CRM", "ERP", "SaaS"])])
    return rows


def write_xlsx(path: Path, rows: list[list[str]]) -> None:
    book = Workbook(write_only=True)
    ws = book.create_sheet("线索")
    ws.append(["姓名", "电话", "邮箱", "公司", "来源", "区域", "行业", "意向产品"])
    for row in rows:
        ws.append(row)
    book.save(path)


def populate(url: str, rows: list[list[str]], existing: int) -> Member:
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        team = Team(name="bench")
        s.add(team)
        s.flush()
        reps = [Member(team_id=team.id, display_name=f"r{i}", role=Role.REP, sandbox_id=f"r{i}") for i in range(12)]
        sup = Member(team_id=team.id, display_name="sup", role=Role.SUPERVISOR, sandbox_id="sup")
        s.add_all([*reps, sup])
        s.flush()
        # Customers from before: every 20th row's phone is already known (a touch, not a new record).
        s.add_all([Customer(name=r[0], phone="+86" + r[1], team_id=team.id, owner_id=reps[k % 12].id)
                   for k, r in enumerate(rows[::20][:existing]) if r[1] != "12345"])
    engine.dispose()
    return sup


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def bench(name: str, url: str, path: Path, rows: list[list[str]], rules: Path) -> None:
    actor = populate(url, rows, existing=len(rows) // 20)
    settings = Settings(database_url=url, leads=LeadSettings(rules_file=rules))
    engine = make_engine(url)

    def run(dry_run: bool = False) -> object:
        table = read_table(path)
        mapping = detect_mapping(table)
        importer = Importer(engine=engine, settings=settings, actor=actor, now=NOW, file_label=path.name,
                            dry_run=dry_run)
        return importer.run(table, mapping)

    t_read, _ = timed(lambda: read_table(path))
    t_dry, _ = timed(lambda: run(dry_run=True))
    t_first, report = timed(run)
    t_again, again = timed(run)
    with Session(engine) as s:
        customers = s.exec(select(func.count()).select_from(Customer)).one()
        touches = s.exec(select(func.count()).select_from(LeadTouch)).one()
    engine.dispose()
    n = len(rows)
    print(f"\n{name}: {n} rows -> {report.created} new, {report.touched} touches, "  # type: ignore[attr-defined]
          f"{len(report.errors)} errors; {customers} customers, {touches} touches in the DB")  # type: ignore[attr-defined]
    print(f"  read xlsx only     {t_read:6.2f} s")
    print(f"  dry run            {t_dry:6.2f} s   ({n / t_dry:,.0f} rows/s)")
    print(f"  import             {t_first:6.2f} s   ({n / t_first:,.0f} rows/s)   "
          f"ratio to 60 s budget: {t_first / BUDGET_SECONDS * 10_000 / n:.3f} per 10k rows")
    print(f"  re-run (all skip)  {t_again:6.2f} s   skipped {again.skipped}, new {again.created}")  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="genjin-import-bench-"))
    rows = make_rows(args.rows, random.Random(7))
    path = tmp / "leads.xlsx"
    write_xlsx(path, rows)
    rules = tmp / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    print(f"{args.rows} rows in {path} ({path.stat().st_size / 1024:.0f} KiB)")
    if "sqlite" in args.backends:
        bench("sqlite", f"sqlite:///{tmp}/import.db", path, rows, rules)
    if "postgres" in args.backends:
        from tests.pg_server import PgServer

        server = PgServer().start()
        try:
            bench("postgres", server.create_database("import_bench"), path, rows, rules)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
