"""`genjin totals [--rebuild]`: check the console's pipeline totals against the customers table
(store/totals.py), and rebuild them from it. The triggers of migration 0016 keep them; a rebuild is
for after a restore, a manual SQL fix, or when the check reports drift."""

from __future__ import annotations

import argparse

from bot.config import Settings
from store.db import make_engine, migrate, session_scope
from store.totals import rebuild_pipeline_totals, totals_drift


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    totals = sub.add_parser("totals", help="check (or --rebuild) the console's pipeline totals")
    totals.add_argument("--rebuild", action="store_true", help="recompute every cell from the customers table")


def run(args: argparse.Namespace, settings: Settings) -> int:
    url = settings.database_url.get_secret_value()
    migrate(url)
    with session_scope(make_engine(url)) as session:
        if args.rebuild:
            cells = rebuild_pipeline_totals(session=session)
            print(f"已按客户表重建管道汇总：{cells} 个格子")
            return 0
        drift = totals_drift(session=session)
    if not drift:
        print("管道汇总与客户表一致")
        return 0
    print(f"管道汇总有 {len(drift)} 个格子与客户表不一致（运行 genjin totals --rebuild 重建）：")
    for (team, owner, stage), kept, actual in drift[:20]:
        print(f"  团队 #{team} 负责人 #{owner or '公海'} {stage}：汇总 {kept}，实际 {actual}")
    return 1
