"""A whole DACTS review in a real browser, with the server killed and restarted mid-review."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from services.access import local_admin
from services.database import open_database
from services.reviews import get_review, list_programs, save_rating
from tests.e2e.conftest import AppServer, screenshot, wait_for_app


def rating_group(page: Page, label: str) -> Locator:
    return page.get_by_role("radiogroup", name=label)


def enter_number(page: Page, label: str, value: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")


def rate_current_item(page: Page, rating: str) -> None:
    rating_group(page, "Rating").get_by_text(rating, exact=True).click()


def next_item(page: Page) -> None:
    page.get_by_role("button", name="Next ▶").click()
    wait_for_app(page)


def add_the_team(app_server: AppServer, page: Page) -> None:
    """Programs: add the team."""
    page.goto(f"{app_server.url}/programs")
    wait_for_app(page)
    screenshot(page, "01-programs-empty")
    page.get_by_label("Program name", exact=True).first.fill("Zoë Núñez ACT Team")
    page.get_by_label("…or a new provider", exact=True).first.fill("Northfield Behavioral Health")
    page.get_by_label("Region", exact=True).first.fill("North")
    page.get_by_role("button", name="Add program").click()
    wait_for_app(page)
    expect(page.get_by_text("Zoë Núñez ACT Team").first).to_be_attached()  # a data-grid cell
    screenshot(page, "02-programs")

def start_a_review(app_server: AppServer, page: Page) -> None:
    """Reviews: start a DACTS review with two raters; the app opens the Rate page."""
    page.goto(app_server.url)  # Reviews is the start page
    wait_for_app(page)
    page.get_by_label("Rater 1", exact=True).fill("Ana")
    page.get_by_label("Rater 2", exact=True).fill("Ben")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_url(re.compile(r".*/rate\?.*review=1"))
    wait_for_app(page)
    screenshot(page, "03-rate-new")

def ana_rates(page: Page) -> None:
    """Ana rates H1 from numbers (a computed item), H2 from a percentage, and H3 by judgement."""
    expect(rating_group(page, "Rating as").get_by_text("Ana", exact=True)).to_be_visible()
    enter_number(page, "Active clients", "96")
    wait_for_app(page)
    enter_number(page, "Clinical staff FTE (psychiatrist and program assistant excluded)", "9.5")
    expect(
        page.get_by_text(re.compile(r"10\.1053 clients per FTE → rounded to 10 → rating 5"))
    ).to_be_visible()
    next_item(page)
    page.get_by_label(re.compile(r"^% of clients")).first.fill("95")
    page.get_by_label(re.compile(r"^% of clients")).first.press("Enter")
    expect(page.get_by_text(re.compile(r"→ rating 5"))).to_be_visible()
    next_item(page)
    rate_current_item(page, "4")
    expect(page.get_by_text(re.compile("Saved at"))).to_be_visible()
    note = page.get_by_label("Evidence note")
    note.fill("Daily meeting observed; every client reviewed")
    note.press("Tab")
    wait_for_app(page)
    expect(page.get_by_text("Saved rating: 4 (rated)")).to_be_visible()
    screenshot(page, "04-rate-ana")

def ben_rates(page: Page) -> None:
    """Ben rates H3 and H1 (he starts on the item Ana is on)."""
    rating_group(page, "Rating as").get_by_text("Ben", exact=True).click()
    wait_for_app(page)
    rate_current_item(page, "4")
    expect(page.get_by_text(re.compile("Saved at"))).to_be_visible()
    page.get_by_role("button", name="◀ Previous").click()
    wait_for_app(page)
    page.get_by_role("button", name="◀ Previous").click()
    wait_for_app(page)
    enter_number(page, "Active clients", "96")
    wait_for_app(page)
    enter_number(page, "Clinical staff FTE (psychiatrist and program assistant excluded)", "9.5")
    expect(page.get_by_text(re.compile(r"→ rating 5"))).to_be_visible()

def survive_a_server_kill(app_server: AppServer, page: Page) -> None:
    """The server dies (SIGKILL) and comes back; a reload shows everything entered."""
    app_server.kill()
    app_server.start()
    page.reload()
    wait_for_app(page)
    expect(page.get_by_label("Active clients")).to_have_value("96")
    expect(
        page.get_by_label("Clinical staff FTE (psychiatrist and program assistant excluded)")
    ).to_have_value(re.compile(r"^9\.50?$"))
    expect(page.get_by_text("Saved rating: 5 (computed)")).to_be_visible()
    next_item(page)
    next_item(page)
    expect(page.get_by_text("Saved rating: 4 (rated)")).to_be_visible()
    rating_group(page, "Rating as").get_by_text("Ana", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_label("Evidence note")).to_have_value("Daily meeting observed; every client reviewed")
    screenshot(page, "05-rate-after-restart")

def seed_the_rest(app_server: AppServer) -> None:
    """The stored entries, and the rest of the site visit seeded through the service."""
    db = open_database(app_server.database_url)
    try:
        review = get_review(db, 1, actor=local_admin())
        assert review.ratings["Ana"]["H1"].rating == 5 and review.ratings["Ben"]["H1"].rating == 5
        assert review.ratings["Ana"]["H1"].inputs == {"clients": 96, "staff_fte": 9.5}
        assert review.ratings["Ana"]["H2"].rating == 5
        assert review.ratings["Ana"]["H3"].rating == 4 and review.ratings["Ben"]["H3"].rating == 4
        assert [p.name for p in list_programs(db, actor=local_admin())] == ["Zoë Núñez ACT Team"]
        # The rest of the site visit, entered the same way, is seeded through the service.
        scale = db.registry.get("dacts", "1.0")
        for item_id in scale.item_ids:
            for rater in ("Ana", "Ben"):
                if (
                    review.ratings[rater].get(item_id) is None
                    or review.ratings[rater][item_id].rating is None
                ):
                    rating = 5 if item_id == "H2" else 4
                    save_rating(db, 1, rater, item_id, actor=local_admin("test"), rating=rating)
    finally:
        db.dispose()

def both_submit(app_server: AppServer, page: Page) -> None:
    """Each rater submits (the local admin acts for each in turn); the consensus then opens."""
    for rater in ("Ana", "Ben"):
        page.goto(f"{app_server.url}/rate?review=1&rater={rater}")
        wait_for_app(page)
        expect(page.get_by_text(re.compile(r"\b0\b item\(s\) left unrated"))).to_be_visible()
        page.get_by_role("button", name=f"Submit {rater}'s ratings").click()
        wait_for_app(page)
        expect(page.get_by_text(f"{rater} submitted their ratings")).to_be_visible()


def agree_and_finalize(app_server: AppServer, page: Page) -> None:
    """Consensus: accept the agreed ratings, then finalize."""
    page.goto(f"{app_server.url}/consensus?review=1")
    wait_for_app(page)
    expect(page.get_by_text("Exact agreement")).to_be_visible()
    page.get_by_role("button", name="Accept every rating both raters agree on").click()
    wait_for_app(page)
    expect(page.get_by_test_id("stToastText").get_by_text(re.compile(r"28 agreed item\(s\) accepted"))).to_be_visible()
    screenshot(page, "06-consensus")
    page.get_by_role("button", name="Finalize this review").click()
    page.wait_for_url(re.compile(r".*/results\?.*review=1"))
    wait_for_app(page)

def read_the_results(page: Page) -> None:
    """Results: total and band. H1, H2 rate 5 and the other 26 items 4: 114 / 28 = 4.07."""
    expect(page.get_by_text("Full implementation").first).to_be_visible()
    expect(page.get_by_text("4.07").first).to_be_visible()
    screenshot(page, "07-results")


def find_it_on_reviews(app_server: AppServer, page: Page) -> None:
    """Reviews, with a review listed: the list's program is chosen in a popover that then names it;
    the start form is folded away until its box is opened."""
    page.goto(app_server.url)
    wait_for_app(page)
    expect(page.get_by_label("Rater 1", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Program: All programs").click()
    wait_for_app(page)
    page.get_by_label("Program", exact=True).click()
    option = page.get_by_role("option", name="Zoë Núñez ACT Team", exact=True)
    option.wait_for()
    option.click()
    wait_for_app(page)
    expect(page.get_by_role("button", name="Program: Zoë Núñez ACT Team")).to_be_visible()
    expect(page.get_by_label("Program", exact=True)).to_have_count(0)  # the popover closed
    page.get_by_text("Start a review", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_label("Rater 1", exact=True)).to_be_visible()
    screenshot(page, "08-reviews")


def test_a_review_survives_a_server_kill_and_reaches_a_final_score(app_server: AppServer, page: Page) -> None:
    add_the_team(app_server, page)
    start_a_review(app_server, page)
    ana_rates(page)
    ben_rates(page)
    survive_a_server_kill(app_server, page)
    seed_the_rest(app_server)
    both_submit(app_server, page)
    agree_and_finalize(app_server, page)
    read_the_results(page)
    find_it_on_reviews(app_server, page)
