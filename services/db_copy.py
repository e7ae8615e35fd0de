"""`fidelity db copy --to URL`: move a whole installation (usually the laptop's SQLite file) into a
new PostgreSQL database.

The target is migrated with the same Alembic migrations as any new database, then every table of
the model (storage.models' metadata, in foreign-key order, so tables added by later migrations are
copied too) is copied row by row with its ids, in one transaction on the target:

- the immutability and append-only triggers refuse rows of final reviews and any change to the
  audit log; they are disabled inside that transaction and enabled again before it commits (the
  rows are copied verbatim, nothing is changed), so a failure leaves the target as migrated;
- audit rows keep their ids and digests, so the hash chain and its sealed head hold on the target;
- every sequence is set past the largest id copied.

After the commit each table's rows are read back on both sides and compared by count and by a
digest of their content; then the target's tamper evidence is checked as `fidelity db check`
does (services.integrity.check_database). A target that already holds data is refused, naming
what it holds: copy into a new database (`createdb`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, inspect, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from services import access
from services.access import Action, Actor
from services.database import Database
from services.errors import DatabaseError, ValidationProblem
from services.integrity import IntegrityReport, check_database
from storage.audit_chain import ANCHOR, lock_chain
from storage.db import make_engine, writer
from storage.migrate import upgrade_to_head
from storage.models import Base

__all__ = ["CopyResult", "TableCopy", "copy_database", "model_tables"]

CHUNK = 2000
# Tables a fresh migration fills itself: (table, the condition that marks a row as data).
_SEEDED = {ANCHOR.name: ANCHOR.c.row_id.is_not(None)}
_ALEMBIC = "alembic_version"


@dataclass(frozen=True)
class TableCopy:
    """One table: its rows on the source and on the target, and whether their contents agree."""

    name: str
    source_rows: int
    target_rows: int
    source_digest: str
    target_digest: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_digest == self.target_digest

    def line(self) -> str:
        verdict = "ok" if self.ok else "DIFFERS"
        return (
            f"{self.name:<24} {self.source_rows:>8} -> {self.target_rows:>8}  "
            f"{self.target_digest[:12]}  {verdict}"
        )


@dataclass
class CopyResult:
    source: str
    target: str
    tables: list[TableCopy] = field(default_factory=list)
    check: IntegrityReport | None = None

    @property
    def problems(self) -> list[str]:
        found = [
            f"table {t.name}: {t.source_rows} row(s) on the source, {t.target_rows} on the target"
            + ("" if t.source_rows != t.target_rows else ", with different contents")
            for t in self.tables
            if not t.ok
        ]
        if self.check is not None:
            found += self.check.problems
        return found

    @property
    def ok(self) -> bool:
        return not self.problems


def model_tables() -> list[Table]:
    """Every table of the model, parents before children (the order rows can be inserted in)."""
    return list(Base.metadata.sorted_tables)


def copy_database(source: Database, target_url: str, *, actor: Actor) -> CopyResult:
    """Copy every row of `source` into the new PostgreSQL database at `target_url` and verify it."""
    access.require(actor, Action.CHECK_INTEGRITY)
    target_display = _display(target_url)
    if make_url(target_url).get_backend_name() != "postgresql":
        raise ValidationProblem(
            f"--to {target_display}: the target must be a PostgreSQL URL "
            "(postgresql+psycopg://user@host:5432/db); to copy a SQLite file use `fidelity db backup`"
        )
    if make_url(target_url) == make_url(source.url):
        raise ValidationProblem(f"--to {target_display}: that is the database being copied")
    tables = model_tables()
    with source.reading() as s:
        _refuse_unknown_tables(s.connection(), "the source", source.display_url)
    try:
        target = make_engine(target_url)
    except sa_exc.ArgumentError as exc:
        raise ValidationProblem(f"--to {target_display}: not a usable database URL: {exc}") from None
    try:
        try:
            _refuse_non_empty(target, target_display)
            upgrade_to_head(target, integrity_key=source.integrity_key)
        except sa_exc.OperationalError as exc:
            raise DatabaseError(f"cannot open the target database {target_display}: {exc.orig}") from None
        result = CopyResult(source=source.display_url, target=target_display)
        digests = _copy_rows(source, target, tables)
        with target.connect() as conn:
            for table in tables:
                rows, digest = _table_digest(conn, table)
                source_rows, source_digest = digests[table.name]
                result.tables.append(TableCopy(table.name, source_rows, rows, source_digest, digest))
    finally:
        target.dispose()
    with Database(target_url, registry=source.registry, integrity_key=source.integrity_key) as copied:
        result.check = check_database(copied, actor=actor)
    return result


def _copy_rows(source: Database, target: Engine, tables: list[Table]) -> dict[str, tuple[int, str]]:
    """Copy every table in one target transaction, from one source snapshot; each table's row
    count and content digest as read from the source."""
    digests: dict[str, tuple[int, str]] = {}
    with source.reading() as s, writer(target).begin() as out:
        src = s.connection()
        lock_chain(out)
        triggers = _enabled_triggers(out)
        for table_name, trigger in triggers:
            out.execute(text(f'ALTER TABLE "{table_name}" DISABLE TRIGGER "{trigger}"'))
        for table in reversed(tables):  # what the migrations seeded (the chain's empty head)
            out.execute(table.delete())
        for table in tables:
            hashes: list[str] = []
            for chunk in _chunks(src, table):
                hashes.extend(_row_hash(row) for row in chunk)
                out.execute(table.insert(), [dict(row) for row in chunk])
            digests[table.name] = (len(hashes), _combine(hashes))
        for table_name, trigger in triggers:
            out.execute(text(f'ALTER TABLE "{table_name}" ENABLE TRIGGER "{trigger}"'))
        _reset_sequences(out, tables)
    return digests


def _chunks(conn: Connection, table: Table) -> Iterator[list[dict[str, Any]]]:
    """The table's rows in primary-key order (a row referring to an earlier row of its own table,
    as an amendment does, comes after it), CHUNK at a time, as column -> value."""
    query = select(table).order_by(*table.primary_key.columns)
    result = conn.execution_options(yield_per=CHUNK).execute(query)
    for partition in result.mappings().partitions(CHUNK):
        yield [dict(row) for row in partition]


def _table_digest(conn: Connection, table: Table) -> tuple[int, str]:
    hashes = [_row_hash(row) for chunk in _chunks(conn, table) for row in chunk]
    return len(hashes), _combine(hashes)


def _row_hash(row: dict[str, Any]) -> str:
    values = {name: _plain(value) for name, value in row.items()}
    return hashlib.sha256(json.dumps(values, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _plain(value: Any) -> Any:
    """A value as JSON the same on both databases (times in UTC ISO form)."""
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, dt.date | Decimal):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _combine(hashes: list[str]) -> str:
    """One digest of a table's rows, whatever order each database returns them in (a text key
    sorts differently under PostgreSQL's collation than under SQLite's)."""
    return hashlib.sha256("".join(sorted(hashes)).encode()).hexdigest()


def _enabled_triggers(conn: Connection) -> list[tuple[str, str]]:
    """The user triggers (immutability, append-only, and any a later migration adds) that are on."""
    rows = conn.execute(
        text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal "
            "AND t.tgenabled <> 'D' ORDER BY c.relname, t.tgname"
        )
    ).all()
    return [(str(table), str(trigger)) for table, trigger in rows]


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """Each serial key's sequence continues after the largest id copied (or starts at 1)."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = conn.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            ).scalar()
            if sequence is None:
                continue
            largest = conn.execute(select(func.max(column))).scalar()
            if largest is None:
                conn.execute(text("SELECT setval(:seq, 1, false)"), {"seq": sequence})
            else:
                conn.execute(text("SELECT setval(:seq, :value, true)"), {"seq": sequence, "value": largest})


