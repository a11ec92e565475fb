"""Command words (Chinese, with slash and English aliases) -> canonical command names."""

from __future__ import annotations

from dataclasses import dataclass

COMMANDS: dict[str, tuple[str, ...]] = {
    "help": ("帮助", "/帮助", "/help", "?", "？"),
    "new": ("新客户", "/新客户", "/new"),
    "followup": ("跟进", "/跟进", "/followup"),
    "stage": ("阶段", "/阶段", "/stage"),
    "visit": ("拜访", "/拜访", "/visit"),
    "mine": ("我的客户", "/我的客户", "/mine", "/customers"),
    "find": ("查", "/查", "/find"),
    "history": ("历史", "/历史", "/history"),
    "retry": ("重试", "/重试", "/retry"),
    "merge": ("合并", "/合并", "/merge"),
    "unmerge": ("撤销合并", "/撤销合并", "/unmerge"),
    "cancel": ("取消", "/取消", "/cancel"),
    "exempt": ("免填", "/免填", "/exempt"),
    "reschedule": ("改约", "/改约", "/reschedule"),
    "cancel_visit": ("取消拜访", "/取消拜访", "/cancelvisit"),
    "pool": ("公海", "/公海", "/pool"),
    "claim": ("认领", "/认领", "/claim"),
    "release": ("退回", "/退回", "/release"),
    "transfer": ("转给", "/转给", "/transfer"),
    "why": ("分配原因", "/分配原因", "/why"),
    "rename": ("改名", "/改名", "/rename"),
    "edit": ("改", "/改", "/edit"),
}
_WORD_TO_NAME = {word: name for name, words in COMMANDS.items() for word in words}
# Longest first so 撤销合并 is not read as 撤销 + 合并.
_WORDS = sorted(_WORD_TO_NAME, key=len, reverse=True)


@dataclass(frozen=True)
class Command:
    name: str  # canonical name, or "unknown" for an unrecognised /slash word
    args: str
    word: str


def parse_command(text: str) -> Command | None:
    """A command is its word alone or followed by whitespace; an unknown /word is 'unknown'."""
    stripped = text.strip()
    for word in _WORDS:
        if stripped == word or stripped.startswith(word + " ") or stripped.startswith(word + "\n") \
                or stripped.startswith(word + "\u3000"):
            return Command(_WORD_TO_NAME[word], stripped[len(word):].strip(), word)
    if stripped.startswith("/") and len(stripped) > 1 and not stripped.startswith("//"):
        word = stripped.split(maxsplit=1)[0]
        return Command("unknown", stripped[len(word):].strip(), word)
    return None


HELP_TEXT = """genjin 跟进助手 · 用法
直接粘贴/转发和客户的聊天，或发一段跟进笔记/语音，我会整理成跟进记录，点「确认」即可保存。

命令（也可用 /help 这样的斜杠形式）：
· 新客户 [姓名] [电话]　— 逐项询问，可回复「跳过」
· 跟进 客户 内容　— 给某客户记一条跟进
· 阶段 客户 阶段　— 如：阶段 张伟 需求确认
· 拜访 客户 时间 目标　— 如：拜访 张伟 明天下午3点 演示方案
· 改约 拜访编号 时间 / 取消拜访 拜访编号
· 我的客户　— 最近跟进的客户
· 查 关键词　— 按姓名/拼音/公司/电话（及图片文字）查找
· 历史 客户　— 客户的时间线
· 改名 客户 姓名　— 如：改名 #12 张伟（补上「未命名客户」的姓名）
· 改 #记录号 字段 新值　— 改待确认记录的一项，如：改 #12 公司 华信物流
　（最新一张卡片可直接回复：公司 华信物流 / 下次 周四下午3点 / 阶段 需求确认 / 标签 +要报价 -价格异议）
· 重试　— 重新处理失败的消息
· 合并 保留编号 被合并编号 / 撤销合并 编号　— 主管、管理员
· 免填 销售姓名 [原因]　— 主管给销售 3 天免填（不提醒补填）
· 公海 / 认领 #编号　— 查看并认领公海线索（每天有上限）
· 退回 #编号 [原因]　— 把线索退回公海
· 转给 客户 成员　— 主管把客户转给其他销售，如：转给 #12 李四
· 分配原因 客户　— 线索为什么分给了谁
· 取消　— 放弃当前的提问"""
