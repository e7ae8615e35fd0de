"""The review as reviewers live it, in a real browser: independent rating until both raters
submit, one finalize message cleared by one batch action, a computed rating shown selected
and overridden only with a reason (issue 18)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from services.access import acting_for, local_admin
from services.database import open_database
from services.errors import AccessDenied
from services.reviews import (
    create_program,
    get_review,
    live_score,
    open_consensus,
    save_consensus,
    save_rating,
    start_review,
)
from tests.e2e.conftest import AppServer, screenshot, wait_for_app

BEN_NOTE = "Ben saw a caseload of 14 per FTE"


@pytest.fixture
def review_id(app_server: AppServer) -> int:
    """A draft DACTS review of Ana and Ben; Ben has rated H2 with a note."""
    with open_database(app_server.database_url) as db:
        program = create_program(db, "Riverside ACT", actor=local_admin("test"), model="ACT")
        review = start_review(
            db,
            program.id,
            "dacts",
            "1.0",
            dt.date(2026, 3, 2),
            "baseline",
            ("Ana", "Ben"),
            actor=local_admin("t"),
        )
        save_rating(
            db, review.id, "Ben", "H2", rating=2, note=BEN_NOTE, actor=acting_for(local_admin(), "Ben")
        )
        return review.id


def test_a_rater_cannot_see_the_other_raters_ratings_before_both_submit(
    app_server: AppServer, page: Page, review_id: int
) -> None:
    page.goto(f"{app_server.url}/rate?review={review_id}&rater=Ana&item=H2")
    wait_for_app(page)
    expect(page.get_by_text("You are the local admin (no sign-in)")).to_be_visible()
    page.get_by_role("radiogroup", name="Rating").get_by_text("4", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_text("Saved rating: 4 (rated)")).to_be_visible()
    expect(page.get_by_text(BEN_NOTE)).to_have_count(0)
    # The service refuses the read too: Ana's window cannot get Ben's ratings.
    with open_database(app_server.database_url) as db:
        ana = acting_for(local_admin(), "Ana")
        assert get_review(db, review_id, actor=ana).ratings["Ben"] == {}
        with pytest.raises(AccessDenied, match="Ben's ratings show once every rater has submitted"):
            live_score(db, review_id, "Ben", actor=ana)

    page.get_by_role("button", name="Submit Ana's ratings").click()
    wait_for_app(page)
    expect(page.get_by_text("Ana submitted their ratings")).to_be_visible()
    expect(page.get_by_text("The consensus opens when Ben submit(s).")).to_be_visible()
    page.goto(f"{app_server.url}/consensus?review={review_id}")
    wait_for_app(page)
    expect(page.get_by_text("opens when every rater has submitted")).to_be_visible()
    expect(page.get_by_text("Exact agreement")).to_have_count(0)
    expect(page.get_by_text(BEN_NOTE)).to_have_count(0)
    screenshot(page, "blind-01-consensus-waits")

    page.goto(f"{app_server.url}/rate?review={review_id}&rater=Ben")
    wait_for_app(page)
    page.get_by_role("button", name="Submit Ben's ratings").click()
    wait_for_app(page)
    page.goto(f"{app_server.url}/consensus?review={review_id}&item=H2")
    wait_for_app(page)
    expect(page.get_by_text("Exact agreement")).to_be_visible()
    expect(page.get_by_text(BEN_NOTE)).to_be_visible()


def test_finalize_with_unrated_items_shows_one_message_and_the_batch_action_clears_it(
    app_server: AppServer, page: Page, review_id: int
) -> None:
    with open_database(app_server.database_url) as db:
        open_consensus(db, review_id, "the site visit was cut short", actor=local_admin("lead"))
        for item_id in ("H1", "H2", "H3"):
            save_consensus(db, review_id, item_id, expected_version=0, rating=4, actor=local_admin("lead"))
    page.goto(f"{app_server.url}/consensus?review={review_id}")
    wait_for_app(page)
    page.get_by_role("button", name="Finalize this review").click()
    wait_for_app(page)
    errors = page.locator("[data-testid='stAlertContentError']")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("cannot be finalized yet: 25 item(s)")
    expect(errors.get_by_role("link", name="H4 Practicing team leader")).to_have_attribute(
        "href", re.compile(rf"consensus\?review={review_id}&item=H4$")
    )
    screenshot(page, "blind-02-finalize-blocked")

    page.get_by_label("Reason they cannot be rated (one reason for all of them)").fill("No records on site")
    page.get_by_label("Reason they cannot be rated (one reason for all of them)").press("Tab")
    wait_for_app(page)
    page.get_by_role("button", name="Mark all 25 not rated").click()
    wait_for_app(page)
    expect(page.get_by_text("Saved: 25 item(s) marked not rated")).to_be_visible()
    page.get_by_role("button", name="Finalize this review").click()
    page.wait_for_url(re.compile(rf".*/results\?.*review={review_id}"))
    wait_for_app(page)


def test_a_computed_rating_appears_selected_and_an_override_needs_a_reason(
    app_server: AppServer, page: Page, review_id: int
) -> None:
    page.goto(f"{app_server.url}/rate?review={review_id}&rater=Ana&item=H1")
    wait_for_app(page)
    for label, value in (
        ("Active clients", "96"),
        ("Clinical staff FTE (psychiatrist and program assistant excluded)", "9.5"),
    ):
        page.get_by_label(label, exact=True).fill(value)
        page.get_by_label(label, exact=True).press("Enter")
        wait_for_app(page)
    rating = page.get_by_role("radiogroup", name="Rating")
    expect(rating.get_by_role("radio", name="5")).to_be_checked()
    rating.get_by_text("3", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_text("is an override and needs a reason")).to_be_visible()
    page.get_by_role("button", name="Override with 3").click()
    wait_for_app(page)
    expect(page.get_by_text("reason for overriding the computed rating")).to_be_visible()
    expect(page.get_by_text("Saved rating: 5 (computed)")).to_be_visible()
    page.get_by_label("Reason for the override").fill("FTE counts two vacancies")
    page.get_by_label("Reason for the override").press("Tab")
    wait_for_app(page)
    page.get_by_role("button", name="Override with 3").click()
    wait_for_app(page)
    expect(page.get_by_text("Saved rating: 3 (override: FTE counts two vacancies)")).to_be_visible()
    screenshot(page, "blind-03-override")
