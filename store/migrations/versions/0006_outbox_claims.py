"""outbox claims: a leased claim per row (like the inbox) and the customer a push is about

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Both nullable: rows queued before this revision are pending (never claimed) and about no one
    # customer in particular, which is what NULL says.
    with op.batch_alter_table("outboxmessage") as batch:
        batch.add_column(sa.Column("claimed_at", store.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_outboxmessage_customer_id", "customer", ["customer_id"], ["id"])
        batch.create_index(batch.f("ix_outboxmessage_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outboxmessage") as batch:
        batch.drop_index(batch.f("ix_outboxmessage_customer_id"))
        batch.drop_constraint("fk_outboxmessage_customer_id", type_="foreignkey")
        batch.drop_column("customer_id")
        batch.drop_column("claimed_at")
