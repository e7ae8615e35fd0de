"""get_settings scans the environment again only when it changed, and always sees a change."""

from __future__ import annotations

import pytest

from services import settings


def test_a_changed_or_removed_variable_is_seen_on_the_next_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIDELITY_DATABASE_URL", "sqlite:///first.db")
    assert settings.get_settings().database_url == "sqlite:///first.db"
    assert settings.get_settings() is settings.get_settings()  # the same settings while nothing changed
    monkeypatch.setenv("FIDELITY_DATABASE_URL", "sqlite:///second.db")
    assert settings.get_settings().database_url == "sqlite:///second.db"
    monkeypatch.setenv("FIDELITY_SCALES_DIRS", "/nowhere")
    assert settings.get_settings().scales_dirs == "/nowhere"
    monkeypatch.delenv("FIDELITY_SCALES_DIRS")
    assert settings.get_settings().scales_dirs == ""


def test_an_unchanged_environment_is_not_scanned_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIDELITY_DATABASE_URL", "sqlite:///scanned.db")
    settings.get_settings()
    scans = []
    items = type(settings.os.environ).items

    def counted(self: object) -> object:
        scans.append(1)
        return items(self)  # type: ignore[arg-type]

    monkeypatch.setattr(type(settings.os.environ), "items", counted)
    settings.get_settings()
    assert scans == []
    monkeypatch.setenv("FIDELITY_DATABASE_URL", "sqlite:///changed.db")
    assert settings.get_settings().database_url == "sqlite:///changed.db"
    assert scans  # scanned again (pydantic reads the environment too, for the new settings)
