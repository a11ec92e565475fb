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
