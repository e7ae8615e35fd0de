"""Nothing lost, proven (issue 8, point 3): on the Rate page, every entry the page showed as
saved is in the database, through a reload mid-item, two tabs on one review, a server killed
with SIGKILL while saving and a dropped network, and an entry that was not saved is never
shown as saved.

"Shown as saved" is read from the page the way a rater reads it: the item's "Saved at"
confirmation is visible (no "Not saved yet" beside it) while the rating and the note show
some values. A `Ledger` takes such snapshots during each scenario and records every entry
typed or clicked; at the end the database must hold, for every field, the last value shown
as saved, or a value entered after it (an own later entry may replace an earlier one, and an
entry that was never confirmed may or may not have reached the database).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from services.access import local_admin
from services.database import open_database
from services.reviews import RatingView, create_program, get_review, start_review
from tests.e2e.conftest import WAIT_MS, AppServer, screenshot, wait_for_app

RATERS = ("Ana", "Ben")
SAVED = re.compile(r"Saved at \d\d:\d\d:\d\d")
NOT_SAVED = re.compile(r"Not saved yet")

# One atomic read of what the page shows: the item on screen, its rating and note, whether its
# "Saved at" confirmation and "Not saved yet" are visible, and the connection and script state.
SNAPSHOT_JS = """() => {
  const visible = (pattern) => Array.from(document.querySelectorAll(
      "[data-testid='stCaptionContainer'], [data-testid='stAlert']"))
    .some((el) => new RegExp(pattern).test(el.textContent) && el.checkVisibility());
  const choice = (name) => document
    .querySelector(`[role='radiogroup'][aria-label='${name}'] input[type='radio']:checked`)
    ?.closest("label")?.querySelector("[data-testid='stMarkdownContainer']")?.textContent.trim() ?? null;
  const app = document.querySelector("[data-testid='stApp']");
  const heading = Array.from(document.querySelectorAll("h3")).map((h) => h.textContent.trim())
    .find((text) => /^[A-Z]+\\d+ · /.test(text));
  return {
    item: heading ? heading.split(" · ")[0] : null,
    rater: choice("Rating as"),
    rating: choice("Rating"),
    note: document.querySelector("textarea[aria-label='Evidence note']")?.value ?? null,
    saved: visible("Saved at \\\\d\\\\d:\\\\d\\\\d:\\\\d\\\\d"),
    unsaved: visible("Not saved yet"),
    connection: app?.dataset.testConnectionState,
    script: app?.dataset.testScriptState,
  };
}"""


# --- the seeded review and the page ---------------------------------------------------------


@pytest.fixture
def review_id(app_server: AppServer) -> int:
    """A draft DACTS review rated by Ana and Ben, seeded through the service API."""
    with open_database(app_server.database_url) as db:
        program = create_program(db, "Riverside ACT", actor=local_admin("test"), model="ACT")
        review = start_review(
            db, program.id, "dacts", "1.0", dt.date(2026, 3, 2), "baseline", RATERS, actor=local_admin("test")
        )
        return review.id


def open_rate(page: Page, server: AppServer, review_id: int, item: str = "H3", rater: str = "Ana") -> None:
    page.goto(f"{server.url}/rate?review={review_id}&rater={rater}&item={item}")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=re.compile(rf"^{item} · "))).to_be_visible()


def rating_option(page: Page, rating: int) -> Locator:
    return page.get_by_role("radiogroup", name="Rating", exact=True).get_by_text(str(rating), exact=True)


def note_field(page: Page) -> Locator:
    return page.get_by_label("Evidence note", exact=True)


def saved_caption(page: Page) -> Locator:
    return page.get_by_text(SAVED)


def not_saved(page: Page) -> Locator:
    return page.get_by_text(NOT_SAVED).first


def stored(server: AppServer, review_id: int, rater: str, item: str) -> RatingView | None:
    with open_database(server.database_url) as db:
        return get_review(db, review_id, actor=local_admin()).ratings.get(rater, {}).get(item)


# --- the ledger: what was entered, what was shown as saved, and the check against the database --


@dataclass
class Ledger:
    server: AppServer
    review_id: int
    # (rater, item, field) -> the last value shown as saved, and every value entered since
    confirmed: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    entered_since: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)
    confirmations: int = 0

    def entered(self, rater: str, item: str, **values: Any) -> None:
        """An entry was made (clicked or typed); it may or may not reach the database."""
        for name, value in values.items():
            self.entered_since.setdefault((rater, item, name), []).append(value)

    def snapshot(self, page: Page) -> dict[str, Any]:
        return page.evaluate(SNAPSHOT_JS)

    def observe(self, page: Page) -> dict[str, Any]:
        """Read the page; when it shows the item as saved, its rating and note are entries
        shown as saved. Only read from a finished run (or from a page that lost its server,
        which then shows the last run frozen): during a run the screen mixes two runs."""
        shot = self.snapshot(page)
        settled = shot["script"] == "notRunning" or shot["connection"] != "CONNECTED"
        if settled and shot["saved"] and not shot["unsaved"] and shot["item"] and shot["rater"]:
            rating = None if shot["rating"] is None else int(shot["rating"])
            for name, value in (("rating", rating), ("note", shot["note"].strip() or None)):
                key = (shot["rater"], shot["item"], name)
                self.confirmed[key] = value
                self.entered_since.pop(key, None)
            self.confirmations += 1
        return shot

    def shows_saved(self, page: Page) -> bool:
        shot = self.observe(page)
        return bool(shot["saved"] and not shot["unsaved"])

    def check_database(self) -> None:
        """Every entry shown as saved is in the database (or was replaced by a later entry)."""
        with open_database(self.server.database_url) as db:
            ratings = get_review(db, self.review_id, actor=local_admin()).ratings
        keys = set(self.confirmed) | set(self.entered_since)
        problems = []
        for rater, item, name in sorted(keys):
            row = ratings.get(rater, {}).get(item)
            in_db = None if row is None else getattr(row, name)
            allowed = [
                self.confirmed.get((rater, item, name)),
                *self.entered_since.get((rater, item, name), []),
            ]
            if in_db not in allowed:
                problems.append(f"{rater} {item} {name}: database has {in_db!r}, expected one of {allowed!r}")
        assert not problems, "entries lost:\n" + "\n".join(problems)


@pytest.fixture
def ledger(app_server: AppServer, review_id: int) -> Iterator[Ledger]:
    book = Ledger(app_server, review_id)
    yield book
    if app_server.process is not None:  # a test that failed half-way still must not have lost entries
        book.check_database()


def rate(page: Page, ledger: Ledger, rater: str, item: str, rating: int) -> None:
    rating_option(page, rating).click()
    ledger.entered(rater, item, rating=rating)


def write_note(page: Page, ledger: Ledger, rater: str, item: str, text: str, *, commit: bool = True) -> None:
    note = note_field(page)
    note.fill(text)
    if commit:
        note.press("Tab")  # a text area sends its value when it loses focus
        ledger.entered(rater, item, note=text)


def confirm(page: Page, ledger: Ledger) -> None:
    """Wait for the item's "Saved at" confirmation of the last entry and record it."""
    expect(saved_caption(page)).to_be_visible()
    expect(not_saved(page)).to_be_hidden()
    wait_for_app(page)
    # A busy machine may start another run (a widget sync) just now: wait for a settled page.
    page.wait_for_function(
        f"() => {{ const s = ({SNAPSHOT_JS})(); return s.script === 'notRunning' && s.saved && !s.unsaved; }}"
    )
    assert ledger.shows_saved(page), ledger.snapshot(page)


