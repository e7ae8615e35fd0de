"""Users and their roles, program scopes and review assignments; checksums of final reviews.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.integrity import content_checksum
from storage.models import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('agency_admin', 'reviewer', 'program_manager')", name=op.f("ck_users_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "user_programs",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_programs_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_user_programs_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("user_id", "program_id", name=op.f("pk_user_programs")),
    )
    op.create_index(op.f("ix_user_programs_program_id"), "user_programs", ["program_id"])
    op.create_table(
        "review_assignments",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_review_assignments_review_id_reviews")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_review_assignments_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("review_id", "user_id", name=op.f("pk_review_assignments")),
    )
    op.create_index(op.f("ix_review_assignments_user_id"), "review_assignments", ["user_id"])
    # ADD COLUMN (not a batch copy), so the reviews triggers of 0001 stay in place on SQLite.
    op.add_column("reviews", sa.Column("content_checksum", sa.String(length=80), nullable=True))
    _checksum_existing_final_reviews()


SQLITE_FINAL_UPDATE_TRIGGER = (
    "CREATE TRIGGER trg_reviews_final_update BEFORE UPDATE ON reviews FOR EACH ROW "
    "WHEN OLD.status = 'final' "
    "BEGIN SELECT RAISE(ABORT, 'fidelity: review is final and cannot be changed'); END"
)  # as created by 0001


def _checksum_existing_final_reviews() -> None:
    """Reviews finalized before this revision get their checksum now, with the reviews trigger
    that refuses changes to final reviews lifted for this one statement per review."""
    bind = op.get_bind()
    reviews = sa.table(
        "reviews",
        *(sa.column(name, sa.Integer()) for name in ("id", "program_id", "amendment_of", "amendment_number")),
        *(sa.column(name, sa.Text()) for name in ("scale_id", "scale_version", "scale_hash", "review_type")),
        *(sa.column(name, sa.Text()) for name in ("strengths", "summary", "recommendations")),
        *(sa.column(name, sa.Text()) for name in ("amendment_reason", "finalized_by", "status")),
        sa.column("review_date", sa.Date()),
        sa.column("review_end_date", sa.Date()),
        sa.column("final_score", sa.JSON()),
        sa.column("finalized_at", UTCDateTime()),
        sa.column("content_checksum", sa.Text()),
    )
    raters = sa.table("review_raters", sa.column("review_id", sa.Integer()), sa.column("rater", sa.Text()))
    rating_columns = [sa.column("review_id", sa.Integer()), sa.column("item_id", sa.Text())]
    rating_columns += [sa.column("rating", sa.Integer()), sa.column("rating_source", sa.Text())]
    rating_columns += [sa.column("inputs", sa.JSON()), sa.column("data_sources", sa.JSON())]
    consensus = sa.table(
        "consensus_ratings",
        *rating_columns,
        *(sa.column(name, sa.Text()) for name in ("evidence", "recommendation", "not_rated_reason")),
    )
    rater_ratings = sa.table(
        "rater_ratings",
        *(sa.column(c.name, c.type) for c in rating_columns),
        sa.column("rater", sa.Text()),
        sa.column("note", sa.Text()),
    )
    finals = [
        dict(row) for row in bind.execute(sa.select(reviews).where(reviews.c.status == "final")).mappings()
    ]
    if not finals:
        return
    # Keyed like a review finalized now (storage.migrate passes FIDELITY_INTEGRITY_KEY).
    config = op.get_context().config
    key = None if config is None else config.attributes.get("integrity_key")
    checksums: dict[int, str] = {}
    for review in finals:
        of_review = review["id"]
        checksums[of_review] = content_checksum(
            key,
            review,
            bind.execute(sa.select(raters.c.rater).where(raters.c.review_id == of_review)).scalars(),
            bind.execute(sa.select(consensus).where(consensus.c.review_id == of_review)).mappings(),
            bind.execute(sa.select(rater_ratings).where(rater_ratings.c.review_id == of_review)).mappings(),
        )
    sqlite = bind.dialect.name == "sqlite"
    op.execute(
        "DROP TRIGGER trg_reviews_final_update"
        if sqlite
        else "ALTER TABLE reviews DISABLE TRIGGER trg_reviews_final"
    )
    for review_id, checksum in checksums.items():
        bind.execute(reviews.update().where(reviews.c.id == review_id).values(content_checksum=checksum))
    op.execute(
        SQLITE_FINAL_UPDATE_TRIGGER if sqlite else "ALTER TABLE reviews ENABLE TRIGGER trg_reviews_final"
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch copy would drop the reviews triggers.
    op.execute("ALTER TABLE reviews DROP COLUMN content_checksum")
    op.drop_index(op.f("ix_review_assignments_user_id"), table_name="review_assignments")
    op.drop_table("review_assignments")
    op.drop_index(op.f("ix_user_programs_program_id"), table_name="user_programs")
    op.drop_table("user_programs")
    op.drop_table("users")
