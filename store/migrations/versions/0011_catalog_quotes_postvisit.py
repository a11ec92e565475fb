"""product catalog, quote lines per follow-up, post-visit note tracking on visits

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-25 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.types

revision: str = "0011"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalogproduct",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("edition", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("unit_price_cny", sa.Integer(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "edition", name="uq_catalogproduct_name_edition"),
    )
    op.create_table(
        "quoteline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cny", sa.Integer(), nullable=False),
        sa.Column("total_cny", sa.BigInteger(), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["followup_id"], ["followup.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["catalogproduct.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quoteline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quoteline_followup_id"), ["followup_id"], unique=False)
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.add_column(sa.Column("spoken_amount_cny", sa.Integer(), nullable=True))
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note_in_time", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("note_checked_at", store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("prompted_at", store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("answered_at", store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_visit_note_pending", ["status", "note_in_time", "scheduled_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_note_pending")
        batch_op.drop_column("answered_at")
        batch_op.drop_column("prompted_at")
        batch_op.drop_column("note_checked_at")
        batch_op.drop_column("note_in_time")
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.drop_column("spoken_amount_cny")
    with op.batch_alter_table("quoteline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quoteline_followup_id"))
    op.drop_table("quoteline")
    op.drop_table("catalogproduct")
