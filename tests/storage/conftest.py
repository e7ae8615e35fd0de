"""Fixtures: a fresh migrated database per test, on SQLite and on PostgreSQL.

PostgreSQL runs when FIDELITY_TEST_POSTGRES_URL is set; without it those tests are skipped,
except on CI (the CI variable is set), where a missing URL fails them. `registry` (the
bundled scales) comes from tests/conftest.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scales import ScaleRegistry
from services import reviews as svc
from services.access import local_admin
from services.database import Database
from storage.testing import SqliteTemplate, postgres_schema

REVIEW_DATE = dt.date(2026, 3, 14)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a fresh database migrated to head."""
    if backend == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("sqlite_template")
        yield template.copy(tmp_path / "fidelity.db")
    else:
        with postgres_schema(request.getfixturevalue("postgres_url")) as url:
            yield url


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a fresh database with no tables at all."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        with postgres_schema(request.getfixturevalue("postgres_url"), migrate=False) as url:
            yield url


@pytest.fixture
def open_db(db_url: str, registry: ScaleRegistry) -> Iterator[Callable[..., Database]]:
    """Opens independent Database objects (own engine, own pool) on the test's database."""
    opened: list[Database] = []

    def _open(url: str | None = None, reg: ScaleRegistry | None = None) -> Database:
        database = Database(url or db_url, registry=reg or registry)
        opened.append(database)
        return database

    yield _open
    for database in opened:
        database.dispose()


@pytest.fixture
def db(open_db: Callable[..., Database]) -> Database:
    return open_db()


@pytest.fixture
def program(db: Database) -> svc.ProgramView:
    return svc.create_program(
        db,
        "Riverside ACT Team",
        provider="Riverside Health",
        region="North",
        model="ACT",
        actor=local_admin("admin"),
    )


@pytest.fixture
def review(db: Database, program: svc.ProgramView) -> svc.ReviewView:
    """A draft DACTS 1.0 review with two raters, ana and ben."""
    return svc.start_review(
        db, program.id, "dacts", "1.0", REVIEW_DATE, "baseline", ["ana", "ben"], actor=local_admin("lead")
    )
