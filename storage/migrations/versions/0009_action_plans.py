"""Action plans: an entry per item of a final review that needs improving, and its dated
progress notes (services.action_plans).

New tables only (CREATE TABLE): the reviews and their triggers of 0001 are not touched, and a
final review stays immutable (a plan entry is a row of its own).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS = "status IN ('open', 'in progress', 'done', 'dropped')"


def upgrade() -> None:
    op.create_table(
        "action_plan_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("recommendation", sa.Text(), nullable=True),
        sa.Column("goal", sa.Integer(), nullable=False),
        sa.Column("steps", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(length=100), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(_STATUS, name=op.f("ck_action_plan_entries_status")),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_action_plan_entries_review_id_reviews")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_action_plan_entries_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_plan_entries")),
        sa.UniqueConstraint("review_id", "item_id", name=op.f("uq_action_plan_entries_review_id_item_id")),
    )
    op.create_index(op.f("ix_action_plan_entries_program_id"), "action_plan_entries", ["program_id"])
    op.create_index(
        "ix_action_plan_entries_status_due_date", "action_plan_entries", ["status", "due_date"]
    )
    op.create_table(
        "action_plan_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["action_plan_entries.id"], name=op.f("fk_action_plan_notes_entry_id_action_plan_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_plan_notes")),
    )
    op.create_index(op.f("ix_action_plan_notes_entry_id"), "action_plan_notes", ["entry_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_action_plan_notes_entry_id"), table_name="action_plan_notes")
    op.drop_table("action_plan_notes")
    op.drop_index("ix_action_plan_entries_status_due_date", table_name="action_plan_entries")
    op.drop_index(op.f("ix_action_plan_entries_program_id"), table_name="action_plan_entries")
    op.drop_table("action_plan_entries")
