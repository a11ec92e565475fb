"""The `genjin` command: sandbox, serve, migrate, status; rules, import, export (bot/leads/cli.py)."""

from __future__ import annotations

import argparse
import json
import sys

from aiohttp import web
from sqlmodel import Session

from bot import cli_members, cli_tags, cli_totals
from bot.app import build_runtime, build_web_app, sandbox_clock, seed_sandbox
from bot.catalog import cli as cli_catalog
from bot.clock import system_clock
from bot.config import Settings, load_settings
from bot.http_edge import server_options
from bot.leads.cli import LEAD_COMMANDS, add_lead_commands, run_lead_command
from bot.logs import configure_logging
from store.db import display_url, make_engine, migrate
from store.queues import count_queues_by_status

LOOPBACK = "127.0.0.1"

def startup_banner(settings: Settings, host: str | None = None) -> str:
    """Where genjin listens and which database it uses, with the database password hidden."""
    database = display_url(settings.database_url.get_secret_value())
    return f"genjin 已启动：http://{host or settings.host}:{settings.port}/  （数据库 {database}）"


def _serve(settings: Settings, *, sandbox: bool, host: str) -> None:
    """`sandbox`: seed the demo team and mount the unauthenticated sandbox page and API."""
    runtime = build_runtime(settings, clock=sandbox_clock() if sandbox else system_clock)
    if sandbox:
        seed_sandbox(runtime)
    app = build_web_app(runtime, sandbox=sandbox)
    print(startup_banner(settings, host), flush=True)
    web.run_app(app, host=host, port=settings.port, print=None, **server_options(settings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genjin", description="genjin (跟进) sales follow-up bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sb = sub.add_parser("sandbox", help="run the local sandbox chat with a seeded demo team")
    sb.add_argument("--host", help="address to listen on (default 127.0.0.1, whatever GENJIN_HOST says)")
    sb.add_argument("--port", type=int)
    sv = sub.add_parser("serve", help="run the bot (platform adapters, worker, scheduler)")
    sv.add_argument("--host")
    sv.add_argument("--port", type=int)
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("status", help="print inbox/outbox/transcription/OCR queue counts as JSON")
    add_lead_commands(sub)
    cli_members.add_parser(sub)
    cli_tags.add_parser(sub)
    cli_catalog.add_parser(sub)
    cli_totals.add_parser(sub)
    args = parser.parse_args(argv)

    overrides = {k: v for k, v in (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None)))
                 if v is not None}
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "sandbox":
        # Loopback unless --host says otherwise: a host configured for `serve` (genjin.toml,
        # GENJIN_HOST) must not expose the sandbox, which lets anyone act as any member.
        _serve(settings, sandbox=True, host=args.host or LOOPBACK)
    elif args.command == "serve":
        _serve(settings, sandbox=False, host=settings.host)
    elif args.command == "migrate":
        migrate(settings.database_url.get_secret_value())
        print("数据库已迁移到最新版本")
    elif args.command == "members":
        return cli_members.run(args, settings)
    elif args.command == "tags":
        return cli_tags.run(args, settings)
    elif args.command == "catalog":
        return cli_catalog.run(args, settings)
    elif args.command == "totals":
        return cli_totals.run(args, settings)
    elif args.command in LEAD_COMMANDS:
        return run_lead_command(args, settings)
    elif args.command == "status":
        url = settings.database_url.get_secret_value()
        migrate(url)
        with Session(make_engine(url)) as session:
            print(json.dumps(count_queues_by_status(session=session), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
