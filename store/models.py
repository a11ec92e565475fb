"""Tables. Alembic migrations (store/migrations) are the schema source; these mirror them.

All timestamps are UTC and tz-aware (UTCDateTime). Lists and payloads are JSON columns.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, false, true
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from store.stages import Stage
from store.types import UTCDateTime


def _ts(*, index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), index=index, nullable=nullable))


def _created() -> Any:
    # No default: the creating code passes the injected clock's time (one clock, ARCHITECTURE.md #7).
    # A row built without it fails its INSERT (NOT NULL) instead of silently taking the wall clock.
    return Field(sa_column=Column(UTCDateTime(), nullable=False))


class Role(StrEnum):
    REP = "rep"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class InboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    DEFERRED = "deferred"  # kept for a later stage (e.g. voice awaiting transcription)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"  # claimed by a sender (claimed_at): a lease, like the inbox
    SENT = "sent"
    FAILED = "failed"
    MERGED = "merged"  # folded into a digest row (merged_into_id)
    CANCELLED = "cancelled"  # the recipient may no longer see the customer it is about


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    created_at: datetime = _created()


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    display_name: str = Field(max_length=100)
    role: str = Field(default=Role.REP, max_length=16)
    active: bool = True
    wecom_userid: str | None = Field(default=None, max_length=64, unique=True)
    dingtalk_userid: str | None = Field(default=None, max_length=64, unique=True)
    sandbox_id: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = _created()


class Customer(SQLModel, table=True):
    __table_args__ = (Index("ix_customer_owner_score", "owner_id", "lead_score"),
                      Index("ix_customer_created", "created_at"),  # the console's funnel: arrivals in a period
                      Index("ix_customer_owner_stage", "owner_id", "stage"),  # the pipeline grid of one rep
                      # One rep's customers by next contact (pipeline ?rep=, 我的) and arrivals in a
                      # week (the health page's leads): ranges, not a walk over the rep's whole book.
                      Index("ix_customer_owner_next_contact", "owner_id", "next_contact_at"),
                      Index("ix_customer_owner_created", "owner_id", "created_at"),
                      Index("ix_customer_team_next_contact", "team_id", "next_contact_at"),  # a team's, alike
                      Index("ix_customer_owner_activity", "owner_id", "last_activity_at"),  # 我的, most recent first
                      # Only merged rows: "merged_into_id IS NULL" (every book query) matches nearly all
                      # customers, and a full index on it lured SQLite's planner into walking them all.
                      Index("ix_customer_merged_into_id", "merged_into_id",
                            sqlite_where=sql_text("merged_into_id IS NOT NULL"),
                            postgresql_where=sql_text("merged_into_id IS NOT NULL")))
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    name_pinyin: str = Field(default="", max_length=300, index=True)
    title: str | None = Field(default=None, max_length=50)
    company: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32, index=True)
    email: str | None = Field(default=None, max_length=200, index=True)
    owner_id: int | None = Field(default=None, foreign_key="member.id", index=True)  # None: the public pool
    team_id: int = Field(foreign_key="team.id", index=True)
    stage: str = Field(default=Stage.FIRST_CONTACT, max_length=16)
    product: str | None = Field(default=None, max_length=100)
    source_channel: str | None = Field(default=None, max_length=64)
    next_contact_at: datetime | None = _ts(index=True)
    last_activity_at: datetime | None = _ts(index=True)
    merged_into_id: int | None = Field(default=None, foreign_key="customer.id")
    # Stale-lead ladder: the next instant a rung is due (indexed, so a sweep costs what is due).
    stale_rung: int = 0
    stale_due_at: datetime | None = _ts(index=True)
    snoozed_until: datetime | None = _ts()
    risk: str | None = Field(default=None, max_length=16)
    # New-lead response: leads from intake; the sweep watches lead_due_at until first contact.
    lead_received_at: datetime | None = _ts()
    assigned_at: datetime | None = _ts()
    first_contact_at: datetime | None = _ts()
    lead_due_at: datetime | None = _ts(index=True)
    # Lead facts the assignment rules match on (bot/leads); source_channel is the first source.
    region: str | None = Field(default=None, max_length=50)
    industry: str | None = Field(default=None, max_length=50)
    grade: str | None = Field(default=None, max_length=16)
    latest_channel: str | None = Field(default=None, max_length=64)
    channel_unknown: bool = False  # source_channel not in the channel table: kept raw, flagged
    # Made from a paste and not yet confirmed: hidden from 我的客户, 查, the stale sweep and the weekly
    # counts; its first confirmed record makes it real, 丢弃 removes it (store/followups.py).
    draft: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Pool recycling (scheduler/recycle.py): when the owner was warned that the customer goes back to
    # the 公海; a warning older than last_activity_at belongs to an earlier idle episode.
    recycle_warned_at: datetime | None = _ts()
    # Contract renewal date (a reply "续约 2027-03-01"): a churn-warning signal as it approaches.
    renewal_at: datetime | None = _ts()
    # The amount of its newest confirmed record that named one, kept by store/customers.sync_amount
    # (confirm, merge, undo merge): the console sums it without a lookup per customer.
    amount_cny: int | None = None
    created_at: datetime = _created()
    # Lead score (bot/scoring): the total, its reasons in Chinese, and when it is next due. The due
    # time is the dirty flag and the time-decay watermark in one indexed column: a change sets it to
    # store.scores.DIRTY, a scoring sets it to when a behaviour window next lapses (None: never).
    lead_score: int | None = None
    lead_score_reasons: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    lead_scored_at: datetime | None = _ts()
    lead_score_due_at: datetime | None = _ts(index=True)


class PipelineTotal(SQLModel, table=True):
    """The console's pipeline grid per (team, owner, stage): customers in the book (not merged, not a
    draft), the sum of their amounts, how many are on the stale ladder. Written only by the triggers
    on `customer` (migration 0016) and store/totals.rebuild_pipeline_totals; owner_id 0 is the pool."""

    __table_args__ = (UniqueConstraint("team_id", "owner_id", "stage", name="uq_pipelinetotal_cell"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int
    owner_id: int
    stage: str = Field(max_length=16)
    customers: int
    amount_cny: int = Field(sa_column=Column(BigInteger(), nullable=False))
    stale: int


class HealthWeek(SQLModel, table=True):
    """What the data-health page counted for one rep over one full week (store/health_weeks.py):
    HealthCounts as JSON (None: nothing that week), and when, so a week still settling is recounted."""

    __table_args__ = (UniqueConstraint("rep_id", "week_start", name="uq_healthweek_rep_week"),)
    id: int | None = Field(default=None, primary_key=True)
    rep_id: int = Field(foreign_key="member.id")
    week_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    counts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    computed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = _created()


class FollowUp(SQLModel, table=True):
    __table_args__ = (
        Index("ix_followup_confirmed_created", "confirmed", "created_at"),
        Index("ix_followup_rep_created", "rep_id", "created_at"),  # one rep's entries in a day (anomalies)
        # 我的: a rep's drafts newest first, walking only unconfirmed records (migration 0017).
        Index("ix_followup_rep_drafts", "rep_id", "id", sqlite_where=sql_text("confirmed IS 0"),
              postgresql_where=sql_text("confirmed IS false")),
        # The anomaly sweep's queue: only records not yet checked, so it stays small however many are.
        Index("ix_followup_anomaly_unchecked", "id", sqlite_where=sql_text("anomaly_checked_at IS NULL"),
              postgresql_where=sql_text("anomaly_checked_at IS NULL")),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    rep_id: int = Field(foreign_key="member.id", index=True)
    kind: str = Field(default="chat", max_length=16)  # chat | voice | visit | note
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    transcript: str | None = Field(default=None, sa_column=Column(Text))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    extracted_tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    amount_cny: int | None = None
    next_contact_at: datetime | None = _ts()
    next_contact_has_time: bool = Field(default=True, sa_column_kwargs={"server_default": true()})  # 周四 vs 周四 15:00
    # The rep chose 保留 for a next contact outside the window (past, or beyond next_contact_max_days).
    next_contact_kept: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    stage_hint: str | None = Field(default=None, max_length=16)
    confirmed: bool = False
    # Voice records: pinyin fixes (heard -> written), times heard, alternative readings the card offers
    # (bot/understanding/memo.py). The transcript as heard stays in `transcript`.
    understanding: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    source_inbound_id: int | None = Field(default=None, foreign_key="inboundmessage.id", unique=True)
    created_at: datetime = _created()
    confirmed_at: datetime | None = _ts()
    # The amount said in the text when the catalog total replaced it as amount_cny: kept and shown on
    # the card, never silently dropped (bot/cards/quote.py).
    spoken_amount_cny: int | None = None
    # Set when the anomaly sweep has looked at this confirmed record (scheduler/anomalies.py): the
    # sweep's queue, claimed with a conditional UPDATE so two instances check a record once.
    anomaly_checked_at: datetime | None = _ts()


class Visit(SQLModel, table=True):
    # The post-visit sweep's query: scheduled visits not yet decided, by time.
    __table_args__ = (Index("ix_visit_note_pending", "status", "note_in_time", "scheduled_at"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    rep_id: int = Field(foreign_key="member.id", index=True)
    scheduled_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    goal: str = Field(default="", max_length=500)
    status: str = Field(default="scheduled", max_length=16)  # scheduled | done | cancelled | missed
    created_at: datetime = _created()
    # Post-visit note (scheduler/postvisit.py): None while undecided; True when the rep's memo or note
    # about the customer came within the window after the visit's end, False when it did not.
    note_in_time: bool | None = None
    note_checked_at: datetime | None = _ts()
    prompted_at: datetime | None = _ts()  # the post-visit card was queued
    answered_at: datetime | None = _ts()  # a reply or memo answered that card


class TimelineEvent(SQLModel, table=True):
    __table_args__ = (
        Index("ix_timeline_customer_created", "customer_id", "created_at"),
        Index("ix_timeline_kind_created", "kind", "created_at"),  # the anomaly sweep's stage changes
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    kind: str = Field(max_length=32)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    ref: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _created()


class InboundMessage(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("platform", "msg_id", name="uq_inbound_platform_msg"),
        Index("ix_inbound_status_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    msg_id: str = Field(max_length=128)
    sender: str = Field(max_length=64)
    chat: str | None = Field(default=None, max_length=128)
    kind: str = Field(max_length=16)  # text | voice | card_action | image | link | event
    text: str | None = Field(default=None, sa_column=Column(Text))
    media_ref: str | None = Field(default=None, max_length=300)
    raw: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=InboxStatus.PENDING, max_length=16)
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    claimed_at: datetime | None = _ts()
    next_attempt_at: datetime | None = _ts()
    received_at: datetime = _created()
    processed_at: datetime | None = _ts()


class OutboxMessage(SQLModel, table=True):
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_recipient_sent", "platform", "recipient", "sent_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    recipient: str = Field(max_length=64)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)  # what a push is about
    chat: str | None = Field(default=None, max_length=128)
    kind: str = Field(max_length=16)  # text | card
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    claimed_at: datetime | None = _ts()
    next_attempt_at: datetime | None = _ts()
    created_at: datetime = _created()
    sent_at: datetime | None = _ts()
    merged_into_id: int | None = Field(default=None, foreign_key="outboxmessage.id")


class MergeAudit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kept_id: int = Field(foreign_key="customer.id", index=True)
    merged_id: int = Field(foreign_key="customer.id", index=True)
    actor_id: int = Field(foreign_key="member.id")
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _created()
    undone_at: datetime | None = _ts()
    undone_by_id: int | None = Field(default=None, foreign_key="member.id")


class Conversation(SQLModel, table=True):
    """One open question per member: the minimal-entry state machine's memory."""

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    state: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _created()


