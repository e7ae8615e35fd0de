"""Another process's change (the CLI, an import, a second server) shows on a page's rerun within
VERSION_MAX_AGE; opening or reloading a page, a new session, shows it at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import app_pages.shared
from services import reviews as svc
from services.access import local_admin
from services.database import Database, open_database
from tests.app.test_app_pages import REVIEW_DATE

APP = str(Path(__file__).resolve().parents[2] / "app.py")
ADMIN = local_admin("admin")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path}/t.db"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    # Far longer than the test: only a new session can make the pages ask the database again.
    monkeypatch.setattr(app_pages.shared, "VERSION_MAX_AGE", 3600.0)
    database = open_database(url)  # the other process: the app opens its own
    yield database
    database.dispose()


def reviews_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("app_pages/reviews.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def listed(at: AppTest) -> set[int]:
    return set(at.dataframe[0].value["id"]) if at.dataframe else set()


def test_a_new_session_shows_another_process_change_at_once(db: Database) -> None:
    program = svc.create_program(db, "Riverside ACT", model="ACT", actor=ADMIN)
    first = svc.start_review(db, program.id, "dacts", None, REVIEW_DATE, "baseline", ["Ana"], actor=ADMIN)
    open_before = reviews_page()
    assert listed(open_before) == {first.id}

    second = svc.start_review(db, program.id, "dacts", None, REVIEW_DATE, "follow-up", ["Ana"], actor=ADMIN)

    # The session already open keeps what it read for VERSION_MAX_AGE (here an hour) ...
    assert listed(open_before.run()) == {first.id}
    # ... a page opened now (a reload is a new session) reads it again.
    assert listed(reviews_page()) == {first.id, second.id}
