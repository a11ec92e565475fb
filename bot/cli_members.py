"""`genjin members list|add|deactivate|activate`: who may talk to the bot, with which platform ids."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from bot.clock import system_clock
from bot.config import Settings
from store.db import make_engine, migrate, session_scope
from store.models import Member
from store.roles import add_role_tag, remove_role_tag, role_tags_of, set_escalation
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
    role = msub.add_parser("role", help="add or remove role tags (售前, 法务, 财务, 交付, 客服) for stage hand-offs")
    role.add_argument("member_id", type=int)
    role.add_argument("--add", action="append", default=[], metavar="TAG")
    role.add_argument("--remove", action="append", default=[], metavar="TAG")
    esc = msub.add_parser("escalate", help="who this member's stalled approvals go to (主管 -> 总监)")
    esc.add_argument("member_id", type=int)
    target = esc.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", type=int, metavar="MEMBER_ID")
    target.add_argument("--none", action="store_true", help="remove the escalation")


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
                tags = role_tags_of(session=session, member_id=member.id or 0)
                shown += (" 角色=" + "、".join(tags)) if tags else ""
                print(f"#{member.id}\t{team.name}\t{member.display_name}\t{member.role}{state}\t{shown}")
            return 0
        if args.members_command in ("role", "escalate"):
            return _roles(session, args)
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


def _roles(session: Session, args: argparse.Namespace) -> int:
    member = session.get(Member, args.member_id)
    if member is None:
        print(f"没有成员 #{args.member_id}")
        return 1
    now = system_clock()
    if args.members_command == "escalate":
        up = session.get(Member, args.to) if args.to is not None else None
        if args.to is not None and up is None:
            print(f"没有成员 #{args.to}")
            return 1
        try:
            set_escalation(session=session, member_id=args.member_id, escalates_to_id=args.to, at=now)
        except ValueError:
            print("不能升级给自己")
            return 2
        print(f"成员 #{member.id} {member.display_name} 的审批超时" + (f"升级给 #{up.id} {up.display_name}" if up
                                                                    else "不再升级"))
        return 0
    try:
        for tag in args.add:
            add_role_tag(session=session, member_id=args.member_id, tag=tag, at=now)
    except ValueError:
        print("角色名需为 1-32 个字符")
        return 2
    for tag in args.remove:
        remove_role_tag(session=session, member_id=args.member_id, tag=tag)
    tags = role_tags_of(session=session, member_id=args.member_id)
    print(f"成员 #{member.id} {member.display_name} 的角色：" + ("、".join(tags) if tags else "无"))
    return 0
