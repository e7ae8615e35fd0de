"""Tamper evidence: a final review's ratings seal and the audit log's hash chain.

- `reviews.ratings_seal`: a keyed digest of what the analytics read of a final review,
  checked on every read (services' integrity gate).
- `audit_log.chain`: each audit row's keyed digest over its content and the previous row's
  digest, so an edited, reordered or deleted row breaks the chain (`fidelity db check`); and
  `audit_chain_head`, one row naming the newest audit row and its digest, sealed with the key,
  so deleting the newest rows is found too.

Both are ADD COLUMN (not a batch copy), so the triggers of 0001 stay in place on SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.audit_chain import lock_chain, read_head_row, relink_all, write_anchor
from storage.triggers import lifted_triggers

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reviews", sa.Column("ratings_seal", sa.String(length=80), nullable=True))
    op.add_column("audit_log", sa.Column("chain", sa.String(length=80), nullable=True))
    _chain_existing_audit_rows()


def _chain_existing_audit_rows() -> None:
    """The audit rows written before this revision are chained now, in id order, keyed with the
    integrity key storage.migrate passes (None: plain SHA-256), with the append-only triggers
    lifted for these UPDATEs only and restored as they were."""
    bind = op.get_bind()
    config = op.get_context().config
    key = None if config is None else config.attributes.get("integrity_key")
    lock_chain(bind)
    with lifted_triggers(bind, "audit_log"):
        relink_all(bind, key)
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=True),
        sa.Column("chain", sa.String(length=80), nullable=True),
        sa.Column("seal", sa.String(length=80), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    write_anchor(bind, key, *read_head_row(bind), insert=True)


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    # Plain DROP COLUMN (SQLite >= 3.35): a batch copy would drop the triggers.
    op.execute("ALTER TABLE audit_log DROP COLUMN chain")
    op.execute("ALTER TABLE reviews DROP COLUMN ratings_seal")