def _refuse_unknown_tables(conn: Connection, which: str, display: str) -> None:
    """A table the model does not know would be left behind: refuse rather than copy part."""
    known = {t.name for t in model_tables()} | {_ALEMBIC}
    unknown = sorted(set(inspect(conn).get_table_names()) - known)
    if unknown:
        raise ValidationProblem(
            f"{which} ({display}) has tables this version of ebp-fidelity does not know: "
            f"{', '.join(unknown)}; nothing was copied"
        )


def _refuse_non_empty(target: Engine, display: str) -> None:
    """The target must be a new database: no data in any table (a migrated but unused database
    is accepted), and no table the model does not know."""
    with target.connect() as conn:
        _refuse_unknown_tables(conn, "the target", display)
        present = set(inspect(conn).get_table_names())
        held: list[str] = []
        for table in model_tables():
            if table.name not in present:
                continue
            query = select(func.count()).select_from(table)
            if table.name in _SEEDED:
                query = query.where(_SEEDED[table.name])
            count = conn.execute(query).scalar_one()
            if count:
                held.append(f"{table.name} ({count} row(s))")
    if held:
        raise ValidationProblem(
            f"the target {display} is not empty: it holds {', '.join(held)}; nothing was copied. "
            "Copy only into a new database (e.g. `createdb fidelity`)"
        )


def _display(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return repr(url)
