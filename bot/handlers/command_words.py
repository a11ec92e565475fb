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
    "week": ("本周", "/本周", "/week"),
}
# Words that are a command only when sent alone: 「本周 张伟说要报价」 is a note, not 本周.
_BARE_ONLY = frozenset({"week"})
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
        if _WORD_TO_NAME[word] in _BARE_ONLY:
            if stripped == word:
                return Command(_WORD_TO_NAME[word], "", word)
            continue
        if stripped == word or stripped.startswith(word + " ") or stripped.startswith(word + "\n") \
                or stripped.startswith(word + "\u3000"):
            return Command(_WORD_TO_NAME[word], stripped[len(word):].strip(), word)
    if stripped.startswith("/") and len(stripped) > 1 and not stripped.startswith("//"):
        word = stripped.split(maxsplit=1)[0]
        return Command("unknown", stripped[len(word):].strip(), word)
    return None
