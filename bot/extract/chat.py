"""Split a pasted conversation into speaker turns (WeCom / DingTalk copies, forwards, plain notes)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .textnorm import words

# "名字 11/19 14:03", "名字 2026/11/19 14:03:12", "名字 2026-11-19 14:03", "名字 11-19 14:03:12".
# A date is required so that a note line such as "周五 15:00 过去" is never taken for a header.
_HEADER = re.compile(
    r"^\s*(?P<name>\S(?:.{0,38}?\S)?)\s+"
    r"(?P<stamp>(?:\d{4}[/-])?\d{1,2}[/-]\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?)\s*$"
)
# Forward marks as apps and people write them (Traditional input arrives simplified: 轉寄 → 转寄): "【转发】",
# "转：", "转寄：", "转传：", "转发一条消息：", "转发自<group>：" (the group a message came from is not its author).
FORWARD_MARK = re.compile(
    r"^\s*(?:【转(?:发|寄|传)】|\[转发\]|转(?:发|寄|传)?(?:自(?!\s)[^:：\n]{1,12}|一条消息|的消息|消息)?[:：]|"
    # "转发自 李明：…" names the sender after a space: only the mark goes, the sender stays
    r"转(?:发|寄|传)自(?=\s)|"
    r"\[forward\]|fwd?[:：])\s*",
    re.IGNORECASE,
)
# "方女士：…", "Emily Chen: …" — a short display name followed by a colon.
_SPEAKER_PREFIX = re.compile(
    r"^\s*(?P<name>[\u4e00-\u9fffA-Za-z@_\-·.()（）]{1,16}(?: [A-Za-z]{1,16})?"
    # "Li Ming（远航物流）：": the sender's organisation in brackets after the name
    r"(?:\s?[(（][^()（）:：]{1,16}[)）])?"
    # "【转发】青禾书屋 易老板：", "晨光文具 采购 何经理：", "远航物流 采购部-李明：", "远航物流 运营 Tom Li：":
    # an organisation, a department or role and the person, separated by spaces or a dash
    r"|[\u4e00-\u9fff]{3,12}(?: [\u4e00-\u9fffA-Za-z\-]{1,10}){1,3})\s*[:：]\s*(?P<body>\S.*)$"
)
# Field labels in structured notes ("电话：…") are not speakers.
_LABELS = frozenset(
    words(
        "电话 手机 座机 微信 邮箱 email mail tel 地址 备注 时间 日期 金额 预算 客户 联系人 姓名 公司 单位 "
        "产品 需求 进展 下次 下一步 跟进 结果 主题 附件 http https 注 ps 说明 线索 新线索 记录 小结 总结"
    )
)
ROLE_WORDS = frozenset(
    words("财务 法务 采购 销售 客服 技术 行政 人事 助理 经理 总监 主管 会计 出纳 商务 市场 运营 老板 前台")
)
_CLAUSE_WORDS = re.compile(r"的|电话|沟通|聊|说|和.{2,}|跟.{2,}|今天|昨天|上午|下午|拜访|见了")
# "门禁改造项目：…", "周会纪要：…", "来访客户：…": a note's topic before a colon, not a display name.
_TOPIC_END = re.compile(r"(?:项目|会议|纪要|情况|进展|问题|事项|计划|安排|汇总|记录|客户)$")
_DECORATION = re.compile(r"@\S*$|[(（][^)）]*[)）]$")
_SEPARATORS = re.compile(r"[-_|｜/·]")


@dataclass(frozen=True)
class ChatLine:
    speaker: str | None  # cleaned display name; None for the rep's own note text
    text: str
    timestamp: str | None = None
    raw_speaker: str | None = None


def clean_display_name(name: str) -> str:
    """Strip display-name decorations: "张三@微信" -> 张三, "财务-李娜" -> 李娜, "王芳(远东)" -> 王芳."""
    # Emoji and symbols in nicknames ("🌸Lily") are decoration too.
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "S").strip()
    prev = None
    while prev != name:
        prev = name
        name = _DECORATION.sub("", name).strip()
    parts = [p.strip() for p in _SEPARATORS.split(name) if p.strip()]
    words_ = name.split()
    if len(parts) == 1 and len(words_) > 1 and len(words_[0]) >= 3 and not words_[0].isascii():
        # "青禾书屋 易老板": space-separated organisation, role and person. A Latin name at the end keeps
        # its space, whatever stands before it ("采购中心 Joyce Lam", "远航物流 运营负责人 Tom Li").
        latin: list[str] = []
        for w in reversed(words_[1:]):
            if not w.isascii():
                break
            latin.insert(0, w)
        parts = [*words_[: len(words_) - len(latin)], " ".join(latin)] if latin else words_
    if len(parts) > 1:
        people = [p for p in parts if p not in ROLE_WORDS and not p.endswith(("部", "组", "中心"))]
        name = people[-1] if people else parts[-1]
    return name or prev or ""


def _headers(lines: list[str]) -> list[re.Match[str] | None]:
    return [_HEADER.match(line) for line in lines]


def _split_headed(lines: list[str], headers: list[re.Match[str] | None]) -> list[ChatLine]:
    turns: list[ChatLine] = []
    speaker: str | None = None
    raw: str | None = None
    stamp: str | None = None
    body: list[str] = []

    def flush() -> None:
        text = "\n".join(b for b in body if b.strip()).strip()
        if text or speaker:
            turns.append(ChatLine(speaker, text, stamp, raw))

    for line, header in zip(lines, headers, strict=True):
        if header:
            if speaker is not None or body:
                flush()
            raw = header.group("name")
            speaker = clean_display_name(raw)
            stamp = header.group("stamp")
            body = []
        else:
            body.append(line)
    flush()
    return [t for t in turns if t.text or t.speaker]


def _speaker_prefix(line: str) -> re.Match[str] | None:
    m = _SPEAKER_PREFIX.match(FORWARD_MARK.sub("", line))
    if not m:
        return None
    name = m.group("name").strip()
    # "和金鹰纺机的采购冯丽萍电话沟通：…" is a note's opening clause, not a display name.
    if _CLAUSE_WORDS.search(name) or _TOPIC_END.search(name):
        return None
    if name.lower() in _LABELS or any(name.startswith(lbl) for lbl in _LABELS if len(lbl) > 1):
        return None
    return m


def split_chat(text: str) -> list[ChatLine]:
    """Parse a chat copy into turns; a text without speaker markers becomes one note line (speaker None)."""
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        return []
    headers = _headers(lines)
    if any(headers):
        first = next(i for i, h in enumerate(headers) if h)
        preface = "\n".join(lines[:first]).strip()
        headed = _split_headed(lines[first:], headers[first:])
        return ([ChatLine(None, preface)] if preface else []) + headed

    content = [line for line in lines if line.strip()]
    prefixed = [_speaker_prefix(line) for line in content]
    if prefixed[0] is not None:
        # Forwarded message(s): "方女士：…"; unprefixed lines continue the previous speaker's turn.
        turns: list[ChatLine] = []
        for line, m in zip(content, prefixed, strict=True):
            if m:
                raw = m.group("name").strip()
                turns.append(ChatLine(clean_display_name(raw), m.group("body").strip(), None, raw))
            else:
                last = turns[-1]
                turns[-1] = ChatLine(last.speaker, f"{last.text}\n{line.strip()}", None, last.raw_speaker)
        return turns
    return [ChatLine(None, FORWARD_MARK.sub("", text).strip())]
