"""The band beside its figure: a warning when items are unrated (Results, Reviews list), and
IDDT's band shown with the sum it reads, not the mean."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.views.reviews import table_key
from services.access import local_admin
from services.database import Database, open_database
from services.reviews import create_program, save_consensus, start_review

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    database = open_database(url)
    yield database
    database.dispose()


def agreed(db: Database, scale_id: str, model: str, rated: int) -> int:
    """A review whose first `rated` items have the consensus rating 4."""
    program = create_program(db, f"Team {scale_id}", actor=local_admin("test"), model=model)
    review = start_review(
        db,
        program.id,
        scale_id,
        "1.0",
        dt.date(2026, 3, 2),
        "baseline",
        ("Ana", "Ben"),
        actor=local_admin("test"),
    )
    for item_id in db.registry.get(scale_id, "1.0").item_ids[:rated]:
        save_consensus(db, review.id, item_id, expected_version=0, actor=local_admin("test"), rating=4)
    return review.id


def open_page(page: str, review_id: int | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if review_id is not None:
        at.query_params["review"] = str(review_id)
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def test_results_warns_beside_a_band_read_from_some_items_only(db: Database) -> None:
    at = open_page("results", agreed(db, "dacts", "ACT", 25))
    assert any(m.label == "Band" and m.value != "—" for m in at.metric)
    assert any(
        "3 of 28 items are unrated: the band reads only the rated items" in w.value for w in at.warning
    )


def test_results_has_no_such_warning_when_every_item_is_rated(db: Database) -> None:
    at = open_page("results", agreed(db, "dacts", "ACT", 28))
    assert not any("items are unrated" in w.value for w in at.warning)


def test_reviews_list_warns_beside_the_band_and_shows_iddts_sum(db: Database) -> None:
    partial = agreed(db, "dacts", "ACT", 25)
    iddt = agreed(db, "iddt", "IDDT", 14)
    at = open_page("reviews")
    # The review chosen by its row is named above its links, labelled as the choosers label it.
    partial_label = open_review_line(choose_row(at, partial))
    assert f"#{partial} Team dacts" in partial_label and "(⚠ 3 of 28 items unrated)" in partial_label
    iddt_label = open_review_line(choose_row(at, iddt))
    assert f"#{iddt} Team iddt" in iddt_label
    assert "· sum 56 ·" in iddt_label and "mean" not in iddt_label
    table = at.dataframe[0].value
    assert table.loc[table["id"] == partial, "band"].iloc[0].endswith("(⚠ 3 of 28 items unrated)")


def choose_row(at: AppTest, review_id: int) -> AppTest:
    """Choose the review's row in the Reviews list, as a click on it does."""
    ids = list(at.dataframe[0].value["id"])
    at.session_state[table_key(ids)] = {
        "selection": {"rows": [ids.index(review_id)], "columns": [], "cells": []}
    }
    return at.run()


def open_review_line(at: AppTest) -> str:
    """The line naming the review open, above its links (Markdown: unescaped here)."""
    (line,) = [m.value for m in at.markdown if "choose a row to open another" in m.value]
    return str(line).replace("\\", "")
