"""The one fixture set: the bundled scales (loaded exactly as the app loads them), a temporary
database per test, and fresh databases on SQLite and PostgreSQL for the tests that use both.

PostgreSQL runs when FIDELITY_TEST_POSTGRES_URL is set; without it those tests are skipped,
except on CI (the CI variable is set), where a missing URL fails them. Each PostgreSQL test
gets its own schema, so the suite can run in parallel (pytest -n)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import app_pages.shared
from scales import Scale, ScaleRegistry, load_registry
from services.database import Database
from storage.testing import SqliteTemplate, postgres_required, postgres_schema, postgres_test_url


@pytest.fixture(scope="session")
def registry() -> ScaleRegistry:
    reg = load_registry()
    assert not reg.problems, [str(p) for p in reg.problems]
    return reg


@pytest.fixture(scope="session")
def dacts(registry: ScaleRegistry) -> Scale:
    return registry.get("dacts", "1.0")


@pytest.fixture(scope="session")
def iddt(registry: ScaleRegistry) -> Scale:
    return registry.get("iddt", "1.0")


@pytest.fixture(scope="session")
def goi(registry: ScaleRegistry) -> Scale:
    return registry.get("goi", "1.0")


@pytest.fixture(autouse=True)
def _temporary_database(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may touch ./fidelity.db: each gets its own SQLite file unless it sets another."""
    path = tmp_path_factory.mktemp("db") / "fidelity.db"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", f"sqlite:///{path}")


# ---- databases on both backends ----------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    """A migrated SQLite file each test copies instead of migrating again."""
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = postgres_test_url()
    if url is None:
        if postgres_required():
            pytest.fail("FIDELITY_TEST_POSTGRES_URL is not set; on CI the PostgreSQL tests must run")
        pytest.skip("FIDELITY_TEST_POSTGRES_URL is not set")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh database migrated to head on `backend`, also FIDELITY_DATABASE_URL (CLI, pages)."""
    if backend == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("sqlite_template")
        url = template.copy(tmp_path / "fidelity.db")
        monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
        yield url
        return
    with postgres_schema(request.getfixturevalue("postgres_url")) as url:
        monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
        yield url


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database with no tables at all."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        with postgres_schema(request.getfixturevalue("postgres_url"), migrate=False) as url:
            yield url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: SqliteTemplate, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite database only (for tests that do not depend on the backend)."""
    url = sqlite_template.copy(tmp_path / "fidelity.db")
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    return url


@pytest.fixture
def open_db(registry: ScaleRegistry, request: pytest.FixtureRequest) -> Iterator[Callable[..., Database]]:
    """Opens independent Database objects (own engine, own pool), on the test's database by default."""
    opened: list[Database] = []

    def _open(url: str | None = None, reg: ScaleRegistry | None = None) -> Database:
        database = Database(url or request.getfixturevalue("db_url"), registry=reg or registry)
        opened.append(database)
        return database

    yield _open
    for database in opened:
        database.dispose()


@pytest.fixture
def db(db_url: str, open_db: Callable[..., Database]) -> Database:
    return open_db(db_url)


@pytest.fixture
def sqlite_db(sqlite_url: str, open_db: Callable[..., Database]) -> Database:
    return open_db(sqlite_url)


@pytest.fixture(autouse=True)
def _pages_ask_the_data_version_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Page tests (AppTest) change the data through their own Database, as another process would:
    the pages would see it within VERSION_MAX_AGE (one second). Asked every run, they see it at
    the next run, as a user does once that second has passed; what they keep is kept the same way."""
    monkeypatch.setattr(app_pages.shared, "VERSION_MAX_AGE", 0.0)
