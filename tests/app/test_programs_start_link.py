"""Programs: the newest program is in sight, and "Start a review" preselects the program chosen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from services import reviews as svc
from services.access import local_admin
from services.database import Database, open_database

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    database = open_database(url)
    yield database
    database.dispose()


def links(at: AppTest) -> dict[str, str]:
    return {link.proto.label: link.proto.query_string for link in at.get("page_link")}


def test_the_newest_program_heads_the_table_and_a_selected_row_is_preselected(db: Database) -> None:
    ids = {}
    for name in ["Alpha ACT", "Beta ACT", *[f"Team {i:02d}" for i in range(12)], "Zulu ACT"]:
        ids[name] = svc.create_program(db, name, actor=local_admin("admin"), model="ACT").id
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/programs.py").run()
    assert not at.exception
    assert at.dataframe[0].value["name"].iloc[0] == "Zulu ACT"  # added last: first, not 15th
    assert "Start a review of one of them" not in links(at)
    at.session_state["programs_table"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    picked = at.dataframe[0].value["name"].iloc[1]
    assert links(at) == {f"Start a review of {picked}": f"program={ids[picked]}"}
    at.switch_page("app_pages/reviews.py").run()  # the link's page, as a click opens it
    at.query_params["program"] = str(ids[picked])
    at.run()
    assert at.selectbox(key="reviews_start_program").value == ids[picked]


def test_the_only_program_shown_is_the_one_to_start(db: Database) -> None:
    hill = svc.create_program(db, "Hilltop ACT", actor=local_admin("admin"), model="ACT")
    svc.create_program(db, "Riverside ACT", actor=local_admin("admin"), model="ACT")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/programs.py").run()
    at.text_input(key="programs_search").input("hill").run()
    assert links(at) == {"Start a review of Hilltop ACT": f"program={hill.id}"}
