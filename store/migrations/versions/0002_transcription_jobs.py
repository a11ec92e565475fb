"""transcription jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transcriptionjob",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("media_ref", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("audio_format", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("audio_seconds", sa.Float(), nullable=True),
        sa.Column("recognition", sa.Text(), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_at", store.types.UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", store.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", store.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["inbound_id"], ["inboundmessage.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inbound_id"),
    )
    with op.batch_alter_table("transcriptionjob", schema=None) as batch_op:
        batch_op.create_index("ix_transcription_status_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_transcriptionjob_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transcriptionjob", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transcriptionjob_member_id"))
        batch_op.drop_index("ix_transcription_status_due")
    op.drop_table("transcriptionjob")
