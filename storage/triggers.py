"""The triggers that make final reviews immutable and the audit log append-only (migration
0001): which must be there (`trigger_problems`, for `fidelity db check`), and lifting the ones
that refuse an UPDATE for the few statements that must rewrite digests (migration 0006's
backfill, `fidelity db rekey`), restored exactly as they were in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

CHILD_TABLES = ("review_raters", "rater_ratings", "consensus_ratings")
SQLITE_TRIGGERS = (
    "trg_reviews_final_update",
    "trg_reviews_final_delete",
    "trg_audit_log_no_update",
    "trg_audit_log_no_delete",
    *(f"trg_{table}_final_{op}" for table in CHILD_TABLES for op in ("insert", "update", "delete")),
    # Migration 0008: a published scale version never changes.
    "trg_authored_scales_published_update",
    "trg_authored_scales_published_delete",
)
PG_TRIGGERS = {  # name -> table
    "trg_reviews_final": "reviews",
    "trg_audit_log_append_only": "audit_log",
    **{f"trg_{table}_final": table for table in CHILD_TABLES},
    **{f"trg_{table}_no_truncate": table for table in ("reviews", *CHILD_TABLES, "audit_log")},
    "trg_authored_scales_published": "authored_scales",  # migration 0008
    "trg_authored_scales_no_truncate": "authored_scales",
}
# The trigger that refuses an UPDATE of each table's rows: (SQLite, PostgreSQL).
UPDATE_REFUSALS = {
    "reviews": ("trg_reviews_final_update", "trg_reviews_final"),
    "audit_log": ("trg_audit_log_no_update", "trg_audit_log_append_only"),
    # Migration 0011 gives existing final reviews' ratings their global ids.
    **{table: (f"trg_{table}_final_update", f"trg_{table}_final") for table in CHILD_TABLES[1:]},
}
REFUSAL_MARK = "fidelity: "  # every refusal's message starts so (migration 0001)


def trigger_problems(conn: Connection) -> list[str]:
    """One line per immutability or append-only trigger that is missing, disabled or no longer
    refuses anything."""
    if conn.dialect.name == "sqlite":
        found: dict[str, str] = dict(
            conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
        )
        problems = []
        for name in SQLITE_TRIGGERS:
            if name not in found:
                problems.append(f"trigger {name}: missing (it was dropped)")
            elif "RAISE(ABORT" not in found[name] or REFUSAL_MARK not in found[name]:
                problems.append(f"trigger {name}: changed, it no longer refuses the change")
        return problems
    rows = conn.execute(
        text(
            "SELECT t.tgname, c.relname, t.tgenabled, p.prosrc FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
        )
    ).all()
    found_pg = {name: (table, enabled, source) for name, table, enabled, source in rows}
    problems = []
    for name, table in PG_TRIGGERS.items():
        if name not in found_pg or found_pg[name][0] != table:
            problems.append(f"trigger {name} on {table}: missing (it was dropped)")
        elif found_pg[name][1] == "D":
            problems.append(f"trigger {name} on {table}: disabled")
        elif "RAISE EXCEPTION" not in found_pg[name][2] or REFUSAL_MARK not in found_pg[name][2]:
            problems.append(f"trigger {name} on {table}: its function was changed, it no longer refuses")
    return problems


@contextmanager
def lifted_triggers(conn: Connection, table: str) -> Iterator[None]:
    """The trigger refusing UPDATEs of `table` (a key of UPDATE_REFUSALS) lifted inside the
    block, restored as it was after it (not restored if the block fails: the caller's
    transaction is then rolled back, and the DROP or DISABLE with it). A missing trigger
    stays missing (db check reports it)."""
    sqlite_name, pg_name = UPDATE_REFUSALS[table]
    if conn.dialect.name == "sqlite":
        ddl = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
            {"name": sqlite_name},
        ).scalar()
        if ddl is not None:
            conn.execute(text(f"DROP TRIGGER {sqlite_name}"))
        yield
        if ddl is not None:
            conn.execute(text(ddl))
        return
    enabled = conn.execute(
        text(
            "SELECT t.tgenabled <> 'D' FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = :name AND c.relname = :table "
            "AND c.relnamespace = current_schema()::regnamespace"
        ),
        {"name": pg_name, "table": table},
    ).scalar()
    if enabled:
        conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {pg_name}"))
    yield
    if enabled:
        conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {pg_name}"))
