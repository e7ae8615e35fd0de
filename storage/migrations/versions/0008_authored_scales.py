"""Scales authored in the app: drafts and published versions (issue 19, part 3).

- `authored_scales`: one row per scale version written or imported by an agency admin, a draft
  while it is edited, then published with its resolved definition and content hash.
- Triggers refuse any UPDATE or DELETE of a published row (and a TRUNCATE of the table on
  PostgreSQL), as 0001's do for final reviews: a published scale version never changes, on
  either database, whatever the application does.

A new table (CREATE TABLE, no batch copy), so the triggers of 0001 stay in place on SQLite.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLISHED = "fidelity: a published scale version cannot be changed"

SQLITE_TRIGGERS = [
    (
        "trg_authored_scales_published_update",
        "CREATE TRIGGER trg_authored_scales_published_update BEFORE UPDATE ON authored_scales "
        f"FOR EACH ROW WHEN OLD.status = 'published' BEGIN SELECT RAISE(ABORT, '{PUBLISHED}'); END",
    ),
    (
        "trg_authored_scales_published_delete",
        "CREATE TRIGGER trg_authored_scales_published_delete BEFORE DELETE ON authored_scales "
        f"FOR EACH ROW WHEN OLD.status = 'published' BEGIN SELECT RAISE(ABORT, '{PUBLISHED}'); END",
    ),
]
PG_FUNCTION = f"""
CREATE FUNCTION fidelity_refuse_published_scale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'published' THEN
        RAISE EXCEPTION '{PUBLISHED} (% %)', OLD.scale_id, OLD.version USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$
"""
PG_TRIGGERS = [
    "CREATE TRIGGER trg_authored_scales_published BEFORE UPDATE OR DELETE ON authored_scales "
    "FOR EACH ROW EXECUTE FUNCTION fidelity_refuse_published_scale()",
    # fidelity_refuse_truncate() is 0001's.
    "CREATE TRIGGER trg_authored_scales_no_truncate BEFORE TRUNCATE ON authored_scales "
    "FOR EACH STATEMENT EXECUTE FUNCTION fidelity_refuse_truncate()",
]


def upgrade() -> None:
    op.create_table(
        "authored_scales",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scale_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=80), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'published')", name="ck_authored_scales_status"),
        sa.CheckConstraint(
            "status <> 'published' OR (definition IS NOT NULL AND content_hash IS NOT NULL "
            "AND published_at IS NOT NULL)",
            name="ck_authored_scales_published",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_authored_scales"),
        sa.UniqueConstraint("scale_id", "version", name="uq_authored_scales_scale_id_version"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for _name, ddl in SQLITE_TRIGGERS:
            op.execute(ddl)
    else:
        op.execute(PG_FUNCTION)
        for ddl in PG_TRIGGERS:
            op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, _ddl in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_authored_scales_published ON authored_scales")
        op.execute("DROP TRIGGER IF EXISTS trg_authored_scales_no_truncate ON authored_scales")
        op.execute("DROP FUNCTION IF EXISTS fidelity_refuse_published_scale()")
    op.drop_table("authored_scales")
