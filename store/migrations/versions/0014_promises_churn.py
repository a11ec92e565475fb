"""commitment ledger (promise), churn watch, customer renewal date

Revision ID: 0014
Revises: 0008
Create Date: 2026-11-25 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.types

revision: str = "0014"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renewal_at", store.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "promise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("promiser", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("promiser_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("promisee_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("what", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("due_text", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("due_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("remind_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rung", sa.Integer(), nullable=False),
        sa.Column("postponed", sa.Integer(), nullable=False),
        sa.Column("broken_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["followup_id"], ["followup.id"]),
        sa.ForeignKeyConstraint(["rep_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("promise", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promise_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promise_followup_id"), ["followup_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promise_rep_id"), ["rep_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promise_due_at"), ["due_at"], unique=False)
        batch_op.create_index("ix_promise_status_remind", ["status", "remind_at"], unique=False)
    op.create_table(
        "churnwatch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("episode_started_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id"),
    )


def downgrade() -> None:
    op.drop_table("churnwatch")
    with op.batch_alter_table("promise", schema=None) as batch_op:
        batch_op.drop_index("ix_promise_status_remind")
        batch_op.drop_index(batch_op.f("ix_promise_due_at"))
        batch_op.drop_index(batch_op.f("ix_promise_rep_id"))
        batch_op.drop_index(batch_op.f("ix_promise_followup_id"))
        batch_op.drop_index(batch_op.f("ix_promise_customer_id"))
    op.drop_table("promise")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("renewal_at")
