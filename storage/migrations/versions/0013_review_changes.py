"""A change counter for the review pages' caches, kept by triggers.

The review pages (Reviews, Rate, Consensus, Results) read what changes on every save: drafts,
each rater's ratings, the consensus, a review's status, its raters and reviewers, a field copy.
`analytics_changes` (0004) counts only what the analytics read, so those pages read everything
again on every rerun (50 to 100 ms at agency scale). Now one row, `review_changes`, counts every
change of the tables they read, stamped with its time, written by triggers in the transaction
that makes it, whichever code makes it (services, imports, a bulk load, SQL by hand):

- any insert, update or delete of a provider, program, review, rater, rater rating, consensus
  rating, user, user's program, review assignment, authored scale, field copy's row or action
  plan entry or note; and every audit row inserted (each audited change, the audit trail itself).

The counter is updated in the writing transaction, so a reader never sees the new count before
the change itself (a cache keyed on it can hold newer data under an older count, never older data
under a newer one). SQLite has row triggers only; PostgreSQL counts once per statement.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "providers",
    "programs",
    "reviews",
    "review_raters",
    "rater_ratings",
    "consensus_ratings",
    "users",
    "user_programs",
    "review_assignments",
    "authored_scales",
    "field_checkouts",
    "field_checkins",
    "field_conflicts",
    "field_copies",
    "action_plan_entries",
    "action_plan_notes",
)
# Every audited change besides: the audit trail a page shows is read from audit_log, whose rows
# are only ever inserted (0001's triggers refuse the rest).
AUDIT = "audit_log"

VERBS = ("INSERT", "UPDATE", "DELETE")
SQLITE_BUMP = (
    "BEGIN UPDATE review_changes SET counter = counter + 1, "
    "changed_at = strftime('%Y-%m-%d %H:%M:%f', 'now'); END"
)
SQLITE_TRIGGERS = {
    **{
        f"trg_review_changes_{table}_{verb.lower()}": f"AFTER {verb} ON {table} FOR EACH ROW"
        for table in TABLES
        for verb in VERBS
    },
    f"trg_review_changes_{AUDIT}_insert": f"AFTER INSERT ON {AUDIT} FOR EACH ROW",
}
PG_FUNCTION = """
CREATE FUNCTION fidelity_review_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE review_changes SET counter = counter + 1, changed_at = clock_timestamp()::text;
    RETURN NULL;
END $$
"""
PG_TRIGGERS = {  # name -> (table, when)
    **{
        f"trg_review_changes_{table}": (
            table,
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} FOR EACH STATEMENT",
        )
        for table in TABLES
    },
    f"trg_review_changes_{AUDIT}": (AUDIT, f"AFTER INSERT ON {AUDIT} FOR EACH STATEMENT"),
}


def upgrade() -> None:
    op.create_table(
        "review_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.String(length=40), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_review_changes_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_changes")),
    )
    op.execute("INSERT INTO review_changes (id, counter, changed_at) VALUES (1, 0, CURRENT_TIMESTAMP)")
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, when in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} {SQLITE_BUMP}")
    elif dialect == "postgresql":
        op.execute(PG_FUNCTION)
        for name, (_table, when) in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION fidelity_review_changed()")
    else:
        raise NotImplementedError(f"no review change triggers for the {dialect} dialect")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        for name, (table, _when) in PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS fidelity_review_changed()")
    op.drop_table("review_changes")
