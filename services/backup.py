"""`fidelity db backup PATH` and `fidelity db restore PATH`, with the database's own tools.

SQLite: SQLite's online backup API (Python's sqlite3 `Connection.backup`). The whole file is
copied in one step under a read transaction, so the copy is one consistent moment even while the
app's processes keep writing (WAL mode: they are not blocked). The copy is written beside PATH
and renamed into place, so PATH is never half written; SQLite's own `quick_check` then reads it.

PostgreSQL: `pg_dump --format=custom` and `pg_restore` (the PostgreSQL client tools, Debian
package postgresql-client, of at least the server's major version), run with the URL's
connection settings and the password in PGPASSWORD (never on the command line).

Restore: into a database that holds any table it is refused unless `replace` is given (the CLI's
`--replace`). Stop the app's processes first: a restore replaces the database under them. After
the restore the database is migrated to the newest schema and checked as `fidelity db check`
checks it; the result is returned for the caller to print.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from services import access
from services.access import Action, Actor
from services.database import Database
from services.errors import DatabaseError, ValidationProblem
from services.integrity import IntegrityReport, check_database
from services.settings import get_registry
from storage.db import SQLITE_BUSY_TIMEOUT_MS, make_engine

__all__ = ["BackupResult", "RestoreResult", "backup_database", "restore_database"]

PG_CLIENT_HINT = (
    "install the PostgreSQL client tools of the server's major version or newer "
    "(Debian: apt-get install postgresql-client)"
)


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    method: str  # "sqlite backup API" or "pg_dump (custom format)"


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    target: str
    check: IntegrityReport


def backup_database(db: Database, path: Path, *, actor: Actor, overwrite: bool = False) -> BackupResult:
    """A consistent copy of `db` at `path` (SQLite file, or a pg_dump custom-format archive)."""
    access.require(actor, Action.CHECK_INTEGRITY)
    if path.exists() and not overwrite:
        raise ValidationProblem(f"{path}: already exists; choose another file or pass --overwrite")
    if not path.parent.is_dir():
        raise ValidationProblem(f"{path}: the folder {path.parent} does not exist")
    partial = path.with_name(f".{path.name}.partial")
    url = make_url(db.url)
    try:
        if db.dialect == "sqlite":
            _sqlite_backup(_sqlite_file(url), partial)
            method = "sqlite backup API"
        elif db.dialect == "postgresql":
            _run_pg("pg_dump", ["--format=custom", "--no-owner", f"--file={partial}"], url)
            method = "pg_dump (custom format)"
        else:
            raise ValidationProblem(f"{db.display_url}: backups are made for SQLite and PostgreSQL only")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(path=path, size=path.stat().st_size, method=method)


def restore_database(
    url: str, path: Path, *, actor: Actor, replace: bool = False, integrity_key: str | None = None
) -> RestoreResult:
    """Put the backup at `path` into the database at `url`, migrate it and check it."""
    access.require(actor, Action.CHECK_INTEGRITY)
    if not path.is_file():
        raise ValidationProblem(f"{path}: no such backup file")
    parsed = make_url(url)
    display = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _sqlite_restore(path, _sqlite_file(parsed), display, replace)
    elif backend == "postgresql":
        _refuse_in_use(url, display, replace)
        options = ["--no-owner", "--single-transaction", "--exit-on-error", str(path)]
        if replace:
            options = ["--clean", "--if-exists", *options]
        _run_pg("pg_restore", options, parsed)
    else:
        raise ValidationProblem(f"{display}: restores are made for SQLite and PostgreSQL only")
    with Database(url, registry=get_registry(), integrity_key=integrity_key) as restored:
        report = check_database(restored, actor=actor)
    return RestoreResult(path=path, target=display, check=report)


# ---- SQLite -------------------------------------------------------------------------------------


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise ValidationProblem(f"{url}: an in-memory database has nothing to back up or restore")
    return Path(url.database)


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?mode=ro" if read_only else str(path)
    conn = sqlite3.connect(uri, uri=read_only, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return conn


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.is_file():
        raise ValidationProblem(f"{source}: no such database file")
    src = _connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: every page in one step, one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        _quick_check(dst, target)
    finally:
        dst.close()
        src.close()


def _sqlite_restore(backup: Path, target: Path, display: str, replace: bool) -> None:
    try:
        src = _connect(backup, read_only=True)
    except sqlite3.Error as exc:
        raise ValidationProblem(f"{backup}: cannot be opened as a SQLite backup: {exc}") from None
    try:
        _quick_check(src, backup)
        tables = _sqlite_tables(src)
        if "alembic_version" not in tables:
            raise ValidationProblem(f"{backup}: not an ebp-fidelity database (no schema revision)")
        if target.exists():
            dst = _connect(target)
            held = _sqlite_tables(dst)
            if held and not replace:
                dst.close()
                raise ValidationProblem(
                    f"{display}: already holds a database ({len(held)} tables); pass --replace to "
                    "overwrite it with the backup (stop the app first)"
                )
        else:
            dst = _connect(target)
        try:
            src.backup(dst)  # the target's write lock is held for the copy: readers see old or new
        except sqlite3.Error as exc:
            raise DatabaseError(f"{display}: the restore failed, nothing was changed: {exc}") from None
        finally:
            dst.close()
    finally:
        src.close()


def _sqlite_tables(conn: sqlite3.Connection) -> set[str]:
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.DatabaseError as exc:
        raise ValidationProblem(f"not a SQLite database: {exc}") from None
    return {str(name) for (name,) in rows}


def _quick_check(conn: sqlite3.Connection, path: Path) -> None:
    try:
        verdict = conn.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise ValidationProblem(f"{path}: not a SQLite database: {exc}") from None
    if verdict is None or verdict[0] != "ok":
        raise ValidationProblem(f"{path}: SQLite's quick_check fails: {verdict}")


# ---- PostgreSQL ---------------------------------------------------------------------------------


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL as libpq reads it (no driver name, no password) and the environment with the
    password, for pg_dump and pg_restore."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run_pg(tool: str, options: list[str], url: URL) -> None:
    program = shutil.which(tool)
    if program is None:
        raise DatabaseError(f"{tool} was not found on PATH: {PG_CLIENT_HINT}")
    conninfo, env = _libpq(url)
    done = subprocess.run(
        [program, f"--dbname={conninfo}", *options], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()] or [
            f"exit status {done.returncode}"
        ]
        raise DatabaseError(f"{tool} failed: " + "; ".join(lines[:5]))


def _refuse_in_use(url: str, display: str, replace: bool) -> None:
    """A PostgreSQL target with tables needs --replace (pg_restore --clean drops and recreates them)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
    finally:
        engine.dispose()
    if tables and not replace:
        raise ValidationProblem(
            f"{display}: already holds {len(tables)} tables; pass --replace to drop and restore them "
            "from the backup (stop the app first)"
        )
