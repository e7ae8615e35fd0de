"""What every page test shares."""

from __future__ import annotations

import pytest

import app_pages.shared


@pytest.fixture(autouse=True)
def _pages_ask_the_data_version_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests change the data through their own Database, as another process would: the pages
    would see it within VERSION_MAX_AGE (one second). Asked every run, they see it at the next
    run, as a user does once that second has passed; what they keep is kept the same way."""
    monkeypatch.setattr(app_pages.shared, "VERSION_MAX_AGE", 0.0)
