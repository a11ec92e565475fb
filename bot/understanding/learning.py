"""Learning from corrections: a team's tag removals lower the weight of the keyword that fired.

Every proposed tag came from keywords (bot/extract/tags.py). When a team's reps keep removing a tag
from records where one keyword fired ("预算有限" proposing 价格异议), that keyword is wrong *for
this team*, and its weight drops; below TAG_FIRES it no longer proposes the tag on its own (with a
second, trusted keyword it still does). Smoothing keeps one or two removals from teaching anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.extract import TagRule
from bot.extract.tags import find_keyword_hits
from bot.extract.textnorm import normalize_text
from store.models import Correction, Customer, FollowUp

PRIOR = 2.0  # pseudo-uses that were kept: 3 removals out of 3 uses are needed to mute a keyword
WINDOW_DAYS = 180  # old habits fade: a taxonomy or team practice from last year teaches nothing
MAX_RECORDS = 2000  # bounds the per-message cost for a busy team

Weights = dict[tuple[str, str], float]


def keyword_weights(fired: Counter[tuple[str, str]], removed: Counter[tuple[str, str]]) -> Weights:
    """weight = 1 - removed / (fired + PRIOR) for every keyword that was ever removed."""
    return {key: round(1.0 - n / (fired[key] + PRIOR), 3) for key, n in removed.items() if n > 0}


def team_weights(
    *, session: Session, team_id: int, rules: Sequence[TagRule], now: datetime, days: int = WINDOW_DAYS
) -> Weights:
    """Learned (tag, keyword) weights for one team from its recent records and tag corrections."""
    since = now - timedelta(days=days)
    removed_tags: dict[int, set[str]] = {}
    for c in session.exec(
        select(Correction).where(
            col(Correction.team_id) == team_id, col(Correction.field) == "tag", col(Correction.created_at) >= since
        )
    ).all():
        if c.before and not c.after:
            removed_tags.setdefault(c.followup_id, set()).add(c.before)
    if not removed_tags:
        return {}
    records = session.exec(
        select(FollowUp)
        .join(Customer, col(Customer.id) == FollowUp.customer_id)
        .where(col(Customer.team_id) == team_id, col(FollowUp.created_at) >= since)
        .order_by(col(FollowUp.created_at).desc())
        .limit(MAX_RECORDS)
    ).all()
    fired: Counter[tuple[str, str]] = Counter()
    removed: Counter[tuple[str, str]] = Counter()
    for record in records:
        proposed = set(record.extracted_tags)
        if not proposed:
            continue
        hits = find_keyword_hits(normalize_text(record.text), [r for r in rules if r.name in proposed])
        # A tag the rep removed and did not put back is a rejection of every keyword that fired for it.
        rejected = removed_tags.get(record.id or 0, set()) - set(record.tags)
        for tag, found in hits.items():
            for keyword in {k for _, k in found}:
                fired[(tag, keyword)] += 1
                if tag in rejected:
                    removed[(tag, keyword)] += 1
    return keyword_weights(fired, removed)
