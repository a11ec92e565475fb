"""没问题 / 退回给销售, the same from a card tap (bot/handlers/anomalies.py) and the console's form
(bot/web/anomalies.py): record the decision (once), note it on the customer's timeline, and on a
退回 queue the card that tells the rep what to fix (an outbox row keyed per anomaly: once)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.cards.anomalies import KIND_LABELS, build_returned_card
from bot.config import Settings
from bot.pipeline.push import push_to_member
from store.anomalies import review_anomaly
from store.models import Anomaly, AnomalyStatus, Member
from store.timeline import add_event


def apply_review(*, session: Session, settings: Settings, actor: Member, anomaly_id: int, decision: str,
                 reason: str | None, console_url: str | None, at: datetime) -> Anomaly:
    anomaly = review_anomaly(session=session, actor=actor, anomaly_id=anomaly_id, decision=decision,
                             reason=reason, at=at)
    label = KIND_LABELS.get(anomaly.kind, anomaly.kind)
    verdict = "没问题" if decision == AnomalyStatus.OK else "退回给销售"
    note_on_timeline(session=session, anomaly=anomaly, actor=actor, summary=f"异常复核（{label}）：{verdict}", at=at)
    if decision == AnomalyStatus.RETURNED:
        rep = session.get(Member, anomaly.rep_id)
        if rep is not None:
            card = build_returned_card(anomaly=anomaly, reviewer_name=actor.display_name, console_url=console_url)
            push_to_member(session=session, platforms=settings.enabled_platforms, member=rep, card=card,
                           dedupe_key=f"anomaly:{anomaly.id}:returned", at=at)
    return anomaly


def note_on_timeline(*, session: Session, anomaly: Anomaly, actor: Member, summary: str, at: datetime) -> None:
    if anomaly.customer_id is not None:
        add_event(session=session, customer_id=anomaly.customer_id, actor_id=actor.id, kind="anomaly_review",
                  summary=summary, ref={"anomaly_id": anomaly.id}, at=at)
