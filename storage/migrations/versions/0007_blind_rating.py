"""Independent rating: each rater's submission, the consensus opening, rating overrides.

- `review_raters.submitted_at` / `submitted_by`: when the rater submitted their ratings (their
  ratings are locked from then on, unless an agency admin reopens them).
- `reviews.consensus_opened_at` / `consensus_opened_by` / `consensus_open_reason`: an agency
  admin opened the consensus before every rater had submitted, and why.
- `rater_ratings.override_reason` / `consensus_ratings.override_reason`: why a computed item's
  rating was given by hand instead of the rating its numbers give.

All are ADD COLUMN (not a batch copy), so the triggers of 0001 stay in place on SQLite.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("review_raters", "submitted_at", UTCDateTime()),
    ("review_raters", "submitted_by", sa.String(length=100)),
    ("reviews", "consensus_opened_at", UTCDateTime()),
    ("reviews", "consensus_opened_by", sa.String(length=100)),
    ("reviews", "consensus_open_reason", sa.Text()),
    ("rater_ratings", "override_reason", sa.Text()),
    ("consensus_ratings", "override_reason", sa.Text()),
)


def upgrade() -> None:
    for table, column, kind in _COLUMNS:
        op.add_column(table, sa.Column(column, kind, nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch copy would drop the triggers.
    for table, column, _kind in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
