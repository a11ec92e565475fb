"""`genjin members list|add|deactivate|activate`: who may talk to the bot, with which platform ids."""

from __future__ import annotations

import argparse

from bot.clock import system_clock
from bot.config import Settings
from store.db import make_engine, migrate, session_scope
from store.teams import get_or_create_team, list_members, set_member_active, upsert_member


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    members = sub.add_parser("members", help="manage team members and their WeCom/DingTalk ids")
    msub = members.add_subparsers(dest="members_command", required=True)
    msub.add_parser("list", help="list members")
    add = msub.add_parser("add", help="add or update a member (matched by any platform id)")
    add.add_argument("--name", required=True, help="display name, e.g. 王芳")
    add.add_argument("--team", required=True, help="team name, created if new")
    add.add_argument("--role", default="rep", choices=["rep", "supervisor", "admin"])
    add.add_argument("--wecom-userid")
    add.add_argument("--dingtalk-userid")
    add.add_argument("--sandbox-id")
    for name in ("deactivate", "activate"):
        p = msub.add_parser(name, help=f"{name} a member by id")
        p.add_argument("member_id", type=int)


def run(args: argparse.Namespace, settings: Settings) -> int:
    url = settings.database_url.get_secret_value()
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        if args.members_command == "list":
            for member, team in list_members(session=session):
                shown = " ".join(
                    f"{k}={v}"
                    for k, v in (
                        ("wecom", member.wecom_userid),
                        ("dingtalk", member.dingtalk_userid),
                        ("sandbox", member.sandbox_id),
                    )
                    if v
                )
                state = "" if member.active else " (停用)"
                print(f"#{member.id}\t{team.name}\t{member.display_name}\t{member.role}{state}\t{shown}")
            return 0
        if args.members_command == "add":
            ids = {
                k: v
                for k, v in (
                    ("wecom", args.wecom_userid),
                    ("dingtalk", args.dingtalk_userid),
                    ("sandbox", args.sandbox_id),
                )
                if v
            }
            if not ids:
                print("至少需要一个平台账号：--wecom-userid、--dingtalk-userid 或 --sandbox-id")
                return 2
            now = system_clock()
            team = get_or_create_team(session=session, name=args.team, at=now)
            member, created = upsert_member(
                session=session, team=team, display_name=args.name, role=args.role, platform_ids=ids, at=now
            )
            verb = "已添加" if created else "已更新"
            print(f"{verb}成员 #{member.id} {member.display_name}（{args.role}，{team.name}）")
            return 0
        active = args.members_command == "activate"
        changed = set_member_active(session=session, member_id=args.member_id, active=active)
        if changed is None:
            print(f"没有成员 #{args.member_id}")
            return 1
        print(f"成员 #{changed.id} {changed.display_name} 已{'启用' if active else '停用'}")
    return 0
