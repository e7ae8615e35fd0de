"""Stable identities and field copies (issue 21).

- `global_id` (a UUID as 36 characters of text) on programs, reviews, rater_ratings,
  consensus_ratings and users: a record means the same thing in every installation. Existing
  rows get one here, in batches; new rows get one from the model's default. It is not part of
  any content checksum or seal, so final reviews verify as before.
- `field_checkouts`, `field_checkins`, `field_conflicts` (the agency server) and `field_copies`
  (a laptop): review packages taken to the field and brought back (services.field_sync).

All ADD COLUMN / CREATE TABLE (not a batch copy), so the triggers of 0001 stay in place on
SQLite; the UPDATE refusals of final reviews and their ratings are lifted for the backfill only
(storage.triggers.lifted_triggers) and restored as they were in the same transaction.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import uuid
from collections.abc import Sequence
from contextlib import ExitStack

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime
from storage.triggers import lifted_triggers

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("programs", "reviews", "rater_ratings", "consensus_ratings", "users")
LIFTED = ("reviews", "rater_ratings", "consensus_ratings")  # final reviews' rows refuse UPDATEs
BATCH = 2000


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        op.add_column(table, sa.Column("global_id", sa.String(length=36), nullable=True))
    with ExitStack() as stack:
        for table in LIFTED:
            stack.enter_context(lifted_triggers(bind, table))
        for table in TABLES:
            _fill(bind, table)
    for table in TABLES:
        op.create_index(f"ix_{table}_global_id", table, ["global_id"], unique=True)
    _create_field_tables()


def _fill(bind: sa.Connection, table: str) -> None:
    """Every row of `table` without a global id gets a new one, BATCH rows per statement."""
    rows = sa.table(table, sa.column("id", sa.Integer()), sa.column("global_id", sa.String()))
    update = rows.update().where(rows.c.id == sa.bindparam("row_id")).values(global_id=sa.bindparam("gid"))
    while True:
        ids = bind.scalars(
            sa.select(rows.c.id).where(rows.c.global_id.is_(None)).order_by(rows.c.id).limit(BATCH)
        ).all()
        if not ids:
            return
        bind.execute(update, [{"row_id": i, "gid": str(uuid.uuid4())} for i in ids])


def _create_field_tables() -> None:
    op.create_table(
        "field_checkouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("global_id", sa.String(length=36), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("rater", sa.String(length=100), nullable=False),
        sa.Column("scale_hash", sa.String(length=80), nullable=False),
        sa.Column("checksum", sa.String(length=80), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("checked_out_at", UTCDateTime(), nullable=False),
        sa.Column("checked_out_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_field_checkouts_review_id_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_checkouts")),
        sa.UniqueConstraint("global_id", name=op.f("uq_field_checkouts_global_id")),
    )
    op.create_index("ix_field_checkouts_review_id", "field_checkouts", ["review_id"])
    op.create_table(
        "field_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("global_id", sa.String(length=36), nullable=False),
        sa.Column("checkout_id", sa.Integer(), nullable=False),
        sa.Column("export_number", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=80), nullable=False),
        sa.Column("exported_at", UTCDateTime(), nullable=False),
        sa.Column("checked_in_at", UTCDateTime(), nullable=False),
        sa.Column("checked_in_by", sa.String(length=100), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkout_id"],
            ["field_checkouts.id"],
            name=op.f("fk_field_checkins_checkout_id_field_checkouts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_checkins")),
        sa.UniqueConstraint("global_id", name=op.f("uq_field_checkins_global_id")),
    )
    op.create_index("ix_field_checkins_checkout_id", "field_checkins", ["checkout_id"])
    op.create_table(
        "field_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("rater", sa.String(length=100), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("rating_global_id", sa.String(length=36), nullable=False),
        sa.Column("server", sa.JSON(), nullable=False),
        sa.Column("field", sa.JSON(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("choice", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["field_checkins.id"], name=op.f("fk_field_conflicts_checkin_id_field_checkins")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_field_conflicts_review_id_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_conflicts")),
    )
    op.create_index("ix_field_conflicts_checkin_id", "field_conflicts", ["checkin_id"])
    op.create_index("ix_field_conflicts_review_id", "field_conflicts", ["review_id"])
    op.create_table(
        "field_copies",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("checkout_global_id", sa.String(length=36), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("rater", sa.String(length=100), nullable=False),
        sa.Column("package", sa.Text(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("exports", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_field_copies_review_id_reviews")
        ),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_field_copies")),
        sa.UniqueConstraint("checkout_global_id", name=op.f("uq_field_copies_checkout_global_id")),
    )


def downgrade() -> None:
    for table in ("field_copies", "field_conflicts", "field_checkins", "field_checkouts"):
        op.drop_table(table)
    for table in reversed(TABLES):
        op.drop_index(f"ix_{table}_global_id", table_name=table)
        # Plain DROP COLUMN (SQLite >= 3.35): a batch copy would drop the triggers.
        op.execute(f"ALTER TABLE {table} DROP COLUMN global_id")
