"""stage hand-offs to roles, pool recycling, approvals that escalate

Revision ID: 0012
Revises: 0008
Create Date: 2026-11-25 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.types

revision: str = "0012"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "memberroletag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("tag", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "tag", name="uq_memberroletag_member_tag"),
    )
    with op.batch_alter_table("memberroletag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberroletag_tag"), ["tag"], unique=False)
    op.create_table(
        "memberescalation",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("escalates_to_id", sa.Integer(), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["escalates_to_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.create_table(
        "handoff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("stage_event_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("role_tag", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("due_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["stage_event_id"], ["timelineevent.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "stage_event_id", "member_id", name="uq_handoff_entry_member"),
    )
    with op.batch_alter_table("handoff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_due_at"), ["due_at"], unique=False)
    op.create_table(
        "approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("proposed_member_id", sa.Integer(), nullable=True),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("group_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("due_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("decided_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["proposed_member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["approver_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["decided_by_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_due_at"), ["due_at"], unique=False)
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("recycle_warned_at", store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("recycle_warned_at")
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_due_at"))
        batch_op.drop_index(batch_op.f("ix_approval_customer_id"))
    op.drop_table("approval")
    with op.batch_alter_table("handoff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_due_at"))
    op.drop_table("handoff")
    op.drop_table("memberescalation")
    with op.batch_alter_table("memberroletag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberroletag_tag"))
    op.drop_table("memberroletag")
