"""Issue 21's Done when, in real browsers: a reviewer checks a review out on the agency server,
rates it on a laptop (a second app on its own SQLite database, loopback only), exports the
field copy, the server checks it in and the reviewer settles the one conflict side by side."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from services.access import acting_for, local_admin
from services.database import open_database
from services.reviews import create_program, get_review, save_rating, start_review
from tests.e2e.conftest import AppServer, screenshot, wait_for_app

ANA = acting_for(local_admin(), "Ana")


@pytest.fixture
def laptop(tmp_path: Path) -> Iterator[AppServer]:
    folder = tmp_path / "laptop"
    folder.mkdir()
    server = AppServer(f"sqlite:///{folder / 'fidelity.db'}", folder)
    server.start()
    yield server
    server.kill()


def download(page: Page, button: str, folder: Path) -> Path:
    page.get_by_text("Field copy (rate without a network)").click()
    page.get_by_role("button", name=button).click()
    wait_for_app(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def upload(page: Page, url: str, package: Path) -> None:
    page.goto(f"{url}/import")
    wait_for_app(page)
    page.locator(".st-key-field-package-upload [data-testid='stFileUploaderDropzoneInput']").set_input_files(
        str(package)
    )
    wait_for_app(page)
    page.get_by_role("button", name="Open or check in the package").click()
    wait_for_app(page)


def test_check_out_rate_in_the_field_check_in_and_settle_the_conflict(
    app_server: AppServer, laptop: AppServer, page: Page, tmp_path: Path
) -> None:
    page.set_default_timeout(60_000)  # two apps at once on a shared machine
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
            actor=local_admin(),
        )
        save_rating(db, review.id, "Ana", "H3", rating=3, actor=ANA)

    # The agency server: Ana checks the review out from its Rate page.
    page.goto(f"{app_server.url}/rate?review={review.id}&rater=Ana&item=H3")
    wait_for_app(page)
    package = download(page, "Check out for the field", tmp_path)

    # The laptop: its own app and database; the package opens on the Import page.
    upload(page, laptop.url, package)
    expect(page.get_by_text("Opened as review 1 on this computer")).to_be_visible()
    page.goto(f"{laptop.url}/rate?review=1&rater=Ana&item=H3")
    wait_for_app(page)
    expect(page.get_by_text("This review is a field copy: review")).to_be_visible()
    expect(page.get_by_text("Saved rating: 3 (rated)")).to_be_visible()
    page.get_by_role("radiogroup", name="Rating").get_by_text("4", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_text("Saved rating: 4 (rated)")).to_be_visible()
    screenshot(page, "field-01-laptop-field-copy")
    export = download(page, "Export the field copy", tmp_path)

    # Meanwhile at the office, H3 was changed on the server too.
    with open_database(app_server.database_url) as db:
        save_rating(db, review.id, "Ana", "H3", rating=2, note="office correction", actor=ANA)

    upload(page, app_server.url, export)
    expect(page.get_by_text("1 conflict(s) to settle")).to_be_visible()
    conflict = page.locator("[class*='st-key-field-conflict-']").first
    expect(conflict.get_by_text("Server value: 2; note: office correction")).to_be_visible()
    expect(conflict.get_by_text("Field value: 4")).to_be_visible()
    expect(conflict.get_by_text("saved by Ana at").first).to_be_visible()
    screenshot(page, "field-02-checkin-conflict")
    with open_database(app_server.database_url) as db:  # nothing overwritten before the choice
        assert get_review(db, review.id, actor=ANA).ratings["Ana"]["H3"].rating == 2

    conflict.get_by_role("button", name="Use the field value").click()
    wait_for_app(page)
    expect(page.locator("[class*='st-key-field-conflict-']")).to_have_count(0)
    with open_database(app_server.database_url) as db:
        assert get_review(db, review.id, actor=ANA).ratings["Ana"]["H3"].rating == 4
