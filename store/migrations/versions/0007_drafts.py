"""drafts: a customer made from a paste stays a draft until its first record is confirmed; a record
remembers whether its next contact has a time of day and whether the rep kept a date outside the window

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults: existing customers are real (not drafts); existing dates were shown with a time.
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("draft", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("followup") as batch:
        batch.add_column(sa.Column("next_contact_has_time", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("next_contact_kept", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("followup") as batch:
        batch.drop_column("next_contact_kept")
        batch.drop_column("next_contact_has_time")
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("draft")
