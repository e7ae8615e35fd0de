"""Fresh, migrated databases for tests (the fixtures in tests/conftest.py).

SQLite: the migrations run once into a template file, and each test gets a copy of it.
PostgreSQL: each test gets its own schema in the database at FIDELITY_TEST_POSTGRES_URL
(selected through the connection's search_path), dropped afterwards, so tests never see
each other's rows and other users of that database are not disturbed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import make_engine
from storage.migrate import upgrade_to_head

POSTGRES_URL_VARIABLE = "FIDELITY_TEST_POSTGRES_URL"


def postgres_test_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def postgres_required() -> bool:
    """On CI the PostgreSQL tests must run: a missing URL is a failure there, not a skip."""
    return bool(os.environ.get("CI"))


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def with_search_path(url: str, schema: str) -> str:
    """`url` with every connection's search_path set to `schema` (psycopg `options`)."""
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


class SqliteTemplate:
    """A migrated SQLite file, copied for each test instead of migrating each time."""

    def __init__(self, directory: Path):
        self.path = directory / "template.db"
        engine = make_engine(sqlite_url(self.path))
        try:
            upgrade_to_head(engine)
        finally:
            engine.dispose()  # closes the last connection, which checkpoints the WAL into the file

    def copy(self, target: Path) -> str:
        shutil.copyfile(self.path, target)
        return sqlite_url(target)


@contextmanager
def postgres_schema(base_url: str, *, migrate: bool = True) -> Iterator[str]:
    """A URL for a new, empty (or migrated) schema, dropped with everything in it afterwards."""
    schema = f"fidelity_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = with_search_path(base_url, schema)
        if migrate:
            upgrade_to_head(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
