"""`genjin tags list|reset`: what a team's tagger has learned from its confirmed records, and forgetting it."""

from __future__ import annotations

import argparse

from bot.clock import system_clock
from bot.config import Settings
from store.db import make_engine, migrate, session_scope
from store.tag_exemplars import reset_tag_exemplars, team_exemplars


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    tags = sub.add_parser("tags", help="a team's learned tag phrasings: list or reset")
    tsub = tags.add_subparsers(dest="tags_command", required=True)
    for name, text in (("list", "list a team's learned phrasings"), ("reset", "forget a team's learned phrasings")):
        p = tsub.add_parser(name, help=text)
        p.add_argument("--team-id", type=int, required=True)
        p.add_argument("--tag", help="only this tag (default: every tag)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    url = settings.database_url.get_secret_value()
    migrate(url)
    with session_scope(make_engine(url)) as session:
        if args.tags_command == "list":
            for tag, clauses in sorted(team_exemplars(session=session, team_id=args.team_id).items()):
                if args.tag and tag != args.tag:
                    continue
                print(f"{tag}（{len(clauses)}）")
                for clause in clauses:
                    print(f"  {clause}")
            return 0
        removed = reset_tag_exemplars(session=session, team_id=args.team_id, tag=args.tag, at=system_clock())
        print(f"已清除团队 #{args.team_id} 学到的 {removed} 条标签说法" + (f"（{args.tag}）" if args.tag else ""))
    return 0
