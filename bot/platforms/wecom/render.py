"""Renders a neutral Card as a WeCom `template_card` of type button_interaction (按钮交互型).

WeCom caps what one card can hold (https://developer.work.weixin.qq.com/document/path/90372):
at most 6 buttons, 6 horizontal fields, 10 dropdown options; keys up to 1024 bytes, option ids up to
128 bytes, task_id only [0-9A-Za-z_-@] and unique per app. When the tag toggles and buttons fit in
6 buttons, every tag is its own toggle button. When they do not (the default taxonomy has 10 tags),
the free button slots still hold one-tap toggles — the chosen tags first, then the next ones — and
only the rest move into one dropdown (button_selection) with a 「增删标签」 button: the click comes back
with the chosen option, whose id is the tag's action key, so the handler sees the same action either
way.

Why button_interaction (https://developer.work.weixin.qq.com/document/path/90236): it is the only
template card with several independent buttons (up to 6), and every tap calls back at once with its
ResponseCode, so 确认 is one tap and a tag toggle is one tap answered by the same card updated in
place (document/path/94888). vote_interaction (checkboxes + one submit_button) and
multiple_interaction (up to 3 single-choice dropdowns + one submit_button) call back only on submit
and carry exactly one button, which leaves no room for 确认 next to the other actions a card offers
(alternative readings, 丢弃, 保留/改约), and the ticked set would arrive as one event the handlers do not
speak. Pure: the same Card and task id always give the same JSON (golden-file tested).
"""

from __future__ import annotations

import re
from typing import Any

from bot.format import dialable_phone
from bot.models import Card, CardField, TagToggle
from bot.platforms.finish import final_label as final_label  # the grey button text after 确认 / 丢弃

MAX_BUTTONS = 6
MAX_FIELDS = 6
MAX_OPTIONS = 10
MAX_KEY_BYTES = 1024
MAX_OPTION_ID_BYTES = 128
TASK_ID_RE = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")

# The dropdown's question key and the key of the button that submits it; bot/platforms/wecom/callback.py turns a click
# on TAG_SUBMIT_KEY into the selected option's id (a tag's, or an overflow button's, own action key).
TAG_QUESTION_KEY = "genjin_tags"
TAG_SUBMIT_KEY = "genjin_tag_submit"

# WeCom button styles are 1-4; 1 is the highlighted one.
STYLE = {"primary": 1, "default": 2, "danger": 3}
SELECTED_MARK = "✓ "


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# An e-mail address is never cut: a cut address is a wrong address. document/path/90236 only
# *suggests* ("建议不超过") 30 characters for horizontal_content_list.value; the hard cap we keep is
# the RFC 5321 length of an address.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_EMAIL = 254
VALUE_LIMIT = 30


def _value(field: CardField) -> str:
    """A field's shown value: phones dialable (0755-12345678, not +86755…), e-mails whole."""
    value = dialable_phone(field.value)
    limit = MAX_EMAIL if EMAIL_RE.match(value) else VALUE_LIMIT
    return _cut(("⚠ " if field.warn else "") + value, limit + (2 if field.warn else 0))


def _tag_label(tag: TagToggle) -> str:
    return (SELECTED_MARK if tag.selected else "") + tag.name


