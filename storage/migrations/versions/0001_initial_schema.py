"""Initial schema: providers, programs, reviews, raters, ratings, consensus, audit log.

Also the triggers that make a final review immutable and the audit log append-only.
Note for later migrations: on SQLite a batch ("move and copy") migration of one of these
tables drops its triggers, so such a migration must create them again.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINAL = "fidelity: review is final and cannot be changed"
APPEND_ONLY = "fidelity: the audit log is append-only"
CHILD_TABLES = ("review_raters", "rater_ratings", "consensus_ratings")


def _sqlite_triggers() -> list[tuple[str, str]]:
    """(name, CREATE statement) pairs."""
    raise_final = f"BEGIN SELECT RAISE(ABORT, '{FINAL}'); END"
    raise_audit = f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    final_of = "(SELECT status FROM reviews WHERE id = {row}.review_id) = 'final'"
    triggers = [
        (
            "trg_reviews_final_update",
            f"CREATE TRIGGER trg_reviews_final_update BEFORE UPDATE ON reviews FOR EACH ROW "
            f"WHEN OLD.status = 'final' {raise_final}",
        ),
        (
            "trg_reviews_final_delete",
            f"CREATE TRIGGER trg_reviews_final_delete BEFORE DELETE ON reviews FOR EACH ROW "
            f"WHEN OLD.status = 'final' {raise_final}",
        ),
        (
            "trg_audit_log_no_update",
            f"CREATE TRIGGER trg_audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW {raise_audit}",
        ),
        (
            "trg_audit_log_no_delete",
            f"CREATE TRIGGER trg_audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW {raise_audit}",
        ),
    ]
    for table in CHILD_TABLES:
        new, old = final_of.format(row="NEW"), final_of.format(row="OLD")
        triggers += [
            (
                f"trg_{table}_final_insert",
                f"CREATE TRIGGER trg_{table}_final_insert BEFORE INSERT ON {table} FOR EACH ROW "
                f"WHEN {new} {raise_final}",
            ),
            (
                f"trg_{table}_final_update",
                f"CREATE TRIGGER trg_{table}_final_update BEFORE UPDATE ON {table} FOR EACH ROW "
                f"WHEN {old} OR {new} {raise_final}",
            ),
            (
                f"trg_{table}_final_delete",
                f"CREATE TRIGGER trg_{table}_final_delete BEFORE DELETE ON {table} FOR EACH ROW "
                f"WHEN {old} {raise_final}",
            ),
        ]
    return triggers


PG_FUNCTIONS = [
    f"""
CREATE FUNCTION fidelity_refuse_final_review() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'final' THEN
        RAISE EXCEPTION '{FINAL} (review %)', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$""",
    f"""
CREATE FUNCTION fidelity_refuse_final_child() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF EXISTS (SELECT 1 FROM reviews WHERE id = OLD.review_id AND status = 'final') THEN
            RAISE EXCEPTION '{FINAL} (review %)', OLD.review_id USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF EXISTS (SELECT 1 FROM reviews WHERE id = NEW.review_id AND status = 'final') THEN
            RAISE EXCEPTION '{FINAL} (review %)', NEW.review_id USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$""",
    f"""
CREATE FUNCTION fidelity_refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'restrict_violation';
END
$$""",
    # TRUNCATE skips row triggers, so it gets its own refusal.
    """