# --- 1. reload mid-item ---------------------------------------------------------------------


def test_reload_mid_item_keeps_everything_shown_as_saved(
    app_server: AppServer, review_id: int, page: Page, ledger: Ledger
) -> None:
    open_rate(page, app_server, review_id)
    expect(saved_caption(page)).to_have_count(0)

    # A rating saved, then a note typed but not sent (still focused): "Not saved yet", never "Saved".
    rate(page, ledger, "Ana", "H3", 4)
    confirm(page, ledger)
    write_note(page, ledger, "Ana", "H3", "Typed, never sent", commit=False)
    expect(not_saved(page)).to_be_visible()
    expect(saved_caption(page)).to_be_hidden()
    assert not ledger.shows_saved(page)
    screenshot(page, "nothing-lost-1-typing")
    page.reload()
    wait_for_app(page)
    ledger.observe(page)
    expect(rating_option(page, 4).locator("xpath=ancestor::label//input")).to_be_checked()
    expect(note_field(page)).to_have_value("")  # the unsent note is gone, and was never shown saved
    ledger.check_database()

    # Entered properly: rating and note confirmed, and after a reload the widgets show them.
    rate(page, ledger, "Ana", "H3", 3)
    confirm(page, ledger)
    write_note(page, ledger, "Ana", "H3", "Meets twice a week; Zoë keeps the minutes")
    confirm(page, ledger)
    page.reload()
    wait_for_app(page)
    expect(rating_option(page, 3).locator("xpath=ancestor::label//input")).to_be_checked()
    expect(note_field(page)).to_have_value("Meets twice a week; Zoë keeps the minutes")
    expect(page.get_by_text("Saved rating: 3 (rated)")).to_be_visible()
    saved = stored(app_server, review_id, "Ana", "H3")
    assert saved is not None and (saved.rating, saved.note) == (
        3,
        "Meets twice a week; Zoë keeps the minutes",
    )
    ledger.check_database()
    assert ledger.confirmations >= 3


