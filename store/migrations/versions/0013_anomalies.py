"""anomaly review: anomalies with their affected records, and the follow-up sweep marker

Revision ID: 0013
Revises: 0008
Create Date: 2026-11-25 19:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.types

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "anomaly",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"]),
        sa.ForeignKeyConstraint(["rep_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("anomaly", schema=None) as batch_op:
        batch_op.create_index("ix_anomaly_team_status", ["team_id", "status"], unique=False)
    op.create_table(
        "anomalyitem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("anomaly_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["anomaly_id"], ["anomaly.id"]),
        sa.ForeignKeyConstraint(["followup_id"], ["followup.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["timelineevent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("anomaly_id", "item_key", name="uq_anomalyitem_anomaly_item"),
    )
    with op.batch_alter_table("anomalyitem", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_anomalyitem_followup_id"), ["followup_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_anomalyitem_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_anomalyitem_event_id"), ["event_id"], unique=False)
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anomaly_checked_at", store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_followup_anomaly_unchecked", ["id"], unique=False,
                              sqlite_where=sa.text("anomaly_checked_at IS NULL"),
                              postgresql_where=sa.text("anomaly_checked_at IS NULL"))
        batch_op.create_index("ix_followup_rep_created", ["rep_id", "created_at"], unique=False)
    with op.batch_alter_table("timelineevent", schema=None) as batch_op:
        batch_op.create_index("ix_timeline_kind_created", ["kind", "created_at"], unique=False)
    # Records confirmed before this release were reported already: the sweep starts from new ones.
    op.execute("UPDATE followup SET anomaly_checked_at = created_at WHERE confirmed")


def downgrade() -> None:
    with op.batch_alter_table("timelineevent", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_kind_created")
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.drop_index("ix_followup_rep_created")
        batch_op.drop_index("ix_followup_anomaly_unchecked")
        batch_op.drop_column("anomaly_checked_at")
    with op.batch_alter_table("anomalyitem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anomalyitem_event_id"))
        batch_op.drop_index(batch_op.f("ix_anomalyitem_customer_id"))
        batch_op.drop_index(batch_op.f("ix_anomalyitem_followup_id"))
    op.drop_table("anomalyitem")
    with op.batch_alter_table("anomaly", schema=None) as batch_op:
        batch_op.drop_index("ix_anomaly_team_status")
    op.drop_table("anomaly")
