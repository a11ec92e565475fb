"""我的's drafts (store/console.unconfirmed_followups): newest first, only customers the rep still sees,
and the limit filled even when more than a page of the rep's newest drafts sit on customers handed away
(the list walks the drafts index page by page instead of joining the rep's whole book)."""

from __future__ import annotations

from datetime import timedelta

from store.console import unconfirmed_followups
from store.customers import create_customer, reassign_customer
from store.db import session_scope
from store.followups import confirm_followup, create_followup
from store.models import Member
from tests.factories import EPOCH, make_org


def test_drafts_fill_the_limit_past_a_page_of_records_on_customers_handed_away(engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        rep, other, sup = (s.get(Member, m.id) for m in (org.rep_a, org.rep_b, org.supervisor))
        kept = create_customer(session=s, actor=rep, name="周涛", at=EPOCH)
        gone = create_customer(session=s, actor=rep, name="吴刚", at=EPOCH)
        old = [create_followup(session=s, actor=rep, customer_id=kept.id, kind="chat", text=f"旧记录{i}",
                               tags=[], at=EPOCH + timedelta(minutes=i)).id for i in range(3)]
        done = create_followup(session=s, actor=rep, customer_id=kept.id, kind="chat", text="已确认", tags=[],
                               at=EPOCH + timedelta(minutes=5))
        confirm_followup(session=s, actor=rep, followup_id=done.id, at=EPOCH + timedelta(minutes=6))
        for i in range(7):  # newer than every kept draft: more than a page of 2 x limit
            create_followup(session=s, actor=rep, customer_id=gone.id, kind="chat", text=f"新记录{i}", tags=[],
                            at=EPOCH + timedelta(minutes=10 + i))
        reassign_customer(session=s, actor=sup, customer_id=gone.id, new_owner=other, at=EPOCH + timedelta(hours=1))
    with session_scope(engine) as s:
        rep = s.get(Member, org.rep_a.id)
        drafts = unconfirmed_followups(session=s, actor=rep, limit=3)
        assert [f.id for f, _ in drafts] == sorted(old, reverse=True)
        assert {c.name for _, c in drafts} == {"周涛"}
        assert [f.id for f, _ in unconfirmed_followups(session=s, actor=rep, limit=2)] == sorted(old)[:0:-1]
