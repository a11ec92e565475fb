"""The tagger learns per team: clauses from the team's confirmed records become its exemplars.

For every tag a rep confirmed on a record (kept as proposed: "confirmed"; or added by hand:
"corrected"), the record's clause that best says that tag joins the team's exemplars for it. New
phrasings are learned this way, not only keyword weights (learning.py lowers those on removals).
Each tag keeps at most store.tag_exemplars.MAX_PER_TAG clauses per team; `genjin tags reset`
forgets them. Learning is incremental: only records newer than the team's watermark are read.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.extract.textnorm import normalize_text
from store.models import Customer, FollowUp
from store.tag_exemplars import add_tag_exemplar, learned_up_to, set_learned_up_to, team_exemplars

from .exemplars import EXEMPLARS
from .semantic_tags import best_clause_for

BATCH = 50  # records learned per call: bounds the cost added to one message


def learn_team_exemplars(*, session: Session, team_id: int, at: datetime) -> int:
    """Learn from the team's confirmed records since the watermark; returns clauses added."""
    since = learned_up_to(session=session, team_id=team_id)
    records = session.exec(
        select(FollowUp)
        .join(Customer, col(Customer.id) == FollowUp.customer_id)
        .where(col(Customer.team_id) == team_id, col(FollowUp.confirmed).is_(True), col(FollowUp.id) > since)
        .order_by(col(FollowUp.id))
        .limit(BATCH)
    ).all()
    if not records:
        return 0
    learned = team_exemplars(session=session, team_id=team_id)
    added = 0
    for record in records:
        text = normalize_text(record.text)
        for tag in record.tags:
            if tag not in EXEMPLARS:
                continue
            exemplars = {t: (*EXEMPLARS[t], *learned.get(t, ())) for t in EXEMPLARS}
            clause = best_clause_for(text, tag, exemplars)
            if clause is None:
                continue
            source = "confirmed" if tag in record.extracted_tags else "corrected"
            if add_tag_exemplar(session=session, team_id=team_id, tag=tag, text=clause, source=source, at=at,
                                followup_id=record.id):
                learned.setdefault(tag, []).append(clause)
                added += 1
    set_learned_up_to(session=session, team_id=team_id, followup_id=records[-1].id or 0, at=at)
    return added


def exemplars_for_team(*, session: Session, team_id: int, at: datetime) -> dict[str, list[str]]:
    """Learn what is new, then the team's exemplars (tag -> clauses) for the tagger."""
    learn_team_exemplars(session=session, team_id=team_id, at=at)
    return team_exemplars(session=session, team_id=team_id)
