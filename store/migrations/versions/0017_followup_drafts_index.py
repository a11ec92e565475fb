"""a rep's drafts (unconfirmed records) newest first, from a partial index

我的 lists a rep's records waiting for 确认, newest first. Over ix_followup_rep_id PostgreSQL fetched
every record of the rep and joined all of the rep's customers before sorting, so the page grew with the
rep's book (4x at 10x the data). This index holds only unconfirmed records, ordered per rep by id, so
the page walks it backwards and stops at its limit.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The predicate is written as the queries render `confirmed IS false` on each database, so both
    # planners can prove the query implies it.
    op.create_index("ix_followup_rep_drafts", "followup", ["rep_id", "id"], unique=False,
                    sqlite_where=sa.text("confirmed IS 0"), postgresql_where=sa.text("confirmed IS false"))


def downgrade() -> None:
    op.drop_index("ix_followup_rep_drafts", table_name="followup")
