"""Quote lines of a record: proposed from the catalog when it is stored, changed by the rep with a
reply ("产品 企业版 2套", "产品 无") or a tap (用口述金额 / 用目录合计). The record's amount follows
the lines' total; a different amount said in the text is kept beside it (spoken_amount_cny)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.cards.quote import QuoteSection, build_quote_section
from bot.catalog.entries import catalog_entries
from bot.context import HandlerContext
from bot.extract.products import ProductLine, find_product_lines, line_for_choice, undecided_products
from store.followups import fix_field
from store.models import Correction, FollowUp
from store.quotes import NewLine, delete_quote_lines, quote_lines, replace_quote_lines
from store.types import require_id

CLEAR_WORDS = frozenset({"无", "没有", "清空", "删除", "不要", "去掉"})


def catalog_lines(ctx: HandlerContext, text: str) -> list[ProductLine]:
    return find_product_lines(text, catalog_entries(session=ctx.session, settings=ctx.settings))


def _new_lines(lines: list[ProductLine]) -> list[NewLine]:
    return [NewLine(product_id=line.entry.product_id, label=line.entry.label, unit=line.entry.unit,
                    quantity=line.quantity, unit_price_cny=line.entry.unit_price_cny) for line in lines]


def propose_quote(session: Session, followup: FollowUp, lines: list[ProductLine], at: datetime) -> None:
    """At record time: the catalog total becomes the amount; a spoken amount that differs is kept."""
    if not lines:
        return
    assert followup.id is not None
    total = replace_quote_lines(session=session, followup_id=followup.id, lines=_new_lines(lines), at=at)
    if followup.amount_cny is not None and followup.amount_cny != total:
        followup.spoken_amount_cny = followup.amount_cny
    followup.amount_cny = total
    session.add(followup)


def quote_section(ctx: HandlerContext, followup: FollowUp) -> QuoteSection:
    catalog = catalog_entries(session=ctx.session, settings=ctx.settings)
    lines = quote_lines(session=ctx.session, followup_id=require_id(followup))
    quoted = {q.label for q in lines}
    choices = [(group[0].name, [(e.label, f"{e.name}|{e.edition}") for e in group])
               for group in undecided_products(followup.text, catalog)
               if not any(e.label in quoted for e in group)]  # picked already: no more asking
    return build_quote_section(followup=followup, lines=lines, catalog_in_use=bool(catalog), choices=choices)


def pick_product(ctx: HandlerContext, followup: FollowUp, key: str) -> bool:
    """The rep picked one edition of a product the text named without it: that line joins the quote
    with the quantity the text gave. False when `key` is no longer in the catalog."""
    name, _, edition = key.partition("|")
    catalog = catalog_entries(session=ctx.session, settings=ctx.settings)
    entry = next((e for e in catalog if (e.name, e.edition) == (name, edition)), None)
    if entry is None:
        return False
    fid = require_id(followup)
    current = quote_lines(session=ctx.session, followup_id=fid)
    kept = [NewLine(product_id=q.product_id, label=q.label, unit=q.unit, quantity=q.quantity,
                    unit_price_cny=q.unit_price_cny) for q in current if q.label != entry.label]
    if not current and followup.amount_cny is not None and followup.spoken_amount_cny is None:
        followup.spoken_amount_cny = followup.amount_cny  # said before any line existed: kept
    total = replace_quote_lines(session=ctx.session, followup_id=fid,
                                lines=kept + _new_lines([line_for_choice(followup.text, entry)]), at=ctx.now)
    if followup.spoken_amount_cny == total:
        followup.spoken_amount_cny = None
    followup.amount_cny = total
    ctx.session.add(followup)
    ctx.session.add(Correction(followup_id=fid, member_id=require_id(ctx.member), team_id=ctx.member.team_id,
                               field="quote", before=None, after=entry.label[:500], created_at=ctx.now))
    return True


def set_quote(ctx: HandlerContext, followup: FollowUp, value: str) -> bool:
    """产品 …: the record's quote becomes the catalog lines the reply names, or none for 产品 无.
    False when the reply names no catalog product (then it is the customer's product text)."""
    fid = require_id(followup)
    before = quote_lines(session=ctx.session, followup_id=fid)
    before_text = "；".join(f"{q.label}×{q.quantity}" for q in before) or None
    if value.strip() in CLEAR_WORDS:
        if not before:
            return False
        delete_quote_lines(session=ctx.session, followup_id=fid)
        after_text, amount = "无", followup.spoken_amount_cny
        followup.spoken_amount_cny = None
    else:
        lines = catalog_lines(ctx, value)
        if not lines:
            return False
        if not before and followup.amount_cny is not None and followup.spoken_amount_cny is None:
            followup.spoken_amount_cny = followup.amount_cny  # said before any line existed: kept
        amount = replace_quote_lines(session=ctx.session, followup_id=fid, lines=_new_lines(lines), at=ctx.now)
        after_text = "；".join(f"{line.entry.label}×{line.quantity}" for line in lines)
        if followup.spoken_amount_cny == amount:
            followup.spoken_amount_cny = None
    followup.amount_cny = amount
    ctx.session.add(followup)
    ctx.session.add(Correction(followup_id=fid, member_id=require_id(ctx.member), team_id=ctx.member.team_id,
                               field="quote", before=before_text, after=after_text[:500], created_at=ctx.now))
    return True


def use_amount(ctx: HandlerContext, followup: FollowUp, *, catalog: bool) -> bool:
    """The rep's tap: the record's amount is the catalog total, or the amount said beside it."""
    fid = require_id(followup)
    lines = quote_lines(session=ctx.session, followup_id=fid)
    if not lines:
        return False
    total = sum(q.total_cny for q in lines)
    if catalog:
        if followup.amount_cny == total:
            return False
        if followup.spoken_amount_cny is None:
            followup.spoken_amount_cny = followup.amount_cny
        target = total
    else:
        if followup.spoken_amount_cny is None or followup.amount_cny != total:
            return False
        target = followup.spoken_amount_cny
    ctx.session.add(followup)
    fix_field(session=ctx.session, actor=ctx.member, followup_id=fid, field="amount_cny", value=str(target),
              at=ctx.now)
    return True
