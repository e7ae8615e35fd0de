"""Shared fixtures: the bundled scales (loaded exactly as the app loads them), a temporary
database per test, and fresh databases on SQLite and PostgreSQL for the tests that use both."""

from __future__ import annotations

import pytest

from scales import Scale, ScaleRegistry, load_registry
from storage.testing import SqliteTemplate, postgres_required, postgres_test_url


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


# ---- databases on both backends (tests/storage, tests/hostile) -------------------------------


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
