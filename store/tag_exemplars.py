"""A team's learned tag exemplars: add (capped per tag, oldest out), list, reset, and the watermark
of the follow-ups already learned from (one row per team with tag WATERMARK)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, delete, func, select

from store.models import FollowUp, TagExemplar

MAX_PER_TAG = 40  # enough phrasings to learn a team's way of talking; bounded cost per message
WATERMARK = "*"  # the tag of the row whose followup_id is the last follow-up learned from


def add_tag_exemplar(
    *, session: Session, team_id: int, tag: str, text: str, source: str, at: datetime,
    followup_id: int | None = None, cap: int = MAX_PER_TAG,
) -> bool:
    """Store one clause for (team, tag); False if it is already there. Beyond `cap` the oldest go."""
    text = text.strip()[:200]
    if not text or tag == WATERMARK:
        return False
    exists = session.exec(
        select(TagExemplar.id).where(
            col(TagExemplar.team_id) == team_id, col(TagExemplar.tag) == tag, col(TagExemplar.text) == text
        )
    ).first()
    if exists is not None:
        return False
    session.add(TagExemplar(team_id=team_id, tag=tag, text=text, source=source, followup_id=followup_id,
                            created_at=at))
    session.flush()
    ids = session.exec(
        select(TagExemplar.id)
        .where(col(TagExemplar.team_id) == team_id, col(TagExemplar.tag) == tag)
        .order_by(col(TagExemplar.created_at).desc(), col(TagExemplar.id).desc())
    ).all()
    stale = list(ids[cap:])
    if stale:
        session.exec(delete(TagExemplar).where(col(TagExemplar.id).in_(stale)))  # type: ignore[call-overload]
    return True


def team_exemplars(*, session: Session, team_id: int) -> dict[str, list[str]]:
    """tag -> the team's learned clauses, oldest first."""
    rows = session.exec(
        select(TagExemplar)
        .where(col(TagExemplar.team_id) == team_id, col(TagExemplar.tag) != WATERMARK)
        .order_by(col(TagExemplar.id))
    ).all()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.tag, []).append(row.text)
    return found


def learned_up_to(*, session: Session, team_id: int) -> int:
    """The last follow-up id the team's learning has looked at (0 if none)."""
    row = session.exec(
        select(TagExemplar).where(col(TagExemplar.team_id) == team_id, col(TagExemplar.tag) == WATERMARK)
    ).first()
    return int(row.followup_id or 0) if row else 0


def set_learned_up_to(*, session: Session, team_id: int, followup_id: int, at: datetime) -> None:
    row = session.exec(
        select(TagExemplar).where(col(TagExemplar.team_id) == team_id, col(TagExemplar.tag) == WATERMARK)
    ).first()
    if row is None:
        # The watermark row has no follow-up FK target of its own meaning: it only remembers an id.
        row = TagExemplar(team_id=team_id, tag=WATERMARK, text=WATERMARK, source="watermark", created_at=at)
    row.followup_id = followup_id or None
    session.add(row)
    session.flush()


def reset_tag_exemplars(*, session: Session, team_id: int, at: datetime, tag: str | None = None) -> int:
    """Forget a team's learned exemplars (one tag or all); returns how many were removed. Records
    confirmed before the reset are not learned again (the watermark moves to the newest one)."""
    query = select(TagExemplar).where(col(TagExemplar.team_id) == team_id, col(TagExemplar.tag) != WATERMARK)
    if tag is not None:
        query = query.where(col(TagExemplar.tag) == tag)
    rows = session.exec(query).all()
    for row in rows:
        session.delete(row)
    newest = session.exec(select(func.max(FollowUp.id))).one()
    set_learned_up_to(session=session, team_id=team_id, followup_id=int(newest or 0), at=at)
    return len(rows)
