"""The anomaly sweep: data that looks wrong goes to the rep's supervisor, not into the reports.

Why a sweep and not the 确认 handler: records are confirmed in three places (the card, the console
form, the sandbox seed) and stages change in three more; one sweep over the database sees them all
and keeps the confirm path as fast as it is. Its queue is the records themselves: a confirmed record
with `anomaly_checked_at` NULL is due (indexed). Each record is claimed with a conditional UPDATE in
the same transaction that files what its check found, so two instances check it once and a crash
leaves it due. Each finding is an `anomaly` row with a unique key derived from the data
(`volume:<rep>:<day>`, `stages:<rep>:<first event>`, `amount:<record>`, `conflict:<record>`) and
its card an outbox row keyed `anomaly:<id>:sup<member>`: filed and sent exactly once.

The weekly report runs after this sweep in the same pass (scheduler/setup.run_sweeps), so a record
confirmed before the report is checked before it is counted.

Rules (thresholds under [anomalies], bot/config.AnomalySettings; detectors in bot/anomalies/rules.py):
1. volume: more than `daily_entries_max` entries by one rep in one local day.
2. stages: more than `stage_changes_max` stage changes by one rep within `stage_window_minutes` of
   the first of them (the 阶段 command, 确认 applying a hint, the console); later changes within the
   window of a filed run join it.
3. amount: a confirmed amount more than `amount_ratio` times (or under 1/ratio of) the expected price
   of the customer's product: the catalog's (bot/anomalies/prices.py) or the team median.
4. conflict: two different companies or roles for one customer within `conflict_window_minutes`
   (records and a customer made in that hour), or a phone that already belongs to another customer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.anomalies.facts import record_facts
from bot.anomalies.prices import ExpectedPrice, no_catalog
from bot.anomalies.rules import (
    Statement,
    amount_outlier,
    bulk_runs,
    contradiction,
    local_day,
    median_price,
    too_many_entries,
)
from bot.cards.anomalies import build_anomaly_card
from bot.config import Settings
from bot.format import fmt_amount, mask_contacts, mask_phone
from bot.pipeline.push import push_to_member
from store.anomalies import (
    anomaly_items,
    claim_followup_check,
    confirmed_followups_between,
    file_anomaly,
    filed_stage_events,
    phone_owner,
    rep_entries_between,
    stage_changes_since,
    team_product_amounts,
    unchecked_followup_ids,
)
from store.db import session_scope
from store.members import supervisors_of
from store.models import Anomaly, Customer, FollowUp, Member, TimelineEvent

log = structlog.get_logger("genjin.anomalies")
BATCH = 500
# How far back the stage rule looks each pass: runs are at most a window long, so a day covers a
# restart; a scheduler down for longer misses the bulk changes of its downtime (README).
STAGE_LOOKBACK = timedelta(days=1)


def sweep_anomalies(engine: Engine, settings: Settings, now: datetime,
                    prices: ExpectedPrice = no_catalog) -> int:
    """One pass: check every newly confirmed record, then the recent stage changes. Returns the
    number of review cards queued."""
    if not settings.anomalies.enabled:
        return 0
    queued = 0
    with Session(engine) as session:
        due = unchecked_followup_ids(session=session, limit=BATCH)
    for followup_id in due:
        with session_scope(engine) as session:
            if claim_followup_check(session=session, followup_id=followup_id, at=now):
                queued += _check_followup(session, settings, followup_id, now, prices)
    with session_scope(engine) as session:
        queued += _check_stage_changes(session, settings, now)
    return queued


def _check_followup(session: Session, settings: Settings, followup_id: int, now: datetime,
                    prices: ExpectedPrice) -> int:
    followup = session.get(FollowUp, followup_id)
    customer = session.get(Customer, followup.customer_id) if followup else None
    rep = session.get(Member, followup.rep_id) if followup else None
    if followup is None or customer is None or rep is None:
        return 0
    queued = _check_volume(session, settings, followup, rep, now)
    queued += _check_amount(session, settings, followup, customer, rep, now, prices)
    queued += _check_conflict(session, settings, followup, customer, rep, now)
    return queued


def _check_volume(session: Session, settings: Settings, followup: FollowUp, rep: Member, now: datetime) -> int:
    limit = settings.anomalies.daily_entries_max
    day, start, end = local_day(followup.created_at, settings.tz)
    count, confirmed = rep_entries_between(session=session, rep_id=followup.rep_id, start=start, end=end)
    if not too_many_entries(count, limit):
        return 0
    # Unconfirmed entries join when they are confirmed (and swept): 丢弃 may still remove them.
    summary = f"{rep.display_name} 在 {day:%m月%d日} 录入了 {count} 条跟进（上限 {limit} 条）"
    return _file(session, settings, now, key=f"volume:{rep.id}:{day.isoformat()}", kind="volume", rep=rep,
                 customer_id=None, summary=summary, followup_ids=confirmed)


def _check_amount(session: Session, settings: Settings, followup: FollowUp, customer: Customer, rep: Member,
                  now: datetime, prices: ExpectedPrice) -> int:
    cfg = settings.anomalies
    if followup.amount_cny is None or not customer.product:
        return 0
    expected = prices(session=session, team_id=customer.team_id, product=customer.product)
    source = "产品目录价"
    if expected is None:
        amounts = team_product_amounts(session=session, team_id=customer.team_id, product=customer.product,
                                       since=now - timedelta(days=cfg.amount_lookback_days),
                                       exclude_followup_id=followup.id or 0)
        expected, source = median_price(amounts, cfg.amount_min_samples), "团队中位数"
    if expected is None or not amount_outlier(followup.amount_cny, expected, cfg.amount_ratio):
        return 0
    summary = (f"{mask_contacts(customer.name)} 的金额 {fmt_amount(followup.amount_cny)}，{customer.product} 的"
               f"{source}为 {fmt_amount(expected)}，相差超过 {cfg.amount_ratio:g} 倍（记录 #{followup.id}）")
    return _file(session, settings, now, key=f"amount:{followup.id}", kind="amount", rep=rep,
                 customer_id=customer.id, summary=summary, followup_ids=[followup.id or 0])


def _check_conflict(session: Session, settings: Settings, followup: FollowUp, customer: Customer, rep: Member,
                    now: datetime) -> int:
    facts = record_facts(f"{followup.text}\n{followup.transcript or ''}")
    for phone in facts.phones:
        other = phone_owner(session=session, phone=phone, exclude_customer_id=customer.id or 0)
        if other is not None:
            summary = (f"{mask_contacts(customer.name)} 的记录 #{followup.id} 写的电话 {mask_phone(phone)} "
                       f"已属于另一位客户 #{other.id}")
            return _file(session, settings, now, key=f"conflict:{followup.id}", kind="conflict", rep=rep,
                         customer_id=customer.id, summary=summary, followup_ids=[followup.id or 0])
    window = timedelta(minutes=settings.anomalies.conflict_window_minutes)
    nearby = confirmed_followups_between(session=session, customer_id=customer.id or 0,
                                         start=followup.created_at - window, end=followup.created_at + window)
    statements = [Statement(followup_id=f.id, at=f.created_at, companies=fs.companies, titles=fs.titles)
                  for f in nearby for fs in [facts if f.id == followup.id else record_facts(f.text)]]
    if abs(customer.created_at - followup.created_at) <= window:  # the customer's card was written that hour
        statements.append(Statement(followup_id=None, at=customer.created_at,
                                    companies=(customer.company,) if customer.company else (),
                                    titles=(customer.title,) if customer.title else ()))
    found = contradiction(statements, window, involving=followup.id)
    if found is None:
        return 0
    summary = (f"{mask_contacts(customer.name)} 一小时内出现两个不同的{found.field}："
               f"{mask_contacts(found.values[0])} / {mask_contacts(found.values[1])}")
    return _file(session, settings, now, key=f"conflict:{followup.id}", kind="conflict", rep=rep,
                 customer_id=customer.id, summary=summary, followup_ids=list(found.followup_ids))


def _check_stage_changes(session: Session, settings: Settings, now: datetime) -> int:
    cfg = settings.anomalies
    window = timedelta(minutes=cfg.stage_window_minutes)
    events = stage_changes_since(session=session, since=now - max(STAGE_LOOKBACK, window))
    filed = filed_stage_events(session=session, event_ids=[e.id or 0 for e in events])
    by_rep: dict[int, list[TimelineEvent]] = {}
    for event in events:
        by_rep.setdefault(event.actor_id or 0, []).append(event)
    queued = 0
    for rep_id, changes in by_rep.items():
        rep = session.get(Member, rep_id)
        if rep is None:
            continue
        queued += _join_filed_runs(session, settings, rep, changes, filed, window, now)
        fresh = [e for e in changes if (e.id or 0) not in filed]
        for run in bulk_runs([e.created_at for e in fresh], cfg.stage_changes_max, window):
            members = [fresh[i] for i in run]
            first = members[0]
            since = first.created_at.astimezone(settings.tz)
            summary = (f"{rep.display_name} 在 {cfg.stage_window_minutes} 分钟内改了 {len(members)} 次客户阶段"
                       f"（上限 {cfg.stage_changes_max} 次），从 {since:%m-%d %H:%M} 起")
            queued += _file(session, settings, now, key=f"stages:{rep.id}:{first.id}", kind="stages", rep=rep,
                            customer_id=None, summary=summary,
                            events=[(e.id or 0, e.customer_id) for e in members])
    return queued


def _join_filed_runs(session: Session, settings: Settings, rep: Member, changes: list[TimelineEvent],
                     filed: dict[int, int], window: timedelta, now: datetime) -> int:
    """A change within the window after a filed run's last change belongs to that run (the burst went
    on after it was filed): it is attached, and held with it."""
    last_of: dict[int, TimelineEvent] = {}
    for event in changes:
        anomaly_id = filed.get(event.id or 0)
        if anomaly_id is not None:
            last_of[anomaly_id] = event
            continue
        for anomaly_id, last in last_of.items():
            if event.created_at - last.created_at < window:
                anomaly = session.get(Anomaly, anomaly_id)
                if anomaly is not None:
                    file_anomaly(session=session, key=anomaly.key, kind=anomaly.kind, team_id=anomaly.team_id,
                                 rep_id=anomaly.rep_id, customer_id=None, summary=anomaly.summary,
                                 events=[(event.id or 0, event.customer_id)], at=now)
                    filed[event.id or 0] = anomaly_id
                    last_of[anomaly_id] = event
                break
    return 0


def _file(session: Session, settings: Settings, now: datetime, *, key: str, kind: str, rep: Member,
          customer_id: int | None, summary: str, followup_ids: list[int] | None = None,
          events: list[tuple[int, int]] | None = None) -> int:
    """File the finding (once) and, when it is new, queue its card to each of the rep's supervisors."""
    anomaly_id, new = file_anomaly(session=session, key=key, kind=kind, team_id=rep.team_id, rep_id=rep.id or 0,
                                   customer_id=customer_id, summary=summary, followup_ids=followup_ids or [],
                                   events=events or [], at=now)
    if not new:
        return 0
    anomaly = session.get(Anomaly, anomaly_id)
    assert anomaly is not None
    records = len(anomaly_items(session=session, anomaly_ids=[anomaly_id]))
    card = build_anomaly_card(anomaly=anomaly, rep_name=rep.display_name, records=records,
                              console_url=settings.console.public_url)
    queued = 0
    for sup in supervisors_of(session=session, member=rep):
        queued += push_to_member(session=session, platforms=settings.enabled_platforms, member=sup,
                                 dedupe_key=f"anomaly:{anomaly_id}:sup{sup.id}", card=card,
                                 customer_id=customer_id, at=now)
    log.info("anomaly_filed", anomaly_id=anomaly_id, kind=kind, rep_id=rep.id)
    return queued
