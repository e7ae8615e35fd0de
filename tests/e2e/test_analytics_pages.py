"""The Drift and Compare pages in a real browser, on the demo agency."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from services.database import open_database
from services.demo import DRIFT_BANDS, DRIFTING_PROGRAM, build_demo
from tests.e2e.conftest import AppServer, screenshot, wait_for_app


def open_tab(page: Page, name: str) -> None:
    """Open a view or section: a button of the page's segmented controls (one row of buttons)."""
    page.locator("[data-testid='stButtonGroup'] button").filter(
        has_text=re.compile(f"^{re.escape(name)}$")
    ).click()
    wait_for_app(page)


def test_drift_and_compare_show_the_demo_agency(app_server: AppServer, page: Page) -> None:
    with open_database(app_server.database_url) as db:
        build_demo(db)

    # Streamlit scrolls inside its own container, so a tall window is what shows the whole page.
    page.set_viewport_size({"width": 1400, "height": 2000})

    # Drift opens on the agency: which programs drift, the one whose band fell named first.
    page.goto(f"{app_server.url}/drift")
    wait_for_app(page)
    expect(page.get_by_text("Band fell since the previous review").first).to_be_visible()
    tables = page.locator("[data-testid='stDataFrame']")
    expect(tables).to_have_count(1)
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(0)  # only the open tab is drawn
    screenshot(page, "drift-agency")

    # Choosing the table's first row (the worst drift) opens that program in the Program tab.
    grid = tables.first.locator("canvas").first
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the row marker of row 1, under the header
    wait_for_app(page)
    expect(page.get_by_text(f"Band fell: {DRIFT_BANDS[0]} → {DRIFT_BANDS[1]}").first).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(re.escape(DRIFTING_PROGRAM)))).to_be_visible()
    expect(page.get_by_text("6 items fell").first).to_be_visible()
    expect(tables).to_have_count(1)  # the falls, with both reviews' evidence
    page.wait_for_url(re.compile(r".*view=Program.*"))
    screenshot(page, "drift")

    open_tab(page, "Scores over time")
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(1)
    expect(tables).to_have_count(0)
    open_tab(page, "Every fall")
    expect(tables).to_have_count(1)

    # A reload keeps the program and its tab (both in the URL).
    page.reload()
    wait_for_app(page)
    expect(page.get_by_text(f"Band fell: {DRIFT_BANDS[0]} → {DRIFT_BANDS[1]}").first).to_be_visible()

    # Compare ranks the latest reviews; its tabs list the programs below full implementation.
    page.goto(f"{app_server.url}/compare")
    wait_for_app(page)
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(1)  # the ranking
    open_tab(page, "Programs below")
    expect(page.get_by_text("Programs whose latest review is below Full implementation")).to_be_visible()
    expect(tables).to_have_count(1)
    page.wait_for_url(re.compile(r".*view=Programs(\+|%20)below.*"))
    open_tab(page, "Providers below")
    expect(page.get_by_text("Providers with programs below Full implementation")).to_be_visible()
    open_tab(page, "Items")
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(1)  # the item heatmap
    page.wait_for_timeout(500)  # let the chart finish drawing
    screenshot(page, "compare")

    # Choosing a program by name there opens its drift view.
    open_tab(page, "Ranking")
    page.get_by_role("button", name="Open a program's drift").click()
    wait_for_app(page)
    page.get_by_label("Program", exact=True).click()
    option = page.get_by_role("option", name=DRIFTING_PROGRAM, exact=True)
    option.wait_for()
    option.click()
    page.wait_for_url(re.compile(r".*/drift\?.*program=\d+"))
    wait_for_app(page)
    expect(page.get_by_text(f"Band fell: {DRIFT_BANDS[0]} → {DRIFT_BANDS[1]}").first).to_be_visible()
