"""The PostgreSQL check that refuses a change to a final review's ratings looks the review up by
its primary key alone.

It asked `EXISTS (SELECT 1 FROM reviews WHERE id = ... AND status = 'final')` for every rating
row written. On a new database (no statistics yet) PostgreSQL planned that with the status
index of migration 0003 and read every final review for each row: a historical import of 5,000
reviews slowed down as it went (10 ms per review's ratings after 1,500 reviews, 4 ms at the
start). Reading the review's status by its key and comparing it gives the planner no other
index to choose. The refusal itself is unchanged. SQLite's triggers look reviews up by rowid
already.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINAL = "fidelity: review is final and cannot be changed"  # as in 0001: the services read it


def _function(lookup: str) -> str:
    """fidelity_refuse_final_child with `lookup` ("NEW"/"OLD" -> a condition on that review)."""
    return f"""
CREATE OR REPLACE FUNCTION fidelity_refuse_final_child() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    review_status text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {lookup.format(row="OLD")}
            RAISE EXCEPTION '{FINAL} (review %)', OLD.review_id USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {lookup.format(row="NEW")}
            RAISE EXCEPTION '{FINAL} (review %)', NEW.review_id USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$"""


BY_KEY = "SELECT status INTO review_status FROM reviews WHERE id = {row}.review_id;\n        IF review_status = 'final' THEN"
AS_BEFORE = "IF EXISTS (SELECT 1 FROM reviews WHERE id = {row}.review_id AND status = 'final') THEN"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(BY_KEY))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(AS_BEFORE))