# --- 2. two tabs of the same review -----------------------------------------------------------


def second_tab(page: Page, new_context: Callable[[], BrowserContext], sessions: str) -> Page:
    tab = page.context.new_page() if sessions == "same-browser" else new_context().new_page()
    tab.set_default_timeout(WAIT_MS)
    return tab


def expect_rating_shown(page: Page, rating: int) -> None:
    expect(rating_option(page, rating).locator("xpath=ancestor::label//input")).to_be_checked()


@pytest.mark.parametrize("sessions", ["same-browser", "two-browsers"])
def test_two_tabs_on_the_same_item(
    app_server: AppServer,
    review_id: int,
    page: Page,
    new_context: Callable[[], BrowserContext],
    ledger: Ledger,
    sessions: str,
) -> None:
    tab_a, tab_b = page, second_tab(page, new_context, sessions)
    open_rate(tab_a, app_server, review_id)
    open_rate(tab_b, app_server, review_id)

    # A rates H3; B, loaded before that, adds a note: saved on top, A's rating kept and now shown in B.
    rate(tab_a, ledger, "Ana", "H3", 4)
    confirm(tab_a, ledger)
    write_note(tab_b, ledger, "Ana", "H3", "Seen from the second tab")
    confirm(tab_b, ledger)
    expect_rating_shown(tab_b, 4)
    saved = stored(app_server, review_id, "Ana", "H3")
    assert saved is not None and (saved.rating, saved.note) == (4, "Seen from the second tab")

    # A changes the rating (B's note is kept); B, not yet showing that, picks another rating for
    # the same field: refused with a clear message, A's rating shown, nothing shown as saved.
    rate(tab_a, ledger, "Ana", "H3", 2)
    confirm(tab_a, ledger)
    expect(note_field(tab_a)).to_have_value("Seen from the second tab")
    rate(tab_b, ledger, "Ana", "H3", 5)
    expect(tab_b.get_by_text(re.compile("since you loaded it"))).to_be_visible()
    expect(tab_b.get_by_text(re.compile("make your change again"))).to_be_visible()
    wait_for_app(tab_b)
    expect_rating_shown(tab_b, 2)
    expect(saved_caption(tab_b)).to_be_hidden()
    assert not ledger.shows_saved(tab_b)
    screenshot(tab_b, f"nothing-lost-2-stale-{sessions}")
    assert stored(app_server, review_id, "Ana", "H3").rating == 2  # type: ignore[union-attr]

    # Made again, B's rating is saved on top of the fresh version.
    rate(tab_b, ledger, "Ana", "H3", 5)
    confirm(tab_b, ledger)
    ledger.check_database()
    tab_a.reload()
    wait_for_app(tab_a)
    expect_rating_shown(tab_a, 5)
    expect(note_field(tab_a)).to_have_value("Seen from the second tab")


def test_two_tabs_on_different_items_both_save(
    app_server: AppServer,
    review_id: int,
    page: Page,
    new_context: Callable[[], BrowserContext],
    ledger: Ledger,
) -> None:
    tab_a, tab_b = page, second_tab(page, new_context, "two-browsers")
    open_rate(tab_a, app_server, review_id, item="H3")
    open_rate(tab_b, app_server, review_id, item="H4")
    rate(tab_a, ledger, "Ana", "H3", 4)
    rate(tab_b, ledger, "Ana", "H4", 3)  # without waiting for A
    confirm(tab_a, ledger)
    confirm(tab_b, ledger)
    write_note(tab_b, ledger, "Ana", "H4", "Team leader carries a caseload")
    write_note(tab_a, ledger, "Ana", "H3", "Daily meeting observed")
    confirm(tab_b, ledger)
    confirm(tab_a, ledger)
    ledger.check_database()
    h3, h4 = (stored(app_server, review_id, "Ana", item) for item in ("H3", "H4"))
    assert h3 is not None and (h3.rating, h3.note) == (4, "Daily meeting observed")
    assert h4 is not None and (h4.rating, h4.note) == (3, "Team leader carries a caseload")


# --- 3. the server killed with SIGKILL while saving ---------------------------------------------


def after_kill(page: Page, ledger: Ledger, name: str) -> None:
    """The server is gone: the page notices, and what it shows then must be true."""
    page.wait_for_selector("[data-testid='stApp']:not([data-test-connection-state='CONNECTED'])")
    ledger.observe(page)
    screenshot(page, name)


