"""Tables. Alembic migrations (store/migrations) are the schema source; these mirror them.

All timestamps are UTC and tz-aware (UTCDateTime). Lists and payloads are JSON columns.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, false, true
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
    __table_args__ = (Index("ix_customer_created", "created_at"),  # the console's funnel: arrivals in a period
                      Index("ix_customer_owner_stage", "owner_id", "stage"))  # the pipeline grid of one rep
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
    merged_into_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
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
    # The amount of its newest confirmed record that named one, kept by store/customers.sync_amount
    # (confirm, merge, undo merge): the console sums it without a lookup per customer.
    amount_cny: int | None = None
    created_at: datetime = _created()


class FollowUp(SQLModel, table=True):
    __table_args__ = (Index("ix_followup_confirmed_created", "confirmed", "created_at"),
                      Index("ix_followup_rep_created", "rep_id", "created_at"))
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


class Visit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    rep_id: int = Field(foreign_key="member.id", index=True)
    scheduled_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    goal: str = Field(default="", max_length=500)
    status: str = Field(default="scheduled", max_length=16)  # scheduled | done | cancelled
    created_at: datetime = _created()


class TimelineEvent(SQLModel, table=True):
    __table_args__ = (Index("ix_timeline_customer_created", "customer_id", "created_at"),
                      Index("ix_timeline_kind_created", "kind", "created_at"))  # stage moves per period
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
