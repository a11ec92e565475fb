"""The follow-up confirmation card: parsed fields, tags as toggles, 确认, and a history snippet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType

from bot.cards.promises import promises_section
from bot.cards.quote import QuoteSection
from bot.cards.snippet import HistoryLine
from bot.format import fmt_amount, fmt_when, mask_email, mask_phone
from bot.models import Button, Card, CardField, CardLink, TagToggle
from store.models import Customer, FollowUp, Promise


def build_followup_card(
    *,
    followup: FollowUp,
    customer: Customer,
    history: Sequence[HistoryLine],
    all_tags: Sequence[str],
    tz: tzinfo,
    next_contact_has_time: bool | None = None,
    warnings: Sequence[str] = (),
    is_new_customer: bool | None = None,
    stage_refusal: Sequence[str] = (),
    date_question: str | None = None,
    offer_visit: bool = False,
    in_group: bool = False,
    console_url: str | None = None,
    quote: QuoteSection | None = None,
    promises: Sequence[Promise] = (),
) -> Card:
    """The record as the rep checks it. Unset flags come from the rows (a refreshed card after a tap
    shows what the first one showed). `stage_refusal`: why the suggested stage cannot be applied by
    确认 (the 阶段 gate); `date_question`: a stated next contact outside the window, kept and asked
    about (保留 / 改约); `offer_visit`: the text names a meeting at that time (安排拜访); `in_group`:
    the card is posted in a group chat, so phones and e-mails are masked."""
    fid = followup.id
    has_time = followup.next_contact_has_time if next_contact_has_time is None else next_contact_has_time
    is_new = customer.draft if is_new_customer is None else is_new_customer
    who = customer.name + (f"（{customer.company}）" if customer.company else "")
    stage = customer.stage
    if followup.stage_hint and followup.stage_hint != customer.stage:
        stage += f" → 建议 {followup.stage_hint}" + ("（确认后不变更）" if stage_refusal else "")
    fields = [
        CardField(label="客户", value=who + ("  [新客户]" if is_new else "")),
        CardField(label="电话", value=mask_phone(customer.phone) if in_group else display_phone(customer.phone)),
        CardField(label="金额", value=fmt_amount(followup.amount_cny)),
        CardField(
            label="下次联系",
            value=fmt_when(followup.next_contact_at, tz, has_time) if followup.next_contact_at else "—",
            warn=followup.next_contact_at is not None,
        ),
        CardField(label="阶段", value=stage, warn=bool(stage_refusal)),
        CardField(label="产品", value=customer.product or "—"),
        # Last: a renderer with a short field row (WeCom: six fields, values cut at 30 characters) shows
        # the fields past its row as full lines, so a long e-mail is never cut.
        CardField(label="邮箱", value=mask_email(customer.email) if in_group else (customer.email or "—")),
    ]
    tags = [TagToggle(name=t, selected=t in followup.tags, action=f"tag:{fid}:{t}") for t in all_tags]
    heard = followup.understanding or {}
    # Warnings first: WeCom cuts a card's text at 160 characters and a long transcript must not push
    # a disagreement off the card.
    notes = [f"⚠ {w}" for w in warnings]
    if quote is not None:  # catalog lines and an amount that disagrees (bot/cards/quote.py)
        notes += quote.notes
    if date_question and not followup.confirmed:
        notes.insert(0, f"❓ {date_question}")
    if stage_refusal and not followup.confirmed:
        notes.append(f"⚠ 阶段建议「{followup.stage_hint}」不会随确认生效：" + "；".join(stage_refusal))
    notes += _heard_notes(followup, heard)
    promise_notes, promise_buttons = promises_section(promises, tz, confirmed=followup.confirmed)
    notes += promise_notes
    if not followup.confirmed:
        notes.append(EDIT_HINT)
    if history:
        notes.append("最近记录：")
        notes.extend(f"· {e.created_at.astimezone(tz):%m-%d} {e.summary}" for e in history)
    else:
        notes.append("最近记录：暂无")
    buttons = [] if followup.confirmed else [Button(label="确认", action=f"confirm:{fid}", style="primary")]
    if not followup.confirmed:
        if date_question:
            buttons += [Button(label="保留", action=f"keep_date:{fid}"), Button(label="改约", action=f"redate:{fid}")]
        if offer_visit:
            buttons.append(Button(label="安排拜访", action=f"visit:{fid}"))
        if quote is not None:
            buttons += quote.buttons
        buttons.append(Button(label="丢弃", action=f"discard:{fid}", style="danger"))
        buttons += promise_buttons
        # Each alternative reading (DingTalk's, or the words as heard before correction) is one tap;
        # the tap is stored as a field correction (store/followups.py fix_field). Last: a platform
        # that caps buttons drops these first (a reply fixes the same field).
        buttons += [Button(label=str(a["label"]), action=f"fix:{fid}:{i}")
                    for i, a in enumerate(heard.get("alternatives") or [])]
    title = "跟进记录已确认" if followup.confirmed else "请确认跟进记录"
    subtitle = f"记录 #{fid} · " + ("已保存到客户档案" if followup.confirmed else "点标签可增删，确认后保存到客户档案")
    return Card(title=title, subtitle=subtitle, fields=fields, tags=tags,
                buttons=buttons, notes=notes, links=console_links(console_url, followup, customer))


def console_links(console_url: str | None, followup: FollowUp, customer: Customer) -> list[CardLink]:
    """编辑 (the record edit form, until confirmed) and 查看 (the customer's page) in the web console;
    none when the console's address is unknown (`console_url` None)."""
    if console_url is None:
        return []
    view = CardLink(label="查看", url=f"{console_url}/console/customers/{customer.id}")
    if followup.confirmed:
        return [view]
    return [CardLink(label="编辑", url=f"{console_url}/console/followups/{followup.id}/edit"), view]


EDIT_HINT = "✎ 改字段直接回复，如：公司 华信物流 / 下次 周四下午3点 / 阶段 需求确认"


def display_phone(phone: str | None) -> str:
    """A number the rep can dial: a mainland landline in its national form with the area code
    (0755-12345678), anything else as stored (E.164)."""
    if not phone:
        return "—"
    try:
        number = phonenumbers.parse(phone, "CN")
    except phonenumbers.NumberParseException:
        return phone
    if number.country_code != 86 or phonenumbers.number_type(number) != PhoneNumberType.FIXED_LINE:
        return phone
    national = phonenumbers.national_significant_number(number)
    area = phonenumbers.length_of_geographical_area_code(number)
    if not area:
        return phone
    return f"0{national[:area]}-{national[area:]}"


def _heard_notes(followup: FollowUp, heard: dict[str, Any]) -> list[str]:
    """A voice record shows what was heard, which words were corrected, and every date heard in the
    form the rep checks at a glance (周四 11月26日 15:00)."""
    if followup.kind in ("image", "pdf"):
        shown = " ".join(followup.text.split())  # the text read from a photo or PDF (bot/handlers/evidence.py)
        what = "图片" if followup.kind == "image" else "文件"
        return [f"🖼 {what}文字：{shown[:200]}{'…' if len(shown) > 200 else ''}"]
    if followup.kind != "voice":
        return []
    notes = []
    fixes = heard.get("fixes") or []
    if fixes:
        notes.append("✎ 已按客户名单更正：" + "、".join(f"「{a}」→「{b}」" for a, b in fixes) + "（原话已保存）")
    times = heard.get("times") or []
    if times:
        notes.append("🕒 听到的时间：" + "；".join(f"「{said}」= {shown}" for said, shown in times))
    notes.append(f"🎙 语音转写：{followup.text}")
    return notes


def build_duplicate_card(*, name: str, company: str | None, candidates: Sequence[Customer]) -> Card:
    """Likely the same person under another spelling: the rep chooses, nothing is guessed."""
    buttons = [
        Button(label=f"是同一客户：{c.name}" + (f"（{c.company}）" if c.company else ""), action=f"dup_use:{c.id}",
               style="primary")
        for c in candidates[:3]
    ]
    buttons.append(Button(label="不是，新建客户", action="dup_new"))
    shown = name + (f"（{company}）" if company else "")
    return Card(title="可能是重复客户", subtitle=f"「{shown}」与已有客户名字相近",
                fields=[CardField(label=c.name, value=c.company or "—") for c in candidates[:3]],
                buttons=buttons)
