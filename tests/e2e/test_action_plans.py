"""The Action plans page in a real browser, on the demo agency: an entry is chosen by its row in
the table, updated and saved; the filters are in a popover whose label names them."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import Page, expect

from services import action_plans
from services.access import LOCAL_ADMIN
from services.database import open_database
from services.demo import build_demo
from tests.e2e.conftest import AppServer, screenshot, wait_for_app


def test_an_entry_chosen_by_its_row_is_updated_and_the_filters_are_named(
    app_server: AppServer, page: Page
) -> None:
    with open_database(app_server.database_url) as db:
        build_demo(db)
        today = dt.datetime.now(dt.UTC).date()  # as the page lists them
        first = action_plans.list_entries(db, actor=LOCAL_ADMIN, today=today)[0]
    page.set_viewport_size({"width": 1400, "height": 2000})
    page.goto(f"{app_server.url}/action-plans")
    wait_for_app(page)
    table = page.locator("[data-testid='stDataFrame']")
    expect(table).to_have_count(1)
    expect(page.get_by_text("Choose an entry's row to update it.")).to_be_visible()
    expect(page.locator("[data-testid='stForm']")).to_have_count(0)  # no editor until a row is chosen

    grid = table.first.locator("canvas").first
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the row marker of row 1, under the header
    wait_for_app(page)
    expect(page.get_by_role("heading", name=f"Update entry #{first.id}: {first.program}")).to_be_visible()
    owner = page.get_by_label("Owner (a person at the program)")
    owner.fill("Dana Here")
    page.get_by_role("button", name="Save").click()
    wait_for_app(page)
    expect(page.get_by_text("Saved at")).to_be_visible()
    # Still the same entry under the editor, with what was saved.
    expect(page.get_by_role("heading", name=f"Update entry #{first.id}: {first.program}")).to_be_visible()
    expect(page.get_by_label("Owner (a person at the program)")).to_have_value("Dana Here")
    with open_database(app_server.database_url) as db:
        saved = next(
            e for e in action_plans.list_entries(db, actor=LOCAL_ADMIN, today=today) if e.id == first.id
        )
    assert saved.owner == "Dana Here"
    screenshot(page, "action-plans")

    # The filters, in their popover: the label names the one chosen once it is closed.
    page.get_by_role("button", name="Filters").click()
    wait_for_app(page)
    page.get_by_label("Provider", exact=True).click()
    page.get_by_role("option", name=first.provider, exact=True).click()
    wait_for_app(page)
    page.keyboard.press("Escape")  # closes the popover
    wait_for_app(page)
    expect(page.get_by_role("button", name=f"Filters: Provider: {first.provider}")).to_be_visible()
