"""marketing behaviour events (POST /api/events) and lead scores on the customer

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-25 19:10:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.types

revision: str = "0010"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# store.scores.DIRTY: "score me at the next sweep"; a constant, not a clock reading.
DIRTY = datetime(2000, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    op.create_table(
        "marketingevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("occurred_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("utm", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "event_id", name="uq_marketingevent_source_event"),
    )
    with op.batch_alter_table("marketingevent", schema=None) as batch_op:
        batch_op.create_index("ix_marketingevent_customer_occurred", ["customer_id", "occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_marketingevent_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_marketingevent_email"), ["email"], unique=False)
        batch_op.create_index("ix_marketingevent_source_external", ["source", "external_id"], unique=False)
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lead_score", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("lead_score_reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("lead_scored_at", store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lead_score_due_at", store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_customer_lead_score_due_at"), ["lead_score_due_at"], unique=False)
        batch_op.create_index("ix_customer_owner_score", ["owner_id", "lead_score"], unique=False)
    # Every existing customer is scored once by the first sweep after the upgrade.
    customer = sa.table("customer", sa.column("lead_score_due_at", store.types.UTCDateTime()),
                        sa.column("merged_into_id", sa.Integer()))
    op.execute(customer.update().where(customer.c.merged_into_id.is_(None)).values(lead_score_due_at=DIRTY))


def downgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_owner_score")
        batch_op.drop_index(batch_op.f("ix_customer_lead_score_due_at"))
        batch_op.drop_column("lead_score_due_at")
        batch_op.drop_column("lead_scored_at")
        batch_op.drop_column("lead_score_reasons")
        batch_op.drop_column("lead_score")
    with op.batch_alter_table("marketingevent", schema=None) as batch_op:
        batch_op.drop_index("ix_marketingevent_source_external")
        batch_op.drop_index(batch_op.f("ix_marketingevent_email"))
        batch_op.drop_index(batch_op.f("ix_marketingevent_phone"))
        batch_op.drop_index("ix_marketingevent_customer_occurred")
    op.drop_table("marketingevent")
