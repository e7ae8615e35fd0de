"""The Integrity page (agency admins; the other roles are not offered it, see
test_app_signin): the database check on a button, each failure shown by
the row it names, and whether a key is configured."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from services.access import LOCAL_ADMIN
from services.database import Database, open_database
from services.review_file import parse_review_data
from services.review_import import import_review_file
from storage.migrate import HEAD_REVISION

APP = str(Path(__file__).resolve().parents[2] / "app.py")
GOI = [f"G{i}" for i in range(1, 13)]


def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str | None) -> Database:
    """The app's database (FIDELITY_INTEGRITY_KEY `key`), with one imported final review."""
    monkeypatch.setenv("FIDELITY_DATABASE_URL", f"sqlite:///{tmp_path}/app.db")
    if key is None:
        monkeypatch.delenv("FIDELITY_INTEGRITY_KEY", raising=False)
    else:
        monkeypatch.setenv("FIDELITY_INTEGRITY_KEY", key)
    database = open_database()
    data = {"scale": "goi", "date": "2025-03-01", "items": {i: {"rating": 4} for i in GOI}}
    import_review_file(database, parse_review_data(data, database.registry), program="Own", actor=LOCAL_ADMIN)
    return database


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    database = seeded(tmp_path, monkeypatch, "the app's key")
    yield database
    database.dispose()


def checked(at: AppTest) -> AppTest:
    at.switch_page("app_pages/integrity.py").run()
    assert not at.exception, [e.value for e in at.exception]
    next(b for b in at.button if b.label == "Check the database").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_untouched_database_holds(db: Database) -> None:
    at = checked(AppTest.from_file(APP, default_timeout=30).run())
    assert [s.value for s in at.success] == [
        "Everything holds: intact: 1 final review(s), "
        f"{_audit_rows(db)} audit row(s) (head: row {_audit_rows(db)}), schema revision {HEAD_REVISION}, "
        "digests keyed (HMAC-SHA256)."
    ]
    assert not at.warning and not at.error


def test_an_edited_audit_row_is_named(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER trg_audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"))
    at = checked(AppTest.from_file(APP, default_timeout=30).run())
    assert "2 problem(s) found" in at.error[0].value
    problems = list(at.dataframe[0].value["problem"])
    assert problems[0] == "trigger trg_audit_log_no_update: missing (it was dropped)"
    assert problems[1].startswith("audit row 3: does not match its chain digest")


def test_without_a_key_the_page_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeded(tmp_path, monkeypatch, None).dispose()
    at = checked(AppTest.from_file(APP, default_timeout=30).run())
    assert [w.value for w in at.warning] == [
        "no FIDELITY_INTEGRITY_KEY: checksums are plain SHA-256 that anyone who can write the database "
        "can recompute"
    ]
    assert "digests NOT keyed (plain SHA-256)" in at.success[0].value


def _audit_rows(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())
