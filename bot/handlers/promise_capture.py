"""Promises found in a new record's text become proposed ledger rows shown on its card."""

from __future__ import annotations

from datetime import datetime, time

from bot.context import HandlerContext
from bot.extract.promises import find_promises
from store.models import Customer, FollowUp
from store.promises import create_promise


def note_promises(ctx: HandlerContext, followup: FollowUp, customer: Customer, sent_at_iso: str) -> int:
    """Store the promises of the record's text, resolved against the send time of the message (not
    the time the worker got to it); they enter the ledger when the record is confirmed."""
    sent = datetime.fromisoformat(sent_at_iso)
    h, m = (int(x) for x in ctx.settings.pushes.work_end.split(":"))
    day_end = time(23, 59) if h == 24 else time(h, m)
    found = find_promises(followup.text, sent_at=sent, rep_name=ctx.member.display_name,
                          customer_name=customer.name, day_end=day_end)
    for p in found:
        create_promise(
            session=ctx.session, customer_id=customer.id or 0, followup_id=followup.id or 0,
            rep_id=ctx.member.id or 0, promiser=p.promiser, promiser_name=p.promiser_name,
            promisee_name=p.promisee_name, what=p.what, due_text=p.due_text, due_at=p.due_at, sent_at=sent,
            source_text=p.source, remind_at=ctx.now,  # the sweep schedules its reminders once it is open
            at=ctx.now,
        )
    return len(found)
