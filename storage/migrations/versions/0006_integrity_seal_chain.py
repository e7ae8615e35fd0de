"""Tamper evidence: a final review's ratings seal and the audit log's hash chain.

- `reviews.ratings_seal`: a keyed digest of what the analytics read of a final review,
  checked on every read (services' integrity gate).
- `audit_log.chain`: each audit row's keyed digest over its content and the previous row's
  digest, so an edited, reordered or deleted row breaks the chain (`fidelity db check`).

Both are ADD COLUMN (not a batch copy), so the triggers of 0001 stay in place on SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reviews", sa.Column("ratings_seal", sa.String(length=80), nullable=True))
    op.add_column("audit_log", sa.Column("chain", sa.String(length=80), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch copy would drop the triggers.
    op.execute("ALTER TABLE audit_log DROP COLUMN chain")
    op.execute("ALTER TABLE reviews DROP COLUMN ratings_seal")