class MemberExemption(SQLModel, table=True):
    """A supervisor's time-boxed exemption for a rep (e.g. 免填: no missing-field reminders). The row
    is the audit: who granted it, when, why; it expires by its end time, nothing has to run."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    kind: str = Field(default="免填", max_length=16)
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    granted_by_id: int = Field(foreign_key="member.id")
    reason: str = Field(default="", max_length=200)
    created_at: datetime = _created()


class Correction(SQLModel, table=True):
    """A rep's change to what the bot extracted (a tag toggled, a field fixed): feeds the weekly
    correction rate and the tagger's learning."""

    __table_args__ = (Index("ix_correction_created", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    followup_id: int = Field(foreign_key="followup.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    team_id: int = Field(foreign_key="team.id", index=True)
    field: str = Field(max_length=32)  # "tag" or a field name
    before: str | None = Field(default=None, max_length=500)
    after: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()


class JobRun(SQLModel, table=True):
    """A periodic job's marker: (job, period) done once, whichever instance got there first."""

    __table_args__ = (UniqueConstraint("job", "period", name="uq_jobrun_job_period"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    period: str = Field(max_length=64)
    created_at: datetime = _created()


class TranscriptionStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"  # after max attempts or corrupt audio; the audio stays, 重试 requeues


class TranscriptionJob(SQLModel, table=True):
    """One voice memo to transcribe: a durable job with a lease, like the inbox (bot/transcribe)."""

    __table_args__ = (Index("ix_transcription_status_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    inbound_id: int = Field(foreign_key="inboundmessage.id", unique=True)  # one job per memo
    member_id: int = Field(foreign_key="member.id", index=True)
    media_ref: str = Field(max_length=300)  # path under settings.media_dir; never deleted here
    audio_format: str | None = Field(default=None, max_length=16)
    audio_seconds: float | None = None
    recognition: str | None = Field(default=None, sa_column=Column(Text))  # the platform's own (DingTalk)
    transcript: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(default=TranscriptionStatus.PENDING, max_length=16)
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    claimed_at: datetime | None = _ts()
    next_attempt_at: datetime | None = _ts()
    created_at: datetime = _created()
    finished_at: datetime | None = _ts()


class OcrStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"  # after max attempts or an unreadable file; the file stays, 重试 requeues


class OcrJob(SQLModel, table=True):
    """One image or PDF to read: a durable job with a lease, like transcription (bot/ocr)."""

    __table_args__ = (Index("ix_ocrjob_status_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    inbound_id: int = Field(foreign_key="inboundmessage.id", unique=True)  # one job per image/file
    member_id: int = Field(foreign_key="member.id", index=True)
    media_ref: str = Field(max_length=300)  # path under settings.media_dir; never deleted here
    media_kind: str = Field(max_length=16)  # image | pdf
    pages: int = 1  # pages to read (a PDF's first max_pdf_pages)
    pages_total: int = 1  # pages in the file
    text: str | None = Field(default=None, sa_column=Column(Text))  # the lines read, one per line
    status: str = Field(default=OcrStatus.PENDING, max_length=16)
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    claimed_at: datetime | None = _ts()
    next_attempt_at: datetime | None = _ts()
    created_at: datetime = _created()
    finished_at: datetime | None = _ts()


class LeadTouch(SQLModel, table=True):
    """One arrival of a lead (API post or import row): where it came from and what the person did.
    A known customer gets another touch, never a second record."""

    __table_args__ = (Index("ix_leadtouch_customer_created", "customer_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    source: str = Field(max_length=64)  # intake source name, or "import"
    channel: str = Field(max_length=64)  # the mapped name (抖音), or the raw code when unknown
    channel_raw: str | None = Field(default=None, max_length=200)
    channel_known: bool = True
    campaign: str | None = Field(default=None, max_length=200)
    utm: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    landing_url: str | None = Field(default=None, sa_column=Column(Text))
    action: str | None = Field(default=None, max_length=200)  # e.g. 下载白皮书
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)  # replayed post / re-run import
    created_at: datetime = _created()


class LeadAssignment(SQLModel, table=True):
    """The assignment log: every owner change of a lead with its reason in plain Chinese."""

    __table_args__ = (
        Index("ix_leadassignment_group_created", "group_name", "created_at"),
        Index("ix_leadassignment_member_kind_created", "member_id", "kind", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: str = Field(max_length=16)  # auto | pool | claim | release | reassign | import
    member_id: int | None = Field(default=None, foreign_key="member.id")  # None: the public pool
    actor_id: int | None = Field(default=None, foreign_key="member.id")  # None: the rules
    rule: str | None = Field(default=None, max_length=100)
    group_name: str | None = Field(default=None, max_length=100)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _created()


class TagExemplar(SQLModel, table=True):
    """A clause a team's reps confirmed or corrected as saying a tag: the semantic tagger compares
    new messages with these as well as with its built-in phrasings (bot/understanding/team_exemplars.py)."""

    __table_args__ = (UniqueConstraint("team_id", "tag", "text", name="uq_tagexemplar_team_tag_text"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    tag: str = Field(max_length=32)
    text: str = Field(max_length=200)
    source: str = Field(max_length=16)  # confirmed | corrected
    followup_id: int | None = Field(default=None, foreign_key="followup.id")
    created_at: datetime = _created()


class MemberRoleTag(SQLModel, table=True):
    """A role a member plays beyond rep/supervisor/admin (售前, 法务, 财务, 交付, 客服): stage hand-offs
    go to the members tagged with a rule's roles (bot/handoffs.py)."""

    __table_args__ = (UniqueConstraint("member_id", "tag", name="uq_memberroletag_member_tag"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    tag: str = Field(max_length=32, index=True)
    created_at: datetime = _created()


class MemberEscalation(SQLModel, table=True):
    """One level up the supervisor chain (主管 → 总监): where a stalled approval escalates to."""

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    escalates_to_id: int = Field(foreign_key="member.id")
    created_at: datetime = _created()


class HandOff(SQLModel, table=True):
    """One role member told that a customer entered a stage: exactly once per (customer, stage entry,
    member) by its unique key; 已接手 sets accepted_at, the sweep tells the supervisor once past due_at."""

    __table_args__ = (
        UniqueConstraint("customer_id", "stage_event_id", "member_id", name="uq_handoff_entry_member"),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    stage: str = Field(max_length=16)
    stage_event_id: int = Field(foreign_key="timelineevent.id")  # the stage_changed event: the entry
    member_id: int = Field(foreign_key="member.id")
    role_tag: str = Field(max_length=32)
    due_at: datetime | None = _ts(index=True)  # None once accepted or escalated: nothing left to watch
    accepted_at: datetime | None = _ts()
    escalated_at: datetime | None = _ts()
    created_at: datetime = _created()


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Approval(SQLModel, table=True):
    """A decision a rule holds for a person (e.g. a lead assigned across regions). The approver of the
    current level acts; past due_at (working hours) it escalates one level up the chain."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # lead_assign
    customer_id: int = Field(foreign_key="customer.id", index=True)
    proposed_member_id: int | None = Field(default=None, foreign_key="member.id")
    rule: str | None = Field(default=None, max_length=100)
    group_name: str | None = Field(default=None, max_length=100)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    approver_id: int = Field(foreign_key="member.id")  # the current level's approver
    level: int = 0  # 0: the first approver; each escalation adds one
    status: str = Field(default=ApprovalStatus.PENDING, max_length=16)
    due_at: datetime | None = _ts(index=True)
    decided_by_id: int | None = Field(default=None, foreign_key="member.id")
    decision_reason: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = _ts()
    created_at: datetime = _created()


class CatalogProduct(SQLModel, table=True):
    """One priced product of the catalog (genjin.toml [catalog] or `genjin catalog import`). Removing
    one keeps the row inactive, so a product named in genjin.toml stays removed (store/catalog.py)."""

    __table_args__ = (UniqueConstraint("name", "edition", name="uq_catalogproduct_name_edition"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    edition: str = Field(default="", max_length=50)
    unit_price_cny: int
    unit: str = Field(max_length=4)  # 年 | 套 | 人 | 次
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    source: str = Field(default="import", max_length=16)  # import | admin
    created_at: datetime = _created()
    updated_at: datetime = _created()


class QuoteLine(SQLModel, table=True):
    """A catalog line of one follow-up's quote: the customer's amount is the sum of the lines of its
    latest confirmed record that has any (store/quotes.py). Price and label are copied: a later price
    change does not rewrite an old quote."""

    id: int | None = Field(default=None, primary_key=True)
    followup_id: int = Field(foreign_key="followup.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="catalogproduct.id")  # None: from genjin.toml
    label: str = Field(max_length=160)
    unit: str = Field(max_length=4)
    quantity: int
    unit_price_cny: int
    total_cny: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = _created()


class AnomalyStatus(StrEnum):
    OPEN = "open"  # waiting for the supervisor; its records are held out of the reports
    OK = "ok"  # 没问题: the records count
    RETURNED = "returned"  # 退回给销售: still held until the rep says it is fixed
    FIXED = "fixed"  # the rep fixed and re-confirmed it after a 退回: the records count again


HELD_STATUSES = (AnomalyStatus.OPEN, AnomalyStatus.RETURNED)


class Anomaly(SQLModel, table=True):
    """Data that looks wrong, for a person to review (store/anomalies.py). One row per finding: `key`
    is what the detectors derive from the data (unique), so two sweeps file it once."""

    __table_args__ = (Index("ix_anomaly_team_status", "team_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=16)  # volume | stages | amount | conflict
    team_id: int = Field(foreign_key="team.id")
    rep_id: int = Field(foreign_key="member.id")  # whose data it is; the supervisor reviews
    customer_id: int | None = Field(default=None, foreign_key="customer.id")  # when it is about one customer
    summary: str = Field(sa_column=Column(Text, nullable=False))  # Chinese, contacts masked
    status: str = Field(default=AnomalyStatus.OPEN, max_length=16)
    reviewer_id: int | None = Field(default=None, foreign_key="member.id")
    reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = _created()
    reviewed_at: datetime | None = _ts()


class AnomalyItem(SQLModel, table=True):
    """A record an anomaly holds out of the reports: a follow-up, or (bulk stage changes) a customer
    with the stage-change event behind it. `item_key` ("f:12", "e:34") makes re-filing a no-op."""

    __table_args__ = (UniqueConstraint("anomaly_id", "item_key", name="uq_anomalyitem_anomaly_item"),)
    id: int | None = Field(default=None, primary_key=True)
    anomaly_id: int = Field(foreign_key="anomaly.id")
    item_key: str = Field(max_length=32)
    followup_id: int | None = Field(default=None, foreign_key="followup.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="timelineevent.id", index=True)


class MarketingEvent(SQLModel, table=True):
    """One marketing behaviour event from POST /api/events (a page view, download, webinar watch, form
    submission or ad click). Kept even when no customer matches yet (customer_id None): the customer
    who appears later with the same phone, e-mail or external id gets it (store/marketing.py)."""

    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_marketingevent_source_event"),
        Index("ix_marketingevent_customer_occurred", "customer_id", "occurred_at"),
        Index("ix_marketingevent_source_external", "source", "external_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)  # the intake source (its bearer token)
    event_id: str = Field(max_length=128)  # the sender's id: a replay is a no-op
    type: str = Field(max_length=16)  # page_view | download | webinar | form_submit | ad_click
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    url: str | None = Field(default=None, sa_column=Column(Text))
    title: str | None = Field(default=None, max_length=300)
    duration_seconds: int | None = None
    utm: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    phone: str | None = Field(default=None, max_length=32, index=True)
    email: str | None = Field(default=None, max_length=200, index=True)
    external_id: str | None = Field(default=None, max_length=100)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    created_at: datetime = _created()


class PromiseStatus(StrEnum):
    PROPOSED = "proposed"  # found on an unconfirmed record's card
    DROPPED = "dropped"  # the rep tapped 移除 on the card
    OPEN = "open"  # in the ledger: the record was confirmed with it kept
    DONE = "done"  # 已完成


class Promise(SQLModel, table=True):
    """The commitment ledger: a promise by the rep or the customer, due by a time resolved against
    the send time of the message that said it (bot/extract/promises.py). `remind_at` is the next
    instant the reminder sweep must look at it (indexed); `rung` counts what was sent (claimed by a
    conditional UPDATE, so two instances never both send)."""

    __table_args__ = (Index("ix_promise_status_remind", "status", "remind_at"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    followup_id: int = Field(foreign_key="followup.id", index=True)
    rep_id: int = Field(foreign_key="member.id", index=True)
    promiser: str = Field(max_length=16)  # rep | customer
    promiser_name: str = Field(default="", max_length=100)
    promisee_name: str = Field(default="", max_length=100)
    what: str = Field(max_length=200)
    due_text: str = Field(max_length=40)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    sent_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    source_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=PromiseStatus.PROPOSED, max_length=16)
    remind_at: datetime | None = _ts()
    rung: int = 0
    postponed: int = 0
    broken_at: datetime | None = _ts()
    done_at: datetime | None = _ts()
    created_at: datetime = _created()


class ChurnWatch(SQLModel, table=True):
    """A won or late-stage customer's churn risk (scheduler/churn.py). An episode opens when the
    score crosses the alert threshold (`episode_started_at`, set by a conditional UPDATE: one alert
    per episode) and closes when it falls below the re-arm threshold."""

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", unique=True)
    score: float = 0.0
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    episode_started_at: datetime | None = _ts()
    updated_at: datetime = _created()
