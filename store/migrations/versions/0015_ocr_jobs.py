"""ocr jobs: images and PDF pages read offline, claimed with a lease like transcription jobs

Revision ID: 0015
Revises: 0008
Create Date: 2026-11-25 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.types

revision: str = "0015"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ocrjob",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("media_ref", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("media_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("pages_total", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
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
    with op.batch_alter_table("ocrjob", schema=None) as batch_op:
        batch_op.create_index("ix_ocrjob_status_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ocrjob_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ocrjob", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ocrjob_member_id"))
        batch_op.drop_index("ix_ocrjob_status_due")
    op.drop_table("ocrjob")
