"""Issue 18's "Done when", in real browsers: two raters, each signed in as themselves (two
browser contexts, the fake OpenID Connect provider of test_sign_in), rate blind, submit, meet in
consensus and finalize."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from services import users
from services.access import Actor, Role, local_admin
from services.database import open_database
from services.reviews import create_program, save_rating, start_review
from tests.e2e.conftest import AppServer, screenshot, wait_for_app
from tests.e2e.test_sign_in import CLIENT_ID, CLIENT_SECRET, FakeProvider, provider, sign_in

__all__ = ["provider"]  # the fixture, imported so pytest finds it in this module

ANA, BEN = "ana@agency.org", "ben@agency.org"
ANA_NOTE = "Ana: the supervisor could not name the practice's principles"
BEN_NOTE = "Ben: no training records for the practice on site"


def reviewer(database_url: str, email: str) -> Actor:
    with open_database(database_url) as db:
        actor = users.actor_for_email(db, email)
    assert actor is not None
    return actor


@pytest.fixture
def app(tmp_path: Path, provider: FakeProvider) -> Iterator[tuple[AppServer, int]]:
    """The app with sign-in, two registered reviewers (Ana, Ben) and a draft GOI review whose
    raters are named like them and to which both are assigned; Ben has rated G1 with a note."""
    url = f"sqlite:///{tmp_path / 'fidelity.db'}"
    admin = local_admin("test")
    with open_database(url) as db:
        for email, name in ((ANA, "Ana"), (BEN, "Ben")):
            users.add_user(db, email, role=Role.REVIEWER, name=name, actor=admin)
        program = create_program(db, "Riverside GOI Team", actor=admin)
        review = start_review(
            db,
            program.id,
            "goi",
            "1.0",
            dt.date(2026, 3, 2),
            "baseline",
            ("Ana", "Ben"),
            actor=admin,
            reviewers=(ANA, BEN),
        )
    with open_database(url) as db:
        save_rating(db, review.id, "Ben", "G1", rating=2, note=BEN_NOTE, actor=reviewer(url, BEN))
    server = AppServer(url, tmp_path)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "{server.url}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider.issuer}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    server.start()
    yield server, review.id
    server.kill()


def signed_in_page(
    new_context: Callable[[], BrowserContext], provider: FakeProvider, server: AppServer, email: str
) -> Page:
    """A browser of its own (own cookies), signed in as `email`."""
    page = new_context().new_page()
    provider.email = email
    sign_in(page, server)
    expect(page.get_by_test_id("stSidebar").get_by_text(email)).to_be_visible()
    return page


def rate_the_rest(database_url: str, review_id: int, email: str, rater: str) -> None:
    """G2-G12 are rated 4 through the service, acting as the signed-in reviewer: rating every
    item in the browser would only repeat what G1 shows, and slowly."""
    actor = reviewer(database_url, email)
    with open_database(database_url) as db:
        for number in range(2, 13):
            save_rating(db, review_id, rater, f"G{number}", rating=4, actor=actor)


def submit(page: Page, server: AppServer, review_id: int, rater: str) -> None:
    page.goto(f"{server.url}/rate?review={review_id}&item=G1")
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"\b0\b item\(s\) left unrated"))).to_be_visible()
    page.get_by_role("button", name=f"Submit {rater}'s ratings").click()
    wait_for_app(page)
    expect(page.get_by_text(f"{rater} submitted their ratings")).to_be_visible()


def ana_cannot_see_bens_ratings(ana: Page, server: AppServer, review_id: int) -> None:
    """Ana has submitted, Ben has not: asking for Ben's ratings in the address still shows
    only her own, and the consensus (both raters side by side) stays closed."""
    ana.goto(f"{server.url}/rate?review={review_id}&rater=Ben&item=G1")
    wait_for_app(ana)
    expect(ana.get_by_text("Rating as Ana (you).")).to_be_visible()
    expect(ana.get_by_text("Submitted rating: 3")).to_be_visible()
    assert BEN_NOTE not in ana.content()
    ana.goto(f"{server.url}/consensus?review={review_id}&item=G1")
    wait_for_app(ana)
    expect(ana.get_by_text("opens when every rater has submitted")).to_be_visible()
    expect(ana.get_by_text("Exact agreement")).to_have_count(0)
    assert BEN_NOTE not in ana.content()


def test_two_signed_in_raters_rate_blind_submit_agree_and_finalize(
    app: tuple[AppServer, int], provider: FakeProvider, new_context: Callable[[], BrowserContext]
) -> None:
    server, review_id = app

    # Ana, in her browser: she rates as herself only, and sees nothing of Ben's G1.
    ana = signed_in_page(new_context, provider, server, ANA)
    ana.goto(f"{server.url}/rate?review={review_id}&item=G1")
    wait_for_app(ana)
    expect(ana.get_by_text("Rating as Ana (you).")).to_be_visible()
    expect(ana.get_by_role("radiogroup", name="Rating as")).to_have_count(0)
    expect(ana.get_by_text("Not rated yet.")).to_be_visible()
    assert BEN_NOTE not in ana.content()
    ana.get_by_role("radiogroup", name="Rating").get_by_text("3", exact=True).click()
    wait_for_app(ana)
    expect(ana.get_by_text("Saved rating: 3 (rated)")).to_be_visible()
    ana.get_by_label("Evidence note").fill(ANA_NOTE)
    ana.get_by_label("Evidence note").press("Tab")
    wait_for_app(ana)
    expect(ana.get_by_text(f"Last saved by {ANA}")).to_be_visible()
    rate_the_rest(server.database_url, review_id, ANA, "Ana")
    submit(ana, server, review_id, "Ana")
    expect(ana.get_by_text("The consensus opens when Ben submit(s).")).to_be_visible()
    ana_cannot_see_bens_ratings(ana, server, review_id)
    screenshot(ana, "two-raters-01-ana-submitted")

    # Ben, in another browser: his own G1 rating and note, nothing of Ana's.
    ben = signed_in_page(new_context, provider, server, BEN)
    ben.goto(f"{server.url}/rate?review={review_id}&item=G1")
    wait_for_app(ben)
    expect(ben.get_by_text("Rating as Ben (you).")).to_be_visible()
    expect(ben.get_by_text("Saved rating: 2 (rated)")).to_be_visible()
    expect(ben.get_by_label("Evidence note")).to_have_value(BEN_NOTE)
    assert ANA_NOTE not in ben.content()
    rate_the_rest(server.database_url, review_id, BEN, "Ben")
    submit(ben, server, review_id, "Ben")
    expect(ben.get_by_text("The consensus is open.")).to_be_visible()

    # The consensus, in Ben's browser: both raters' ratings and notes now show side by side.
    ben.goto(f"{server.url}/consensus?review={review_id}&item=G1")
    wait_for_app(ben)
    expect(ben.get_by_text("Exact agreement")).to_be_visible()
    expect(ben.get_by_text("Ana: 3")).to_be_visible()
    expect(ben.get_by_text("Ben: 2")).to_be_visible()
    expect(ben.get_by_text(ANA_NOTE)).to_be_visible()
    expect(ben.get_by_text(BEN_NOTE)).to_be_visible()
    ben.get_by_role("button", name="Accept every rating both raters agree on").click()
    wait_for_app(ben)
    expect(
        ben.get_by_test_id("stToastText").get_by_text(re.compile(r"11 agreed item\(s\) accepted"))
    ).to_be_visible()
    expect(ben.get_by_text("Not agreed yet.", exact=True)).to_be_visible()  # G1: they disagreed
    ben.get_by_role("radiogroup", name="Consensus rating").get_by_text("3", exact=True).click()
    wait_for_app(ben)
    expect(ben.get_by_text("Agreed rating: 3")).to_be_visible()
    screenshot(ben, "two-raters-02-consensus")
    ben.get_by_role("button", name="Finalize this review").click()
    ben.wait_for_url(re.compile(rf".*/results\?.*review={review_id}"))
    wait_for_app(ben)
    # 11 items at 4 and G1 at 3: a total of 47, the GOI's "Fair implementation" (36-47).
    expect(ben.get_by_text("Fair implementation").first).to_be_visible()
    expect(ben.get_by_text("47").first).to_be_visible()
    screenshot(ben, "two-raters-03-results")

    # Ana's browser sees the review final: it is no longer offered for rating.
    ana.goto(f"{server.url}/rate")
    wait_for_app(ana)
    expect(ana.get_by_text("No review is in progress.")).to_be_visible()
