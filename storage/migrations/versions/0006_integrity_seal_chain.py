"""Tamper evidence: a final review's ratings seal and the audit log's hash chain.

- `reviews.ratings_seal`: a keyed digest of what the analytics read of a final review,
  checked on every read (services' integrity gate).
- `audit_log.chain`: each audit row's keyed digest over its content and the previous row's
  digest, so an edited, reordered or deleted row breaks the chain (`fidelity db check`); and
  `audit_chain_head`, one row naming the newest audit row and its digest, sealed with the key,
  so deleting the newest rows is found too.

Both are ADD COLUMN (not a batch copy), so the triggers of 0001 stay in place on SQLite. Final
reviews already stored are sealed when their content checksum still verifies.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from storage.audit_chain import lock_chain, read_head_row, relink_all, write_anchor
from storage.integrity import MISMATCH, MISSING, NO_KEY, content_text, digest_status, final_review_seals
from storage.models import UTCDateTime
from storage.triggers import lifted_triggers

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reviews", sa.Column("ratings_seal", sa.String(length=80), nullable=True))
    op.add_column("audit_log", sa.Column("chain", sa.String(length=80), nullable=True))
    # The integrity gate reads seals from this index on SQLite (services.integrity_gate.SEAL).
    op.create_index("ix_reviews_id_ratings_seal", "reviews", ["id", "ratings_seal"])
    _seal_verified_final_reviews()
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


def _seal_verified_final_reviews() -> None:
    """Final reviews made before this revision get their ratings seal, keyed with the
    configured integrity key, but only those whose rows still match their content checksum
    (recomputed here): a review changed outside the application stays unsealed, so every read
    leaves it out (services.integrity_gate) instead of sealing the change. The reviews trigger
    that refuses changes to final reviews is lifted for this statement (storage.triggers)."""
    bind = op.get_bind()
    key = op.get_context().config.attributes.get("integrity_key")  # type: ignore[union-attr]
    seals = final_review_seals(bind, key)
    if not seals:
        return
    verified = _verified_final_reviews(bind, key)
    reviews = sa.table("reviews", sa.column("id", sa.Integer()), sa.column("ratings_seal", sa.Text()))
    rows = [{"review_id": i, "seal": seal} for i, seal in seals.items() if i in verified]
    if not rows:
        return
    with lifted_triggers(bind, "reviews"):
        bind.execute(
            reviews.update()
            .where(reviews.c.id == sa.bindparam("review_id"))
            .values(ratings_seal=sa.bindparam("seal")),
            rows,
        )


def _verified_final_reviews(bind: sa.Connection, key: str | None) -> set[int]:
    """The final reviews whose stored content checksum matches their rows now (the recipe 0002
    stored, plain SHA-256, or keyed with `key`): a plain one that matches while a key is
    configured counts (it was made before the key; `fidelity db rekey` re-keys it)."""
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
    final = reviews.c.status == "final"
    grouped: dict[str, dict[int, list[Any]]] = {name: defaultdict(list) for name in ("r", "c", "rr")}
    for table, name in ((raters, "r"), (consensus, "c"), (rater_ratings, "rr")):
        query = sa.select(table).join(reviews, reviews.c.id == table.c.review_id).where(final)
        for row in bind.execute(query).mappings():
            grouped[name][row["review_id"]].append(row["rater"] if name == "r" else dict(row))
    verified: set[int] = set()
    for review in bind.execute(sa.select(reviews).where(final)).mappings():
        rid = review["id"]
        content = content_text(dict(review), grouped["r"][rid], grouped["c"][rid], grouped["rr"][rid])
        if digest_status(key, content, review["content_checksum"]) not in (MISSING, MISMATCH, NO_KEY):
            verified.add(rid)
    return verified


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    # Plain DROP COLUMN (SQLite >= 3.35): a batch copy would drop the triggers.
    op.execute("ALTER TABLE audit_log DROP COLUMN chain")
    op.drop_index("ix_reviews_id_ratings_seal", table_name="reviews")
    op.execute("ALTER TABLE reviews DROP COLUMN ratings_seal")
