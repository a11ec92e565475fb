"""pipeline totals per (team, owner, stage), kept by triggers on customer; the health page's weeks; indexes

`healthweek` keeps what the data-health page counted per rep and full week (store/health_weeks.py).

The console's pipeline grid summed a team's whole book on every request (count, amount, stale per
owner × stage), so its cost grew with the book (8× for 10× the customers). `pipelinetotal` holds
those sums per cell, changed by row triggers on `customer` in the same transaction as the change:
every write path (ORM flushes, Core UPDATEs such as the stale sweep's conditional ones, bulk inserts,
imports, merges, raw SQL) moves the totals, each from the row's exact OLD and NEW values as the
database sees them under its row lock, with one atomic upsert per cell (`n = n + delta`).
`store.totals.rebuild_pipeline_totals` (`genjin totals --rebuild`) recomputes them from the table.

A customer counts when it is in the book: not merged away (`merged_into_id IS NULL`) and not a draft.
owner_id 0 is the public pool (no member has id 0; a unique key over a NULL would not be unique).

Beware in later migrations: an SQLite `batch_alter_table("customer")` that recreates the table (drop
or alter a column) drops these triggers; create them again afterwards (`create_triggers` below).
tests/test_pipeline_totals.py fails at head if they are missing.

Revision ID: 0016
Revises: 0009
Create Date: 2026-11-25 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CELL_COLUMNS = ("owner_id", "team_id", "stage", "amount_cny", "stale_rung", "merged_into_id", "draft")

BACKFILL = (
    "INSERT INTO pipelinetotal (team_id, owner_id, stage, customers, amount_cny, stale) "
    "SELECT team_id, COALESCE(owner_id, 0), stage, COUNT(*), COALESCE(SUM(amount_cny), 0), "
    "SUM(CASE WHEN stale_rung > 0 THEN 1 ELSE 0 END) FROM customer "
    "WHERE merged_into_id IS NULL AND NOT draft GROUP BY team_id, COALESCE(owner_id, 0), stage"
)


def _sqlite_upsert(row: str, sign: str) -> str:
    return (
        "INSERT INTO pipelinetotal (team_id, owner_id, stage, customers, amount_cny, stale) VALUES "
        f"({row}.team_id, COALESCE({row}.owner_id, 0), {row}.stage, {sign}1, {sign}COALESCE({row}.amount_cny, 0), "
        f"{sign}(CASE WHEN {row}.stale_rung > 0 THEN 1 ELSE 0 END)) "
        "ON CONFLICT (team_id, owner_id, stage) DO UPDATE SET customers = customers + excluded.customers, "
        "amount_cny = amount_cny + excluded.amount_cny, stale = stale + excluded.stale;"
    )


def _counted(row: str) -> str:
    return f"{row}.merged_into_id IS NULL AND NOT {row}.draft"


def _changed() -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in CELL_COLUMNS)


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER customer_totals_insert AFTER INSERT ON customer WHEN {_counted('NEW')} "
    f"BEGIN {_sqlite_upsert('NEW', '')} END",
    f"CREATE TRIGGER customer_totals_delete AFTER DELETE ON customer WHEN {_counted('OLD')} "
    f"BEGIN {_sqlite_upsert('OLD', '-')} END",
    # An update leaves its old cell (when it counted there) and enters its new one (when it counts).
    f"CREATE TRIGGER customer_totals_update_old AFTER UPDATE OF {', '.join(CELL_COLUMNS)} ON customer "
    f"WHEN ({_changed()}) AND {_counted('OLD')} BEGIN {_sqlite_upsert('OLD', '-')} END",
    f"CREATE TRIGGER customer_totals_update_new AFTER UPDATE OF {', '.join(CELL_COLUMNS)} ON customer "
    f"WHEN ({_changed()}) AND {_counted('NEW')} BEGIN {_sqlite_upsert('NEW', '')} END",
]
TRIGGER_NAMES = ("customer_totals_insert", "customer_totals_delete", "customer_totals_update",
                 "customer_totals_update_old", "customer_totals_update_new")

POSTGRES_FUNCTION = """
CREATE FUNCTION customer_totals() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_in boolean := TG_OP IN ('UPDATE', 'DELETE') AND OLD.merged_into_id IS NULL AND NOT OLD.draft;
    new_in boolean := TG_OP IN ('UPDATE', 'INSERT') AND NEW.merged_into_id IS NULL AND NOT NEW.draft;
    cells jsonb[] := '{}';
    cell jsonb;
