"""The Drift and Compare pages in a real browser, on the demo agency."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from services.database import open_database
from services.demo import DRIFT_BANDS, DRIFTING_PROGRAM, build_demo
from tests.browser.conftest import ROOT, AppServer, screenshot, wait_for_app

pytestmark = pytest.mark.skipif(
    "drift.py" not in (ROOT / "app.py").read_text(encoding="utf-8"),
    reason="app.py does not list the Drift and Compare pages yet",
)


def test_drift_and_compare_show_the_demo_agency(app_server: AppServer, page: Page) -> None:
    with open_database(app_server.database_url) as db:
        build_demo(db)

    # Streamlit scrolls inside its own container, so a tall window is what shows the whole page.
    page.set_viewport_size({"width": 1400, "height": 2600})

    # Drift opens on the program that drifted, with its band change and the items that fell.
    page.goto(f"{app_server.url}/drift")
    wait_for_app(page)
    expect(page.get_by_text(f"Band fell: {DRIFT_BANDS[0]} → {DRIFT_BANDS[1]}").first).to_be_visible()
    expect(page.get_by_text("6 items fell").first).to_be_visible()
    # Tables: the agency, the falls and the low items with both reviews' evidence, every fall.
    expect(page.locator("[data-testid='stDataFrame']")).to_have_count(4)
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(2)
    page.wait_for_timeout(500)  # let the charts finish drawing
    screenshot(page, "drift")

    # Compare ranks the latest reviews and lists the programs below full implementation.
    page.goto(f"{app_server.url}/compare")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Below Full implementation")).to_be_visible()
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(3)
    page.wait_for_timeout(500)
    screenshot(page, "compare")

    # Choosing a program there opens its drift view.
    page.get_by_label("Open a program's drift").click()
    option = page.get_by_role("option", name=DRIFTING_PROGRAM, exact=True)
    option.wait_for()
    option.click()
    wait_for_app(page)
    page.get_by_role("button", name="Open drift").click()
    page.wait_for_url(re.compile(r".*/drift\?program=\d+"))
    wait_for_app(page)
    expect(page.get_by_text(f"Band fell: {DRIFT_BANDS[0]} → {DRIFT_BANDS[1]}").first).to_be_visible()
