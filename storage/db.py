"""Engines and sessions for SQLite and PostgreSQL.

SQLite gets foreign keys, WAL and a busy timeout on every connection. The driver's own
transaction handling is switched off and SQLAlchemy emits BEGIN itself, so reads are
repeatable and a writing session can take the write lock up front (BEGIN IMMEDIATE):
two writers then queue for the lock instead of one failing with "database is locked".
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

try:
    import fcntl
except ImportError:  # not POSIX: see SqliteWriteQueue
    fcntl = None  # type: ignore[assignment]

SQLITE_BUSY_TIMEOUT_MS = 15_000
_BEGIN_OPTION = "fidelity_sqlite_begin"


def is_sqlite(engine_or_url: Engine | URL | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url` with the connection settings this application relies on."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("check_same_thread", False)  # Streamlit serves sessions from threads
        if url.database in (None, "", ":memory:"):  # one connection per thread: no pool to size
            for option in ("pool_size", "max_overflow", "pool_timeout", "pool_recycle"):
                kwargs.pop(option, None)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def writer(engine: Engine) -> Engine:
    """The same engine (same pool), but its transactions take SQLite's write lock at BEGIN."""
    if is_sqlite(engine):
        return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    return engine


def session_factory(engine: Engine, info: dict[str, Any] | None = None) -> sessionmaker[Session]:
    """Sessions on `engine`; `info` starts each one's Session.info (e.g. the integrity key)."""
    # Nothing outlives a session as an ORM object, so expiring on commit only costs reloads.
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True, info=dict(info or {}))


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _sqlite_on_begin
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        # synchronous stays FULL (the default): a saved rating survives a power cut too.
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


class SqliteWriteQueue:
    """Writers to one SQLite file wait their turn here instead of in SQLite's busy handler.

    SQLite's busy handler polls with growing sleeps, so under many writers an unlucky one can
    wait past the busy timeout and fail with "database is locked" (bench/load.py measured it:
    20 raters in two processes, 10 of 400 saves). Here the threads of one process queue on a
    lock, and the processes on an advisory lock on a file beside the database
    (`<file>-writers.lock`, flock: the kernel blocks the waiter, no polling, no timeout);
    the write transaction then finds SQLite's own lock free. Without fcntl (not POSIX) only
    the threads of one process queue.
    """

    def __init__(self, database: str):
        self._threads = threading.RLock()
        self._path = f"{database}-writers.lock"
        self._file: Any = None
        self._depth = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._threads:
            self._depth += 1
            try:
                if self._depth == 1:
                    self._lock_file()
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._unlock_file()

    def _lock_file(self) -> None:
        if fcntl is None:
            return
        if self._file is None:
            try:
                self._file = open(self._path, "a+b")  # noqa: SIM115 (held open for the queue's life)
            except OSError:  # a read-only folder: queue the threads only
                return
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)

    def _unlock_file(self) -> None:
        if fcntl is not None and self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def sqlite_write_queue(engine: Engine) -> SqliteWriteQueue | None:
    """The write queue of a SQLite file engine (None: PostgreSQL, or an in-memory database)."""
    database = engine.url.database
    if not is_sqlite(engine) or database in (None, "", ":memory:"):
        return None
    return SqliteWriteQueue(os.path.abspath(database))
