"""get_settings is asked about 30 times a page run: it reads the settings again only when a
FIDELITY_ variable, the working folder or its .env changed, and must see each such change; it
scans the environment again only when the environment changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services import settings


def test_settings_follow_the_environment_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIDELITY_DATABASE_URL", raising=False)
    first = settings.get_settings()
    assert settings.get_settings() is first  # nothing changed: the same settings
    monkeypatch.setenv("UNRELATED_VARIABLE", "x")
    assert settings.get_settings() is first
    monkeypatch.setenv("FIDELITY_DATABASE_URL", "sqlite:///a.db")
    assert settings.get_settings().database_url == "sqlite:///a.db"
    os.environ["FIDELITY_DATABASE_URL"] = "sqlite:///b.db"  # set in place, as a script would
    assert settings.get_settings().database_url == "sqlite:///b.db"
    monkeypatch.delenv("FIDELITY_DATABASE_URL")
    (tmp_path / ".env").write_text("FIDELITY_DATABASE_URL=sqlite:///from-dotenv.db\n", encoding="utf-8")
    assert settings.get_settings().database_url == "sqlite:///from-dotenv.db"
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)  # another folder, without a .env
    assert settings.get_settings().database_url == "sqlite:///fidelity.db"


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


def test_a_page_looks_at_the_folder_and_dotenv_at_most_once_a_max_age(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages ask with files_max_age (two system calls a look, about ten asks a rerun): a
    .env written meanwhile shows once that age has passed; a variable shows at once."""
    clock = [1000.0]
    monkeypatch.setattr(settings.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(settings, "_files_seen", None)  # an earlier look, on the real clock
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIDELITY_DATABASE_URL", raising=False)
    assert settings.get_settings(files_max_age=1.0).database_url == "sqlite:///fidelity.db"
    (tmp_path / ".env").write_text("FIDELITY_DATABASE_URL=sqlite:///from-dotenv.db\n", encoding="utf-8")
    clock[0] += 0.5
    assert settings.get_settings(files_max_age=1.0).database_url == "sqlite:///fidelity.db"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", "sqlite:///variable.db")  # not throttled
    assert settings.get_settings(files_max_age=1.0).database_url == "sqlite:///variable.db"
    monkeypatch.delenv("FIDELITY_DATABASE_URL")
    clock[0] += 0.6
    assert settings.get_settings(files_max_age=1.0).database_url == "sqlite:///from-dotenv.db"
    (tmp_path / ".env").write_text("FIDELITY_DATABASE_URL=sqlite:///again.db\n", encoding="utf-8")
    assert settings.get_settings().database_url == "sqlite:///again.db"  # without an age: at once
