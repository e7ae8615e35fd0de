"""Shared fixtures: the bundled scales, loaded exactly as the app loads them."""

from __future__ import annotations

import pytest

from scales import Scale, ScaleRegistry, load_registry


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