CREATE FUNCTION fidelity_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'fidelity: % cannot be truncated', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$""",
]
PG_FUNCTION_NAMES = [
    "fidelity_refuse_final_review",
    "fidelity_refuse_final_child",
    "fidelity_refuse_audit_change",
    "fidelity_refuse_truncate",
]


def _pg_triggers() -> list[tuple[str, str, str]]:
    """(name, table, CREATE statement) triples."""
    triggers = [
        (
            "trg_reviews_final",
            "reviews",
            "CREATE TRIGGER trg_reviews_final BEFORE UPDATE OR DELETE ON reviews "
            "FOR EACH ROW EXECUTE FUNCTION fidelity_refuse_final_review()",
        ),
        (
            "trg_audit_log_append_only",
            "audit_log",
            "CREATE TRIGGER trg_audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION fidelity_refuse_audit_change()",
        ),
    ]
    for table in CHILD_TABLES:
        triggers.append(
            (
                f"trg_{table}_final",
                table,
                f"CREATE TRIGGER trg_{table}_final BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION fidelity_refuse_final_child()",
            )
        )
    for table in ("reviews", *CHILD_TABLES, "audit_log"):
        triggers.append(
            (
                f"trg_{table}_no_truncate",
                table,
                f"CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION fidelity_refuse_truncate()",
            )
        )
    return triggers


def _create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for _name, ddl in _sqlite_triggers():
            op.execute(ddl)
    elif dialect == "postgresql":
        for ddl in PG_FUNCTIONS:
            op.execute(ddl)
        for _name, _table, ddl in _pg_triggers():
            op.execute(ddl)
    else:
        raise NotImplementedError(f"no immutability triggers for the {dialect} dialect")


def _drop_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, _ddl in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        for name, table, _ddl in _pg_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in PG_FUNCTION_NAMES:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")


def upgrade() -> None:
    op.create_table(
        "providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
        sa.UniqueConstraint("name", name=op.f("uq_providers_name")),
    )
    op.create_table(
        "programs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("model", sa.String(length=10), nullable=True),
        sa.Column("active_from", sa.Date(), nullable=True),
        sa.Column("active_to", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("model IN ('ACT', 'IDDT')", name=op.f("ck_programs_model")),
        sa.CheckConstraint(
            "active_to IS NULL OR active_from IS NULL OR active_to >= active_from",
            name=op.f("ck_programs_active_dates"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_programs_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
        sa.UniqueConstraint("name", name=op.f("uq_programs_name")),
    )
    op.create_index(op.f("ix_programs_provider_id"), "programs", ["provider_id"], unique=False)
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("scale_id", sa.String(length=40), nullable=False),
        sa.Column("scale_version", sa.String(length=40), nullable=False),
        sa.Column("scale_hash", sa.String(length=80), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("review_end_date", sa.Date(), nullable=True),
        sa.Column("review_type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("strengths", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("recommendations", sa.Text(), nullable=True),
        sa.Column("amendment_of", sa.Integer(), nullable=True),
        sa.Column("amendment_number", sa.Integer(), nullable=False),
        sa.Column("amendment_reason", sa.Text(), nullable=True),
        sa.Column("import_digest", sa.String(length=80), nullable=True),
        sa.Column("final_score", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finalized_by", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "review_type IN ('baseline', 'follow-up', 'self-assessment')", name=op.f("ck_reviews_review_type")
        ),
        sa.CheckConstraint(
            "status <> 'final' OR finalized_at IS NOT NULL", name=op.f("ck_reviews_finalized")
        ),
        sa.CheckConstraint("status IN ('draft', 'consensus', 'final')", name=op.f("ck_reviews_status")),
        sa.CheckConstraint(
            "(amendment_of IS NULL AND amendment_number = 0) OR (amendment_of IS NOT NULL AND amendment_number > 0 AND amendment_reason IS NOT NULL)",
            name=op.f("ck_reviews_amendment"),
        ),
        sa.CheckConstraint(
            "review_end_date IS NULL OR review_end_date >= review_date", name=op.f("ck_reviews_review_dates")
        ),
        sa.ForeignKeyConstraint(
            ["amendment_of"], ["reviews.id"], name=op.f("fk_reviews_amendment_of_reviews")
        ),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_reviews_program_id_programs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("amendment_of", name=op.f("uq_reviews_amendment_of")),
    )
    op.create_index(op.f("ix_reviews_program_id"), "reviews", ["program_id"], unique=False)
    op.create_index(op.f("ix_reviews_status"), "reviews", ["status"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("entity", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_audit_log_program_id_programs")
        ),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"], name=op.f("fk_audit_log_review_id_reviews")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_program_id"), "audit_log", ["program_id"], unique=False)
    op.create_index("ix_audit_log_review_id_id", "audit_log", ["review_id", "id"], unique=False)
    op.create_table(
        "consensus_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_source", sa.String(length=10), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("recommendation", sa.Text(), nullable=True),
        sa.Column("data_sources", sa.JSON(), nullable=True),
        sa.Column("not_rated_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "rating_source IN ('rated', 'computed')", name=op.f("ck_consensus_ratings_rating_source")
        ),
        sa.CheckConstraint(
            "(rating IS NULL) = (rating_source IS NULL)", name=op.f("ck_consensus_ratings_rating_has_source")
        ),
        sa.CheckConstraint(
            "rating IS NULL OR not_rated_reason IS NULL", name=op.f("ck_consensus_ratings_rated_or_not")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_consensus_ratings_review_id_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consensus_ratings")),
        sa.UniqueConstraint("review_id", "item_id", name=op.f("uq_consensus_ratings_review_id_item_id")),
    )
    op.create_table(
        "review_raters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("rater", sa.String(length=100), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_review_raters_review_id_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_raters")),
        sa.UniqueConstraint("review_id", "rater", name=op.f("uq_review_raters_review_id_rater")),
    )
    op.create_table(
        "rater_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("rater", sa.String(length=100), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_source", sa.String(length=10), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data_sources", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "rating_source IN ('rated', 'computed')", name=op.f("ck_rater_ratings_rating_source")
        ),
        sa.CheckConstraint(
            "(rating IS NULL) = (rating_source IS NULL)", name=op.f("ck_rater_ratings_rating_has_source")
        ),
        sa.ForeignKeyConstraint(
            ["review_id", "rater"],
            ["review_raters.review_id", "review_raters.rater"],
            name=op.f("fk_rater_ratings_review_id_rater_review_raters"),
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_rater_ratings_review_id_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rater_ratings")),
        sa.UniqueConstraint(
            "review_id", "rater", "item_id", name=op.f("uq_rater_ratings_review_id_rater_item_id")
        ),
    )
    _create_triggers()


def downgrade() -> None:
    _drop_triggers()
    op.drop_table("rater_ratings")
    op.drop_table("review_raters")
    op.drop_table("consensus_ratings")
    op.drop_index("ix_audit_log_review_id_id", table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_program_id"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_reviews_status"), table_name="reviews")
    op.drop_index(op.f("ix_reviews_program_id"), table_name="reviews")
    op.drop_table("reviews")
    op.drop_index(op.f("ix_programs_provider_id"), table_name="programs")
    op.drop_table("programs")
    op.drop_table("providers")
