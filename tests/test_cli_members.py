"""`genjin members`: an operator registers who may talk to the bot."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.cli import main
from store.db import make_engine
from store.models import Member


def test_add_update_list_deactivate(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/g.db"
    monkeypatch.setenv("GENJIN_DATABASE_URL", url)
    assert main(["members", "add", "--name", "王芳", "--team", "华东一组", "--wecom-userid", "wangfang"]) == 0
    assert main(["members", "add", "--name", "王芳", "--team", "华东一组", "--role", "supervisor",
                 "--wecom-userid", "wangfang", "--dingtalk-userid", "staff01"]) == 0
    assert main(["members", "add", "--name", "无账号", "--team", "华东一组"]) == 2
    out = capsys.readouterr().out
    assert "已添加成员 #1 王芳" in out and "已更新成员 #1 王芳" in out and "至少需要一个平台账号" in out
    with Session(make_engine(url)) as s:
        (member,) = s.exec(select(Member)).all()
        assert (member.role, member.wecom_userid, member.dingtalk_userid) == ("supervisor", "wangfang", "staff01")
    assert main(["members", "deactivate", "1"]) == 0
    assert main(["members", "list"]) == 0
    listing = capsys.readouterr().out
    assert "华东一组\t王芳\tsupervisor (停用)\twecom=wangfang dingtalk=staff01" in listing
    assert main(["members", "activate", "99"]) == 1


def test_role_tags_and_escalation(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/g.db"
    monkeypatch.setenv("GENJIN_DATABASE_URL", url)
    assert main(["members", "add", "--name", "赵律师", "--team", "法务部", "--sandbox-id", "law"]) == 0
    assert main(["members", "add", "--name", "陈主管", "--team", "华东一组", "--role", "supervisor",
                 "--sandbox-id", "sup"]) == 0
    assert main(["members", "add", "--name", "周总监", "--team", "管理层", "--role", "supervisor",
                 "--sandbox-id", "dir"]) == 0
    assert main(["members", "role", "1", "--add", "法务", "--add", "财务"]) == 0
    assert main(["members", "role", "1", "--add", "法务", "--remove", "财务"]) == 0  # idempotent add
    assert main(["members", "role", "1", "--add", "x" * 33]) == 2
    assert main(["members", "role", "9", "--add", "法务"]) == 1
    assert main(["members", "escalate", "2", "--to", "3"]) == 0
    assert main(["members", "escalate", "2", "--to", "2"]) == 2
    assert main(["members", "list"]) == 0
    out = capsys.readouterr().out
    assert "赵律师 的角色：法务、财务" in out and "赵律师 的角色：法务\n" in out and "角色名需为 1-32 个字符" in out
    assert "陈主管 的审批超时升级给 #3 周总监" in out and "不能升级给自己" in out
    assert "sandbox=law 角色=法务" in out
    assert main(["members", "escalate", "2", "--none"]) == 0
    assert "不再升级" in capsys.readouterr().out
