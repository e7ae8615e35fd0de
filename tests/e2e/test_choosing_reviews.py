"""Choosing a review in a real browser: by its row on Reviews, then another in the chooser popover
of Results."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from services.access import LOCAL_ADMIN
from services.database import open_database
from services.demo import build_demo
from services.reviews import list_reviews
from tests.e2e.conftest import AppServer, screenshot, wait_for_app


def test_a_review_chosen_by_its_row_opens_and_another_is_chosen_in_the_popover(
    app_server: AppServer, page: Page
) -> None:
    with open_database(app_server.database_url) as db:
        build_demo(db)
        newest, second = list_reviews(db, actor=LOCAL_ADMIN, limit=2)
    page.set_viewport_size({"width": 1400, "height": 1600})

    page.goto(app_server.url)  # Reviews, the start page
    wait_for_app(page)
    # No row chosen: the newest review is named above its links.
    expect(page.get_by_text(f"#{newest.id} {newest.program}").first).to_be_visible()
    grid = page.locator("[data-testid='stDataFrame']").first.locator("canvas").first
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 + 17)  # the row marker of row 2
    wait_for_app(page)
    expect(page.get_by_text(f"#{second.id} {second.program}").first).to_be_visible()
    screenshot(page, "reviews-row-chosen")

    page.get_by_test_id("stMainBlockContainer").get_by_role("link", name="Results").click()
    page.wait_for_url(re.compile(rf".*/results\?review={second.id}"))
    wait_for_app(page)
    expect(page.get_by_role("heading", name=second.program)).to_be_visible()

    # The chooser names the review open; opened, it lists the others; a pick opens it.
    chooser = page.get_by_role("button", name=re.compile(rf"Review: #{second.id} "))
    expect(chooser).to_be_visible()
    chooser.click()
    page.get_by_label("Review", exact=True).click()
    option = page.get_by_role("option", name=re.compile(rf"^#{newest.id} "))
    option.wait_for()
    option.click()
    page.wait_for_url(re.compile(rf".*/results\?review={newest.id}"))
    wait_for_app(page)
    expect(page.get_by_role("heading", name=newest.program)).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(rf"Review: #{newest.id} "))).to_be_visible()
    screenshot(page, "results-chooser")

    # A reload opens the same review (it is in the URL).
    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name=newest.program)).to_be_visible()
