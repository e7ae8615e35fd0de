"""Outcomes beside fidelity: the measures an agency tracks and each program's values per period.

- `outcome_measures`: key (a file's column heading), name, unit (days, count, percent,
  clients), which direction is better (higher, lower, neither), order and whether it is still
  tracked; seeded with domain.outcomes.DEFAULT_MEASURES.
- `outcome_values`: one program's value of one measure over one month or quarter (its first
  day and kind), never negative; who changed it last and when (every change is in audit_log).

CREATE TABLE only (no batch copy), so the triggers of 0001 stay in place on SQLite.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from domain.outcomes import DEFAULT_MEASURES
from storage.models import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    measures = op.create_table(
        "outcome_measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("better", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "unit IN ('days', 'count', 'percent', 'clients')", name=op.f("ck_outcome_measures_unit")
        ),
        sa.CheckConstraint(
            "better IN ('higher', 'lower', 'neither')", name=op.f("ck_outcome_measures_better")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_measures")),
        sa.UniqueConstraint("key", name=op.f("uq_outcome_measures_key")),
        sa.UniqueConstraint("name", name=op.f("uq_outcome_measures_name")),
    )
    op.create_table(
        "outcome_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("period_kind", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint("period_kind IN ('month', 'quarter')", name=op.f("ck_outcome_values_period_kind")),
        sa.CheckConstraint("value >= 0", name=op.f("ck_outcome_values_value")),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["outcome_measures.id"],
            name=op.f("fk_outcome_values_measure_id_outcome_measures"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_outcome_values_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_values")),
        sa.UniqueConstraint(
            "program_id",
            "measure_id",
            "period_kind",
            "period_start",
            name=op.f("uq_outcome_values_program_id_measure_id_period_kind_period_start"),
        ),
    )
    op.create_index(op.f("ix_outcome_values_measure_id"), "outcome_values", ["measure_id"])
    op.create_index(
        "ix_outcome_values_program_id_period_start", "outcome_values", ["program_id", "period_start"]
    )
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        measures,
        [
            {
                "key": m.key,
                "name": m.name,
                "unit": m.unit.value,
                "better": m.better.value,
                "position": position,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for position, m in enumerate(DEFAULT_MEASURES, start=1)
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_outcome_values_program_id_period_start", table_name="outcome_values")
    op.drop_index(op.f("ix_outcome_values_measure_id"), table_name="outcome_values")
    op.drop_table("outcome_values")
    op.drop_table("outcome_measures")
