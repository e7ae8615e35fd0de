"""The Results page draws what it shows in full: a rating of 1 as a bar, the evidence wrapped."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from services.access import local_admin
from services.database import Database, open_database
from services.reviews import create_program, save_consensus, start_review

APP = str(Path(__file__).resolve().parents[2] / "app.py")
EVIDENCE = "Caseload records for March and April were read with the team leader; " * 4


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    with open_database(url) as db:
        review_id = rated_one(db)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["review"] = str(review_id)
    at.run()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception
    yield at


def rated_one(db: Database) -> int:
    program = create_program(db, "Riverside ACT", actor=local_admin("test"), model="ACT")
    review = start_review(
        db,
        program.id,
        "dacts",
        "1.0",
        dt.date(2026, 3, 2),
        "baseline",
        ("Ana", "Ben"),
        actor=local_admin("test"),
    )
    for item_id, rating in {"H2": 1, "H3": 4}.items():
        save_consensus(
            db,
            review.id,
            item_id,
            expected_version=0,
            actor=local_admin("test"),
            rating=rating,
            evidence=EVIDENCE,
        )
    return review.id


def test_a_rating_of_1_draws_a_bar(results: AppTest) -> None:
    for chart in results.get("vega_lite_chart"):
        bars = json.loads(chart.proto.spec)["layer"][0]
        start = bars["encoding"]["x2"]["datum"]
        assert bars["encoding"]["x"]["scale"]["domain"][0] == start
        assert start < 1  # a bar from `start` to 1 has a length: a rating of 1 is seen


def test_the_items_evidence_wraps_instead_of_being_cut(results: AppTest) -> None:
    table = results.dataframe[0]
    assert table.value["evidence"].iloc[1] == EVIDENCE.strip()  # H2, the whole text
    columns = json.loads(table.proto.columns)
    assert columns["evidence"]["width"] == "large"
    assert table.proto.row_height > 64  # Glide wraps a cell's text only in rows taller than 4rem
