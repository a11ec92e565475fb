"""understanding: what a voice record heard, corrected and can offer instead

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: records written before this revision simply have nothing to show.
    with op.batch_alter_table("followup") as batch:
        batch.add_column(sa.Column("understanding", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followup") as batch:
        batch.drop_column("understanding")