def render_wecom(card: Card, *, task_id: str) -> dict[str, Any]:
    """The `template_card` object of a message/send or update_template_card request."""
    if not TASK_ID_RE.match(task_id):
        raise ValueError(f"invalid WeCom task_id {task_id!r}")
    out: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": "跟进助手", "desc_color": 0},
        "main_title": {"title": _cut(card.title, 36)},
        "task_id": task_id,
    }
    if card.subtitle:
        out["main_title"]["desc"] = _cut(card.subtitle, 44)
    fields = card.fields[:MAX_FIELDS]
    if fields:
        out["horizontal_content_list"] = [
            {"keyname": _cut(f.label, 5), "value": _value(f)} for f in fields
        ]
    lines = [f"{f.label}：{dialable_phone(f.value)}" for f in card.fields[MAX_FIELDS:]]  # overflow fields stay visible
    buttons = [b for b in card.buttons if len(b.action.encode()) <= MAX_KEY_BYTES]
    tags = [t for t in card.tags if len(t.action.encode()) <= MAX_KEY_BYTES]
    button_list: list[dict[str, Any]] = []
    if len(tags) + len(buttons) <= MAX_BUTTONS:
        shown = buttons
        button_list += [{"type": 0, "text": _cut(_tag_label(t), 10), "style": 1 if t.selected else 2,
                         "key": t.action} for t in tags]
    else:
        chosen = [t.name for t in tags if t.selected]
        if tags:
            lines.insert(0, "标签：" + ("、".join(chosen) if chosen else "（未选）"))
        # Six slots: the card's own buttons first (确认 and 丢弃 lead), one for the dropdown's submit
        # button; the slots left are one-tap tag toggles — the chosen tags first (a wrongly detected tag
        # is the usual fix: one tap removes it), then the taxonomy's next tags. What does not fit waits
        # in the dropdown (open, pick, submit): the card's further buttons (保留 / 改约 / a promise's
        # 移除, never dropped), then the other tags.
        # The card's primary and danger buttons (确认, 丢弃) take their slots before any other; the
        # others fill what is left in the card's order.
        essential = [b for b in buttons if b.style in ("primary", "danger")][: MAX_BUTTONS - 1]
        others = [b for b in buttons if b not in essential][: MAX_BUTTONS - 1 - len(essential)]
        shown = [b for b in buttons if b in essential or b in others]
        overflow = [b for b in buttons if b not in shown and len(b.action.encode()) <= MAX_OPTION_ID_BYTES]
        spare = max(0, MAX_BUTTONS - len(shown) - 1)
        quick = sorted(tags, key=lambda t: not t.selected)[:spare]
        button_list += [{"type": 0, "text": _cut(_tag_label(t), 10), "style": 1 if t.selected else 2,
                         "key": t.action} for t in quick]
        rest = [t for t in tags if t not in quick and len(t.action.encode()) <= MAX_OPTION_ID_BYTES]
        # Past 10 options the card's buttons and the selected tags stay (a wrongly detected tag must
        # stay removable); tags in taxonomy order.
        room = max(0, MAX_OPTIONS - len(overflow))
        keep = {id(t) for t in sorted(rest, key=lambda t: not t.selected)[:room]}
        rest = [t for t in rest if id(t) in keep]
        options = [{"id": b.action, "text": _cut(b.label, 16)} for b in overflow[:MAX_OPTIONS]]
        options += [{"id": t.action, "text": _cut(_tag_label(t), 16)} for t in rest]
        if options:
            # The preselected option is an action or a tag to add, so a stray tap on the submit button
            # never silently removes a tag the rep already has.
            tag_options = options[len(options) - len(rest):]
            default = next((o for o, t in zip(tag_options, rest, strict=True) if not t.selected), options[0])
            only_tags = not overflow
            out["button_selection"] = {
                "question_key": TAG_QUESTION_KEY,
                "title": "更多标签" if only_tags else "更多操作",
                "option_list": options,
                "selected_id": default["id"],
            }
            button_list.append({"type": 0, "text": "增删标签" if only_tags else "执行所选", "style": 2,
                                "key": TAG_SUBMIT_KEY})
    texts = [_cut(b.label, 10) for b in shown]
    if len(set(texts)) < len(texts):
        # Cut to WeCom's 10 characters, two buttons read the same (two customers both named 许志强 at
        # different companies): number them and spell the full choices out above the buttons.
        texts = [f"{i}. {_cut(b.label, 7)}" for i, b in enumerate(shown, 1)]
        lines += [f"{i}. {b.label}" for i, b in enumerate(shown, 1)]
    button_list = [{"type": 0, "text": text, "style": STYLE.get(b.style, 2), "key": b.action}
                   for text, b in zip(texts, shown, strict=True)] + button_list
    if button_list:
        out["button_list"] = button_list
    lines += list(card.notes)
    if lines:
        out["sub_title_text"] = _cut("\n".join(lines), 160)
    if card.links:
        # Tapping the card body opens its first link (the edit form) in WeCom's browser: card_action
        # type 1 (https://developer.work.weixin.qq.com/document/path/90236, CardAction).
        out["card_action"] = {"type": 1, "url": card.links[0].url}
    return out


def card_actions(template_card: dict[str, Any]) -> set[str]:
    """Every action key a rendered card can send back (buttons and dropdown options)."""
    keys = {b["key"] for b in template_card.get("button_list", []) if b.get("key")}
    selection = template_card.get("button_selection") or {}
    keys |= {o["id"] for o in selection.get("option_list", [])}
    keys.discard(TAG_SUBMIT_KEY)
    return keys


def render_markdown(card: Card) -> str:
    """A card without anything to click (button_interaction needs a button) goes out as markdown."""
    lines = [f"**{card.title}**"]
    if card.subtitle:
        lines.append(f"> {card.subtitle}")
    for f in card.fields:
        shown = dialable_phone(f.value)
        value = f'<font color="warning">{shown}</font>' if f.warn else shown
        lines.append(f"{f.label}：{value}")
    chosen = [t.name for t in card.tags if t.selected]
    if card.tags:
        lines.append("标签：" + ("、".join(chosen) if chosen else "（未选）"))
    lines += list(card.notes)
    return "\n".join(lines)
