"""The review chooser of the Rate, Consensus and Results pages: a popover labelled with the review
open, whose list (a page of reviews at a time) is drawn only while it is open."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.markup import md
from app_pages.shared import CHOOSER_OPEN, CHOOSER_PAGE, CHOOSER_PICK, review_label
from services.access import local_admin
from services.database import Database, open_database
from services.reviews import create_program, list_reviews, start_review

APP = str(Path(__file__).resolve().parents[2] / "app.py")
ADMIN = local_admin("test")
REVIEWS = CHOOSER_PAGE + 5  # two pages in the chooser


@pytest.fixture
def agency(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, list[int]]]:
    """REVIEWS draft reviews, one program each (the subheader names the review's program)."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    with open_database(url) as db:
        ids = []
        for n in range(REVIEWS):
            program = create_program(db, f"Team {n:02d}", actor=ADMIN, model="ACT")
            review = start_review(
                db, program.id, "dacts", "1.0", dt.date(2026, 1, 1) + dt.timedelta(days=n), "baseline",
                ("Ana", "Ben"), actor=ADMIN,
            )  # fmt: skip
            ids.append(review.id)
        yield db, ids


def label(db: Database, review_id: int) -> str:
    (summary,) = list_reviews(db, actor=ADMIN, review_id=review_id)
    return review_label(summary, db.registry)


def results_page(review: int | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if review is not None:
        at.query_params["review"] = str(review)
    at.run()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception
    return at


def chooser_label(at: AppTest) -> str:
    (box,) = [p for p in at.get("popover") if p.proto.popover.label.startswith("Review: ")]
    return str(box.proto.popover.label)


def program_shown(at: AppTest) -> str:
    return str(at.subheader[0].value)


def test_closed_the_chooser_names_the_review_open_and_lists_nothing(
    agency: tuple[Database, list[int]],
) -> None:
    db, ids = agency
    at = results_page()
    newest = max(ids)  # no review asked for: the newest opens
    assert chooser_label(at) == md(f"Review: {label(db, newest)}")
    assert program_shown(at) == f"Team {REVIEWS - 1:02d}"
    assert at.query_params["review"] == str(newest)
    assert not at.selectbox and not at.number_input  # its list and page number: drawn when opened


def test_a_review_picked_in_the_chooser_opens_and_the_chooser_closes(
    agency: tuple[Database, list[int]],
) -> None:
    db, ids = agency
    at = results_page()
    at.session_state[CHOOSER_OPEN] = True  # a click on the chooser
    at.run()
    pick = at.selectbox(key=CHOOSER_PICK)
    assert len(pick.options) == CHOOSER_PAGE and pick.value == max(ids)  # the newest page, the review open
    assert at.caption[0].value == f"Reviews 1–{CHOOSER_PAGE} of {REVIEWS} (2 pages)."
    other = sorted(ids)[-7]
    pick.set_value(other).run()
    assert not at.exception
    assert program_shown(at) == f"Team {ids.index(other):02d}"
    assert at.query_params["review"] == str(other)  # a reload or a shared link opens it too
    assert not at.session_state[CHOOSER_OPEN] and not at.selectbox  # closed again
    assert chooser_label(at) == md(f"Review: {label(db, other)}")
    at.run()  # and stays open on the next run, the popover closed
    assert program_shown(at) == f"Team {ids.index(other):02d}" and not at.selectbox


def test_a_review_on_another_page_of_the_list_stays_chosen(agency: tuple[Database, list[int]]) -> None:
    _, ids = agency
    oldest = min(ids)  # on the chooser's second page
    at = results_page(oldest)
    assert program_shown(at) == "Team 00"
    at.session_state[CHOOSER_OPEN] = True
    at.run()
    pick = at.selectbox(key=CHOOSER_PICK)
    # The first page of the list, with the review open first (it is not on this page).
    assert pick.value == oldest and pick.options[0] == pick.format_func(oldest)
    assert len(pick.options) == CHOOSER_PAGE + 1
    at.number_input[0].set_value(2).run()  # the second page, where it is
    pick = at.selectbox(key=CHOOSER_PICK)
    assert len(pick.options) == REVIEWS - CHOOSER_PAGE and pick.value == oldest
    assert program_shown(at) == "Team 00"  # paging the list opens nothing


def test_the_review_chosen_on_one_page_opens_on_the_next(agency: tuple[Database, list[int]]) -> None:
    _, ids = agency
    chosen = sorted(ids)[3]
    at = results_page(chosen)
    at.query_params.pop("review")  # a page link without ?review=: the review last open
    at.switch_page("app_pages/rate.py").run()
    assert not at.exception
    assert f"#{chosen} Team 03" in at.get("popover")[0].proto.popover.label.replace("\\", "")
