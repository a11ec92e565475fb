"""帮助 by role, from one list: the chat's help text and the README's command table are both
rendered from HELP_LINES, so they cannot drift (tests/test_supervisor_chat.py checks the README)."""

from __future__ import annotations

from dataclasses import dataclass

from store.models import Role

REP, SUP, ADMIN = Role.REP.value, Role.SUPERVISOR.value, Role.ADMIN.value
MANAGERS = frozenset({SUP, ADMIN})
EVERYONE = frozenset({REP, SUP, ADMIN})


@dataclass(frozen=True)
class HelpLine:
    syntax: str  # exactly as a member types it; the README shows the same string
    what: str
    roles: frozenset[str]


HELP_LINES: tuple[HelpLine, ...] = (
    HelpLine("新客户 [姓名] [电话]", "逐项询问缺少的信息，可回复「跳过」", frozenset({REP})),
    HelpLine("跟进 客户 内容", "给某客户记一条跟进", frozenset({REP})),
    HelpLine("阶段 客户 阶段", "改阶段，如：阶段 张伟 需求确认", frozenset({REP})),
    HelpLine("拜访 客户 时间 目标", "如：拜访 张伟 明天下午3点 演示方案", frozenset({REP})),
    HelpLine("改约 编号 时间 / 取消拜访 编号", "改期或取消拜访", frozenset({REP})),
    HelpLine("改 #记录号 字段 新值", "改待确认记录的一项，如：改 #12 公司 华信物流", frozenset({REP})),
    HelpLine("我的客户", "最近跟进的客户", frozenset({REP})),
    HelpLine("我的客户", "团队的客户（管理员：全部），带负责人", MANAGERS),
    HelpLine("查 关键词", "按姓名/拼音/公司/电话（及图片文字）查找", frozenset({REP})),
    HelpLine("查 关键词", "在团队里查找，带负责人", MANAGERS),
    HelpLine("历史 客户", "客户的时间线", EVERYONE),
    HelpLine("本周", "本周到目前为止的跟进数据", frozenset({REP})),
    HelpLine("本周", "团队本周到目前为止的跟进数据", MANAGERS),
    HelpLine("改名 客户 姓名", "补上「未命名客户」的姓名，如：改名 #12 张伟", EVERYONE),
    HelpLine("公海 / 认领 #编号", "查看并认领公海线索（每天有上限）", frozenset({REP})),
    HelpLine("公海", "查看团队公海线索", MANAGERS),
    HelpLine("退回 #编号 [原因]", "把线索退回公海", EVERYONE),
    HelpLine("转给 #编号 成员", "把客户转给其他销售，如：转给 #12 李四", MANAGERS),
    HelpLine("分配原因 #编号", "线索为什么分给了谁", EVERYONE),
    HelpLine("合并 #保留 #被合并 / 撤销合并 编号", "合并重复客户（留痕，可撤销）", MANAGERS),
    HelpLine("免填 销售 [原因]", "给销售 3 天免填（不提醒补填记录）", MANAGERS),
    HelpLine("重试", "重新处理失败的消息和语音", frozenset({REP})),
    HelpLine("取消", "放弃当前的提问", EVERYONE),
    HelpLine("帮助", "显示本帮助", EVERYONE),
)

_INTRO = {
    REP: "直接粘贴/转发和客户的聊天，或发一段跟进笔记/语音，我会整理成跟进记录，点「确认」即可保存。\n"
         "最新一张卡片可直接回复修改：公司 华信物流 / 下次 周四下午3点 / 阶段 需求确认 / 标签 +要报价 -价格异议",
    SUP: "超时未跟进的客户每轮汇总成一张卡片发给你；撞单提醒可一键转给任一位销售。",
    ADMIN: "你可以查看和处理所有团队的客户。",
}
_TITLE = {REP: "销售", SUP: "主管", ADMIN: "管理员"}


def lines_for(role: str) -> list[HelpLine]:
    return [line for line in HELP_LINES if role in line.roles]


def help_for(role: str) -> str:
    """The 帮助 reply for one role: only the commands that role may use."""
    role = role if role in _TITLE else REP
    body = "\n".join(f"· {line.syntax}　— {line.what}" for line in lines_for(role))
    return (f"genjin 跟进助手 · {_TITLE[role]}用法\n{_INTRO[role]}\n\n"
            f"命令（也可用 /help 这样的斜杠形式）：\n{body}")


README_START = "<!-- help:start (generated from bot/handlers/help_text.py; the test prints it) -->"
README_END = "<!-- help:end -->"


def readme_block() -> str:
    rows = ["| command | rep | supervisor | admin | what it does |", "| --- | --- | --- | --- | --- |"]
    for line in HELP_LINES:
        marks = " | ".join("✓" if role in line.roles else "" for role in (REP, SUP, ADMIN))
        rows.append(f"| `{line.syntax}` | {marks} | {line.what} |")
    return "\n".join([README_START, *rows, README_END])

