"""What the admin commands that read a table file share (bot/leads/cli.py: import/export/rules,
bot/catalog/cli.py: catalog): the migrated database for the command's run, a bad file as exit 2
with its Chinese reason, and the one confirmation before an import writes."""

from __future__ import annotations

import sys
from collections.abc import Callable

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.leads.import_export import TableError
from store.db import make_engine, migrate


def run_with_database(settings: Settings, command: Callable[[Engine], int]) -> int:
    """Migrate, run `command` on a fresh engine and return its exit code; a TableError (an unreadable
    or unusable file) prints its reason and exits 2. The engine is disposed either way."""
    url = settings.database_url.get_secret_value()
    migrate(url)
    engine = make_engine(url)
    try:
        return command(engine)
    except TableError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def confirm_import() -> bool:
    """Ask once on a terminal; without one (cron, CI) refuse and tell how to go on (--yes, --dry-run)."""
    if not sys.stdin.isatty():
        print("非交互运行：确认无误后加 --yes 导入，或先用 --dry-run 演练。", file=sys.stderr)
        return False
    if input("确认导入？[y/N] ").strip().lower() not in ("y", "yes", "是"):
        print("已取消，没有导入。")
        return False
    return True
