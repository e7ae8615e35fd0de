"""Indexes for the analytics at agency scale (1,000 programs, 20,000 final reviews).

- reviews (status, finalized_at): `data_version`, which every Drift and Compare rerun asks,
  finds the latest finalization in the index instead of reading every final review's row.
- reviews (program_id, scale_id, review_date, id): a program's reviews of a scale in date
  order, for the drift series and "each program's latest review" (the window functions of
  services.analytics_data read the index in order instead of sorting every review).

Plain CREATE INDEX on both dialects: no batch ("move and copy") operation, which on SQLite
would drop the immutability triggers of 0001.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reviews_status_finalized_at", "reviews", ["status", "finalized_at"])
    op.create_index(
        "ix_reviews_program_id_scale_id_review_date",
        "reviews",
        ["program_id", "scale_id", "review_date", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_reviews_program_id_scale_id_review_date", table_name="reviews")
    op.drop_index("ix_reviews_status_finalized_at", table_name="reviews")
