"""Many rows of one table written in one go, each driver's bulk way in: COPY on PostgreSQL,
executemany on SQLite. For writers of many rows in one transaction (the historical import's
consensus rows and audit rows); the rows are exactly those an INSERT of the same values writes.

COPY FROM fires the tables' row triggers as INSERT does, so the immutability and append-only
triggers still refuse what they refuse. The values go through each column type's own bind
processing (JSON as SQLAlchemy serializes it), and a global id column gets its default, which
an INSERT statement would have filled in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert

from storage.base import new_global_id


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in `conn`'s transaction."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    names = list(rows[0])
    fill_global_id = "global_id" in table.c and "global_id" not in rows[0]
    if fill_global_id:
        names.append("global_id")
    processors: list[Callable[[Any], Any] | None] = [
        table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for name in names
    ]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    columns = ", ".join(names)
    with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            values = [row[name] for name in names[: len(names) - fill_global_id]]
            if fill_global_id:
                values.append(new_global_id())
            copy.write_row([v if p is None else p(v) for v, p in zip(values, processors, strict=True)])
