"""Stored final sums: each final review's rating sums (in all, and per subscale), sealed, in
`final_review_sums` (storage.final_sums), so the agency dashboard reads them by key instead of
adding up every rating of every latest review.

A new table (CREATE TABLE): the triggers of 0001 stay as they are. The final reviews already
stored get their sums here, from their ratings, sealed with the integrity key storage.migrate
passes; their subscales come from the scale registry it passes (the bundled scales when none).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from scales.loader import load_registry
from storage.final_sums import scale_subscales, store_missing

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "final_review_sums",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("rated", sa.Integer(), nullable=False),
        sa.Column("total_sum", sa.Integer(), nullable=False),
        sa.Column("subscales", sa.Text(), nullable=False),
        sa.Column("seal", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_final_review_sums_review_id_reviews")
        ),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_final_review_sums")),
    )
    config = op.get_context().config
    attributes = {} if config is None else config.attributes
    registry = attributes.get("scale_registry") or load_registry()
    store_missing(op.get_bind(), attributes.get("integrity_key"), scale_subscales(registry.scales.values()))


def downgrade() -> None:
    op.drop_table("final_review_sums")
