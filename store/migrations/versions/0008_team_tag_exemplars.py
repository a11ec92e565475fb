"""team tag exemplars: clauses a team confirmed or corrected, learned by the semantic tagger

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tagexemplar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("tag", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=True),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"]),
        sa.ForeignKeyConstraint(["followup_id"], ["followup.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "tag", "text", name="uq_tagexemplar_team_tag_text"),
    )
    with op.batch_alter_table("tagexemplar", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tagexemplar_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tagexemplar", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tagexemplar_team_id"))
    op.drop_table("tagexemplar")
