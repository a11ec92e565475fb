"""`genjin catalog list|import|set|remove`: the admin's tools for the product catalog (wired into bot/cli.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.catalog.entries import catalog_entries
from bot.catalog.importer import preview, read_catalog, write_error_file, write_products
from bot.clock import system_clock
from bot.config import CATALOG_UNITS, Settings
from bot.extract import parse_amount
from bot.leads.cli_support import confirm_import, run_with_database
from store.catalog import deactivate_product, upsert_product
from store.db import session_scope


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cat = sub.add_parser("catalog", help="the product catalog amounts are picked from: list, import, set, remove")
    csub = cat.add_subparsers(dest="catalog_command", required=True)
    csub.add_parser("list", help="every product in use (genjin.toml and database)")
    imp = csub.add_parser("import", help="import products from .xlsx or .csv (preview, then confirm)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="check every row and show the outcome; write nothing")
    imp.add_argument("--yes", action="store_true", help="import without asking after the preview")
    imp.add_argument("--sheet", help="worksheet name (default: the first)")
    imp.add_argument("--errors", type=Path, help="error file (default: <file>.errors.csv)")
    put = csub.add_parser("set", help="add or change one product")
    put.add_argument("name")
    put.add_argument("--edition", default="")
    put.add_argument("--price", required=True, help="unit price in yuan, e.g. 39800 or 3.98万")
    put.add_argument("--unit", required=True, choices=CATALOG_UNITS)
    put.add_argument("--alias", action="append", default=[], help="another name reps use (repeatable)")
    rm = csub.add_parser("remove", help="stop using one product (old quotes keep it)")
    rm.add_argument("name")
    rm.add_argument("--edition", default="")


def run(args: argparse.Namespace, settings: Settings) -> int:
    return run_with_database(settings, lambda engine: _run(args, settings, engine))


def _run(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    if args.catalog_command == "list":
        with Session(engine) as session:
            entries = catalog_entries(session=session, settings=settings)
        for e in entries:
            alias = f"  别名：{'、'.join(e.aliases)}" if e.aliases else ""
            origin = "" if e.product_id is not None else "  （genjin.toml）"
            print(f"{e.label}  {e.unit_price_cny:,} 元/{e.unit}{alias}{origin}")
        print(f"共 {len(entries)} 个产品")
        return 0
    if args.catalog_command == "import":
        return _import(args, engine)
    if args.catalog_command == "set":
        price = parse_amount(args.price)
        if price is None:
            print(f"错误：单价「{args.price}」不是有效金额", file=sys.stderr)
            return 2
        with session_scope(engine) as session:
            outcome = upsert_product(session=session, name=args.name, edition=args.edition, unit_price_cny=price,
                                     unit=args.unit, aliases=list(args.alias), source="admin", at=system_clock())
        print({"created": "已新增", "updated": "已更新", "unchanged": "没有变化"}[outcome] +
              f"：{args.name} {args.edition}".rstrip() + f"  {price:,} 元/{args.unit}")
        return 0
    return _remove(args, settings, engine)


def _import(args: argparse.Namespace, engine: Engine) -> int:
    report = read_catalog(args.file, args.sheet)
    print(f"文件：{args.file.name}")
    print("\n".join(preview(report)))
    if report.errors:
        path = args.errors or args.file.with_name(f"{args.file.stem}.errors.csv")
        write_error_file(path, report)
        print(f"有 {len(report.errors)} 行不能导入，原因见 {path}")
    if args.dry_run:
        print("（演练：没有写入任何数据）")
        return 0
    if not args.yes and not confirm_import():
        return 1
    with session_scope(engine) as session:
        write_products(session=session, report=report, at=system_clock())
    print(f"导入完成：新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}，"
          f"有问题未导入 {len(report.errors)}")
    return 0


def _remove(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    now = system_clock()
    configured = next((p for p in settings.catalog.products if (p.name, p.edition) == (args.name, args.edition)), None)
    with session_scope(engine) as session:
        removed = deactivate_product(session=session, name=args.name, edition=args.edition, at=now)
        if not removed and configured is not None:
            # Only in genjin.toml: an inactive row overrides it (the file is not rewritten).
            upsert_product(session=session, name=configured.name, edition=configured.edition,
                           unit_price_cny=configured.unit_price, unit=configured.unit, aliases=list(configured.aliases),
                           source="admin", at=now)
            removed = deactivate_product(session=session, name=args.name, edition=args.edition, at=now)
    label = f"{args.name} {args.edition}".strip()
    print(f"已停用：{label}" if removed else f"没有找到在用的产品：{label}")
    return 0 if removed else 1
