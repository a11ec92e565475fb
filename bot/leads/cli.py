"""`genjin rules check|explain`, `genjin import`, `genjin export` (wired into bot/cli.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, or_, select

from bot.clock import system_clock
from bot.config import Settings
from bot.leads.cli_support import confirm_import, run_with_database
from bot.leads.explain import check_rules, explain
from bot.leads.import_export import (
    TableError,
    detect_mapping,
    export_customers,
    parse_overrides,
    preview_lines,
    read_table,
)
from bot.leads.importer import Importer, ImportReport, write_error_file
from bot.leads.intake import channel_table
from store.db import session_scope
from store.models import Member
from store.permissions import PermissionDenied

LEAD_COMMANDS = ("rules", "import", "export")


def add_lead_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rules = sub.add_parser("rules", help="check the lead assignment rules or explain one lead (dry run)")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_sub.add_parser("check", help="validate the rule file against the members in the database")
    check.add_argument("--file", type=Path, help="rule file (default: leads.rules_file)")
    why = rules_sub.add_parser("explain", help="which rule would fire for a lead, and why")
    why.add_argument("lead", help='customer "#12", a JSON object, or words like "channel=dy region=华东"')
    why.add_argument("--file", type=Path, help="rule file (default: leads.rules_file)")
    imp = sub.add_parser("import", help="import leads from .xlsx or .csv (preview, then confirm)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--as", dest="actor", required=True, help="who imports: a supervisor or admin (name or id)")
    imp.add_argument("--dry-run", action="store_true", help="check every row and show the outcome; write nothing")
    imp.add_argument("--yes", action="store_true", help="import without asking after the preview")
    imp.add_argument("--map", action="append", default=[], metavar="表头=字段", help="map a column, e.g. 客户名称=姓名")
    imp.add_argument("--channel", help="source for rows without one, e.g. 展会")
    imp.add_argument("--sheet", help="worksheet name (default: the first)")
    imp.add_argument("--errors", type=Path, help="error file (default: <file>.errors.csv)")
    imp.add_argument("--no-progress", action="store_true")
    exp = sub.add_parser("export", help="export the team's customers to .xlsx/.csv (phones masked)")
    exp.add_argument("file", type=Path)
    exp.add_argument("--as", dest="actor", required=True, help="who exports: a supervisor or admin (name or id)")
    exp.add_argument("--unmask", action="store_true", help="full phone numbers (recorded in the watermark)")


def find_actor(session: Session, spec: str) -> Member | None:
    if spec.isdigit():
        return session.get(Member, int(spec))
    found = session.exec(select(Member).where(or_(
        col(Member.display_name) == spec, col(Member.sandbox_id) == spec, col(Member.wecom_userid) == spec,
        col(Member.dingtalk_userid) == spec))).all()
    return found[0] if len(found) == 1 else None


def run_lead_command(args: argparse.Namespace, settings: Settings) -> int:
    return run_with_database(settings, lambda engine: _run(args, settings, engine))


def _run(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    if args.command == "rules":
        return _rules(args, settings, engine)
    if args.command == "import":
        return _import(args, settings, engine)
    return _export(args, settings, engine)


def _rules(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    if args.file is not None:
        settings = settings.model_copy(update={"leads": settings.leads.model_copy(update={"rules_file": args.file})})
    with Session(engine) as session:
        if args.rules_command == "check":
            lines, ok = check_rules(session=session, path=settings.leads.rules_file, channels=channel_table(settings))
        else:
            lines, ok = explain(session=session, settings=settings, spec=args.lead, now=system_clock())
    print("\n".join(lines))
    return 0 if ok else 1


def _actor(engine: Engine, spec: str) -> Member | None:
    with Session(engine) as session:
        actor = find_actor(session, spec)
    if actor is None or actor.role not in ("supervisor", "admin") or not actor.active:
        print(f"错误：--as {spec} 需是在职的主管或管理员（姓名、成员编号或平台账号）", file=sys.stderr)
        return None
    return actor


def _import(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    actor = _actor(engine, args.actor)
    if actor is None:
        return 2
    table = read_table(args.file, args.sheet)
    mapping = detect_mapping(table, parse_overrides(args.map))
    if mapping.field_column("name") is None:
        raise TableError("找不到姓名列；可用 --map 表头=姓名 指定")
    if mapping.field_column("channel") is None and not args.channel:
        raise TableError("没有来源列：请用 --channel 指定这批线索的来源，如 --channel 展会")
    body = [r for r in table[mapping.header_row + 1:] if any(r)]
    print(f"文件：{args.file.name}")
    print("\n".join(preview_lines(mapping, body, total=len(body), default_channel=args.channel)))
    if not args.dry_run and not args.yes and not confirm_import():
        return 1
    from tqdm import tqdm

    importer = Importer(engine=engine, settings=settings, actor=actor, now=system_clock(), file_label=args.file.name,
                        dry_run=args.dry_run)
    with tqdm(total=len(body), unit="行", desc="演练" if args.dry_run else "导入",
              disable=True if args.no_progress else None) as bar:
        report = importer.run(table, mapping, default_channel=args.channel, progress=bar.update)
    _print_report(report)
    if report.errors:
        path = args.errors or args.file.with_name(f"{args.file.stem}.errors.csv")
        write_error_file(path, mapping.headers, report.errors)
        print(f"有 {len(report.errors)} 行未导入，原因见 {path}")
    return 0


def _print_report(report: ImportReport) -> None:
    head = "演练结果" if report.dry_run else "导入完成"
    print(f"{head}：共 {report.total} 行，新建 {report.created}，已有客户新增记录 {report.touched}，"
          f"已导入过跳过 {report.skipped}，错误 {len(report.errors)}")
    if report.assigned:
        print("分配：" + "、".join(f"{name} {n}" for name, n in report.assigned.most_common()))
    if report.held:  # a rule with approval = true, and the importer may not approve it
        print(f"待审批 {report.held} 条：留在公海，已发审批卡片给拟分配销售的主管")
    if report.dry_run:
        print("（演练：没有写入任何数据）")


def _export(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    actor = _actor(engine, args.actor)
    if actor is None:
        return 2
    try:
        with session_scope(engine) as session:
            count = export_customers(session=session, actor=actor, path=args.file, now=system_clock(), tz=settings.tz,
                                     unmask=args.unmask)
    except PermissionDenied:
        print("错误：只有主管或管理员可以导出", file=sys.stderr)
        return 2
    print(f"已导出 {count} 位客户到 {args.file}" + ("（含完整手机号）" if args.unmask else "（手机号已脱敏）"))
    return 0
