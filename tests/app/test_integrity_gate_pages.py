"""The pages show the integrity gate's warning, naming the review, when a final review's ratings
were changed outside the application (services.integrity_gate): Drift, Compare and Reviews."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from app_pages.markup import md
from services.database import open_database
from services.demo import DRIFTING_PROGRAM, build_demo

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A demo database whose drifting program's latest DACTS review had one consensus rating
    changed by SQL (the trigger lifted and put back); its URL and the warning naming the review."""
    url = f"sqlite:///{tmp_path_factory.mktemp('gate') / 'demo.db'}"
    with open_database(url) as db:
        build_demo(db, today=TODAY)
        with db.engine.begin() as conn:
            review_id, day = conn.execute(
                text(
                    "SELECT r.id, r.review_date FROM reviews r JOIN programs p ON p.id = r.program_id "
                    "WHERE p.name = :name AND r.scale_id = 'dacts' AND r.status = 'final' "
                    "ORDER BY r.review_date DESC LIMIT 1"
                ),
                {"name": DRIFTING_PROGRAM},
            ).one()
            ddl = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'trg_consensus_ratings_final_update'")
            ).scalar_one()
            conn.execute(text("DROP TRIGGER trg_consensus_ratings_final_update"))
            conn.execute(
                text(
                    "UPDATE consensus_ratings SET rating = CASE WHEN rating = 1 THEN 2 ELSE 1 END "
                    "WHERE review_id = :id AND item_id = 'H2'"
                ),
                {"id": review_id},
            )
            conn.execute(text(ddl))
    warning = (
        f"review {review_id} of {DRIFTING_PROGRAM}, {day}, is left out: its ratings do not match their "
        "seal (changed outside the application); run `fidelity db check`"
    )
    yield url, warning


def page(url: str, name: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("name", ["drift", "compare", "reviews"])
def test_the_page_warns_of_the_edited_review_by_name(
    edited: tuple[str, str], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, warning = edited
    at = page(url, name, monkeypatch)
    assert md(warning) in [str(w.value) for w in at.warning]
