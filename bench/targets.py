"""Where the benchmark databases live, and raw DB-API connections to them for the floors.

SQLite: one file per size and seed under `bench/.data/` (git-ignored). PostgreSQL: one schema
per size and seed (`agency_<programs>x<reviews>_s<seed>`) in a database of its own, `bench` by
default, created when missing, so the benchmark never touches the test suite's database.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from storage.db import make_engine
from storage.testing import with_search_path

DATA_DIR = Path(__file__).resolve().parent / ".data"
POSTGRES_URL_VARIABLE = "FIDELITY_BENCH_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
DIALECTS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Target:
    """One benchmark database: its SQLAlchemy URL and how to empty it."""

    dialect: str  # "sqlite" or "postgresql"
    url: str  # SQLAlchemy URL (for PostgreSQL with the schema's search_path)
    label: str  # the file or the schema, for messages
    schema: str | None = None  # PostgreSQL only
    base_url: str | None = None  # PostgreSQL only: the URL without the search_path

    @property
    def sqlite_path(self) -> Path:
        assert self.dialect == "sqlite"
        database = make_url(self.url).database
        assert database, "an SQLite target needs a file"
        return Path(database)

    def sibling(self, suffix: str) -> Target:
        """A scratch database beside this one (a file next to it, or a schema in its database)."""
        if self.dialect == "sqlite":
            path = self.sqlite_path
            return sqlite_target(path.with_name(f"{path.stem}{suffix}{path.suffix}"))
        assert self.schema is not None and self.base_url is not None
        return postgres_target(self.base_url, f"{self.schema}{suffix}")

    def reset(self) -> None:
        """Make the database empty (no tables at all): delete the file, or recreate the schema."""
        if self.dialect == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            return
        assert self.schema is not None and self.base_url is not None
        engine = make_engine(self.base_url)
        try:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        finally:
            engine.dispose()

    def drop(self) -> None:
        """Remove the database entirely (tests clean up with this)."""
        if self.dialect == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
            return
        assert self.base_url is not None
        engine = make_engine(self.base_url)
        try:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        finally:
            engine.dispose()


def sqlite_target(path: Path) -> Target:
    return Target("sqlite", f"sqlite:///{path}", str(path))


def postgres_target(base_url: str, schema: str) -> Target:
    return Target("postgresql", with_search_path(base_url, schema), schema, schema=schema, base_url=base_url)


def agency_name(programs: int, reviews_per_program: int, seed: int) -> str:
    return f"agency_{programs}x{reviews_per_program}_s{seed}"


def default_target(
    dialect: str, programs: int, reviews_per_program: int, seed: int, *, suffix: str = ""
) -> Target:
    """The benchmark database of this size and seed (`suffix` names a scratch one beside it)."""
    name = agency_name(programs, reviews_per_program, seed) + suffix
    if dialect == "sqlite":
        return sqlite_target(DATA_DIR / f"{name}.db")
    if dialect == "postgresql":
        base = os.environ.get(POSTGRES_URL_VARIABLE) or DEFAULT_POSTGRES_URL
        ensure_postgres_database(base)
        return postgres_target(base, name)
    raise ValueError(f"unknown database {dialect!r}: use one of {', '.join(DIALECTS)}")


def ensure_postgres_database(url: str) -> None:
    """Create the URL's database when the server does not have it yet."""
    import psycopg  # not at the top: only PostgreSQL targets need the driver

    parsed = make_url(url)
    name = parsed.database
    if not name:
        raise ValueError(f"{url!r} names no database")
    try:
        with psycopg.connect(**conninfo(parsed, autocommit=True)):
            return
    except psycopg.OperationalError as exc:
        if f'"{name}" does not exist' not in str(exc):
            raise
    with psycopg.connect(**conninfo(parsed.set(database="postgres"), autocommit=True)) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def conninfo(url: URL, **extra: Any) -> dict[str, Any]:
    """psycopg.connect() keyword arguments for a SQLAlchemy PostgreSQL URL."""
    kwargs: dict[str, Any] = {
        "host": url.host or "localhost",
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    options = url.query.get("options")
    if options:
        kwargs["options"] = options if isinstance(options, str) else options[0]
    kwargs.update(extra)
    return {key: value for key, value in kwargs.items() if value is not None}


def dbapi_connect(url: str) -> Any:
    """A plain driver connection (sqlite3 or psycopg), with no SQLAlchemy in between."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sqlite3.connect(parsed.database or ":memory:")
    import psycopg  # not at the top: only PostgreSQL targets need the driver

    return psycopg.connect(**conninfo(parsed))
