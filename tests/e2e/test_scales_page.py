"""The scale browser in a real browser."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.e2e.conftest import AppServer, screenshot, wait_for_app


def test_scales_page_shows_every_scale(app_server: AppServer, page: Page) -> None:
    page.goto(f"{app_server.url}/scales")
    wait_for_app(page)
    page.get_by_text("Dartmouth Assertive Community Treatment Scale (DACTS)").first.wait_for()
    page.get_by_text("Integrated Dual Disorder Treatment (IDDT) Fidelity Scale — 1.0").click()
    wait_for_app(page)
    page.get_by_text("I1 Multidisciplinary team").first.wait_for()
    screenshot(page, "scales")