def restart_and_reload(server: AppServer, page: Page, ledger: Ledger, item: str) -> None:
    server.start()
    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name=re.compile(rf"^{item} · "))).to_be_visible()
    ledger.observe(page)
    ledger.check_database()


def expect_page_shows_database(page: Page, server: AppServer, review_id: int, item: str) -> None:
    """After a reload the widgets show exactly what is stored: nothing unsaved looks saved."""
    saved = stored(server, review_id, "Ana", item)
    rating = None if saved is None else saved.rating
    if rating is None:
        expect(
            page.get_by_role("radiogroup", name="Rating", exact=True).locator("input:checked")
        ).to_have_count(0)
    else:
        expect_rating_shown(page, rating)
    expect(note_field(page)).to_have_value((saved.note if saved else None) or "")


def test_sigkill_while_saving_loses_nothing_shown_as_saved(
    app_server: AppServer, review_id: int, page: Page, ledger: Ledger
) -> None:
    open_rate(page, app_server, review_id, item="H3")
    rate(page, ledger, "Ana", "H3", 4)
    write_note(page, ledger, "Ana", "H3", "Meets daily")  # straight after the click
    confirm(page, ledger)
    page.get_by_role("button", name="Next ▶").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name=re.compile(r"^H4 · "))).to_be_visible()
    rate(page, ledger, "Ana", "H4", 3)
    confirm(page, ledger)

    # Killed straight after a click, without waiting for anything.
    rate(page, ledger, "Ana", "H4", 5)
    app_server.kill()
    after_kill(page, ledger, "nothing-lost-3-killed-after-click")
    restart_and_reload(app_server, page, ledger, "H4")
    expect_page_shows_database(page, app_server, review_id, "H4")

    # Killed straight after a rating and a note were sent one after the other.
    rate(page, ledger, "Ana", "H4", 2)
    write_note(page, ledger, "Ana", "H4", "Team leader sees clients weekly")
    app_server.kill()
    after_kill(page, ledger, "nothing-lost-3-killed-after-note")
    restart_and_reload(app_server, page, ledger, "H4")
    expect_page_shows_database(page, app_server, review_id, "H4")

    # Killed once the confirmation is on screen: the entry must be there after the restart.
    rate(page, ledger, "Ana", "H4", 1)
    confirm(page, ledger)
    app_server.kill()
    after_kill(page, ledger, "nothing-lost-3-killed-after-confirmation")
    restart_and_reload(app_server, page, ledger, "H4")
    expect_rating_shown(page, 1)
    expect(page.get_by_text("Saved rating: 1 (rated)")).to_be_visible()
    page.get_by_role("button", name="◀ Previous").click()
    wait_for_app(page)
    expect_page_shows_database(page, app_server, review_id, "H3")
    expect_rating_shown(page, 4)
    expect(note_field(page)).to_have_value("Meets daily")


# --- 4. the network drops and comes back ----------------------------------------------------------


def test_network_drop_never_shows_an_unsent_entry_as_saved(
    app_server: AppServer, review_id: int, page: Page, ledger: Ledger
) -> None:
    open_rate(page, app_server, review_id, item="H3")
    rate(page, ledger, "Ana", "H3", 4)
    confirm(page, ledger)

    page.context.set_offline(True)
    rate(page, ledger, "Ana", "H3", 2)
    write_note(page, ledger, "Ana", "H3", "Written while offline")
    expect(not_saved(page)).to_be_visible()
    expect(saved_caption(page)).to_be_hidden()
    page.wait_for_timeout(1_000)  # long enough for a save to have happened, were it possible
    assert not ledger.shows_saved(page)
    saved = stored(app_server, review_id, "Ana", "H3")
    assert saved is not None and (saved.rating, saved.note) == (4, None)
    screenshot(page, "nothing-lost-4-offline")

    page.context.set_offline(False)
    # Either the entries are sent now and confirmed, or the page keeps saying they are not saved.
    page.wait_for_function(
        f"() => {{ const s = ({SNAPSHOT_JS})(); return s.script === 'notRunning' && (s.saved || s.unsaved); }}"
    )
    wait_for_app(page)
    if ledger.shows_saved(page):
        saved = stored(app_server, review_id, "Ana", "H3")
        assert saved is not None and (saved.rating, saved.note) == (2, "Written while offline")
    else:
        expect(not_saved(page)).to_be_visible()
    screenshot(page, "nothing-lost-4-back-online")
    ledger.check_database()

    # The page works on as before.
    rate(page, ledger, "Ana", "H3", 5)
    confirm(page, ledger)
    ledger.check_database()
