"""A change counter for the analytics caches, kept by triggers.

`services.analytics_data.data_version`, which every Drift and Compare rerun asks, counted the
final reviews (a scan of 20,000 index entries at agency scale: about 4 ms a rerun). Now one
row, `analytics_changes`, counts every change of what the analytics read and stamps its time,
written by triggers in the same transaction as the change, whichever code makes it (services,
imports, a bulk load, SQL by hand):

- a review that becomes final (inserted final, or its status set to final), or a final one
  deleted (which the immutability triggers refuse anyway);
- any insert, update or delete of a program or a provider (names, regions, providers).

Reading it is one primary-key lookup. The time stamp tells a restored backup, whose counter may
reach a value the caches saw before, from the data they saw.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_BUMP = (
    "BEGIN UPDATE analytics_changes SET counter = counter + 1, "
    "changed_at = strftime('%Y-%m-%d %H:%M:%f', 'now'); END"
)
SQLITE_TRIGGERS = {
    "trg_analytics_review_inserted": "AFTER INSERT ON reviews FOR EACH ROW WHEN NEW.status = 'final'",
    "trg_analytics_review_finalized": (
        "AFTER UPDATE OF status ON reviews FOR EACH ROW WHEN NEW.status = 'final' AND OLD.status <> 'final'"
    ),
    "trg_analytics_review_deleted": "AFTER DELETE ON reviews FOR EACH ROW WHEN OLD.status = 'final'",
    **{
        f"trg_analytics_{table}_{verb.lower()}": f"AFTER {verb} ON {table} FOR EACH ROW"
        for table in ("programs", "providers")
        for verb in ("INSERT", "UPDATE", "DELETE")
    },
}
PG_FUNCTION = """
CREATE FUNCTION fidelity_analytics_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE analytics_changes SET counter = counter + 1, changed_at = clock_timestamp()::text;
    RETURN NULL;
END $$
"""
PG_TRIGGERS = {  # name -> (table, when)
    "trg_analytics_review_inserted": ("reviews", "AFTER INSERT ON reviews FOR EACH ROW WHEN (NEW.status = 'final')"),
    "trg_analytics_review_finalized": (
        "reviews",
        "AFTER UPDATE OF status ON reviews FOR EACH ROW WHEN (NEW.status = 'final' AND OLD.status <> 'final')",
    ),
    "trg_analytics_review_deleted": ("reviews", "AFTER DELETE ON reviews FOR EACH ROW WHEN (OLD.status = 'final')"),
    **{
        f"trg_analytics_{table}": (table, f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} FOR EACH STATEMENT")
        for table in ("programs", "providers")
    },
}


def upgrade() -> None:
    op.create_table(
        "analytics_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.String(length=40), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_analytics_changes_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_changes")),
    )
    op.execute("INSERT INTO analytics_changes (id, counter, changed_at) VALUES (1, 0, CURRENT_TIMESTAMP)")
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, when in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} {SQLITE_BUMP}")
    elif dialect == "postgresql":
        op.execute(PG_FUNCTION)
        for name, (_table, when) in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION fidelity_analytics_changed()")
    else:
        raise NotImplementedError(f"no analytics change triggers for the {dialect} dialect")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        for name, (table, _when) in PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS fidelity_analytics_changed()")
    op.drop_table("analytics_changes")