BEGIN
    IF old_in THEN
        cells := cells || jsonb_build_object('t', OLD.team_id, 'o', COALESCE(OLD.owner_id, 0), 's', OLD.stage,
                                             'n', -1, 'a', -COALESCE(OLD.amount_cny, 0),
                                             'st', -(CASE WHEN OLD.stale_rung > 0 THEN 1 ELSE 0 END));
    END IF;
    IF new_in THEN
        cells := cells || jsonb_build_object('t', NEW.team_id, 'o', COALESCE(NEW.owner_id, 0), 's', NEW.stage,
                                             'n', 1, 'a', COALESCE(NEW.amount_cny, 0),
                                             'st', CASE WHEN NEW.stale_rung > 0 THEN 1 ELSE 0 END);
    END IF;
    -- Two cells are always locked in the same (key) order, so two moves in opposite directions
    -- queue behind each other instead of deadlocking.
    FOR cell IN SELECT c FROM unnest(cells) AS c ORDER BY (c->>'t')::int, (c->>'o')::int, c->>'s' LOOP
        INSERT INTO pipelinetotal (team_id, owner_id, stage, customers, amount_cny, stale)
        VALUES ((cell->>'t')::int, (cell->>'o')::int, cell->>'s', (cell->>'n')::int, (cell->>'a')::bigint,
                (cell->>'st')::int)
        ON CONFLICT (team_id, owner_id, stage) DO UPDATE SET
            customers = pipelinetotal.customers + excluded.customers,
            amount_cny = pipelinetotal.amount_cny + excluded.amount_cny,
            stale = pipelinetotal.stale + excluded.stale;
    END LOOP;
    RETURN NULL;
END $$
"""


def create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute("CREATE TRIGGER customer_totals_insert AFTER INSERT ON customer "
                   "FOR EACH ROW EXECUTE FUNCTION customer_totals()")
        op.execute("CREATE TRIGGER customer_totals_delete AFTER DELETE ON customer "
                   "FOR EACH ROW EXECUTE FUNCTION customer_totals()")
        op.execute(f"CREATE TRIGGER customer_totals_update AFTER UPDATE OF {', '.join(CELL_COLUMNS)} ON customer "
                   f"FOR EACH ROW WHEN ({' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in CELL_COLUMNS)}) "
                   "EXECUTE FUNCTION customer_totals()")
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def drop_triggers() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON customer" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS customer_totals()")


def upgrade() -> None:
    op.create_table(
        "pipelinetotal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("amount_cny", sa.BigInteger(), nullable=False),
        sa.Column("stale", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "owner_id", "stage", name="uq_pipelinetotal_cell"),
    )
    op.execute(BACKFILL)
    create_triggers()
    op.create_table(
        "healthweek",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("week_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rep_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rep_id", "week_start", name="uq_healthweek_rep_week"),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        # One rep's customers soonest next contact first (the pipeline filtered by rep, 我的), and the
        # customers a rep took on in a week (the health page's leads), as ranges instead of a walk over
        # all of the rep's customers.
        batch_op.create_index("ix_customer_owner_next_contact", ["owner_id", "next_contact_at"], unique=False)
        batch_op.create_index("ix_customer_owner_created", ["owner_id", "created_at"], unique=False)
        batch_op.create_index("ix_customer_team_next_contact", ["team_id", "next_contact_at"], unique=False)
        batch_op.create_index("ix_customer_owner_activity", ["owner_id", "last_activity_at"], unique=False)
        # Only merged rows (finding what was merged into a customer): as a full index, SQLite's planner
        # took "merged_into_id IS NULL", true of nearly every customer, for a selective condition.
        batch_op.drop_index("ix_customer_merged_into_id")
        batch_op.create_index("ix_customer_merged_into_id", ["merged_into_id"], unique=False,
                              sqlite_where=sa.text("merged_into_id IS NOT NULL"),
                              postgresql_where=sa.text("merged_into_id IS NOT NULL"))


def downgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_merged_into_id")
        batch_op.create_index("ix_customer_merged_into_id", ["merged_into_id"], unique=False)
        batch_op.drop_index("ix_customer_owner_activity")
        batch_op.drop_index("ix_customer_team_next_contact")
        batch_op.drop_index("ix_customer_owner_created")
        batch_op.drop_index("ix_customer_owner_next_contact")
    op.drop_table("healthweek")
    drop_triggers()
    op.drop_table("pipelinetotal")
