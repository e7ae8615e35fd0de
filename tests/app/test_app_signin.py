"""Sign-in and roles in the app (AppTest with `st.user` set for each role).

Without `[auth]` in the secrets everyone is the local admin, and every page says so. With
`[auth]`, nobody sees anything before signing in; a signed-in e-mail that is not an active
user sees "not registered"; a signed-in user gets the pages of their role and only the data
of their scope: a program manager sees their own programs' final reviews and nothing else.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import shared
from services import reviews as svc
from services import users
from services.access import LOCAL_ADMIN, Role
from services.database import Database, open_database
from services.review_file import parse_review_data
from services.review_import import import_review_file

APP = str(Path(__file__).resolve().parents[2] / "app.py")
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-string-for-the-identity-cookie",
    "client_id": "client.apps.googleusercontent.com",
    "client_secret": "secret",
    "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
}
ADMIN, REVIEWER, MANAGER = "boss@agency.org", "rev@agency.org", "pm@agency.org"
OWN, OTHER = "Own GOI Team", "Other GOI Team"
GOI = [f"G{i}" for i in range(1, 13)]
PAGES = {
    "reviews": "app_pages/reviews.py",
    "rate": "app_pages/rate.py",
    "consensus": "app_pages/consensus.py",
    "results": "app_pages/results.py",
    "action_plans": "app_pages/action_plans.py",
    "drift": "app_pages/drift.py",
    "compare": "app_pages/compare.py",
    "programs": "app_pages/programs.py",
    "import": "app_pages/import_page.py",
    "users": "app_pages/users.py",
    "integrity": "app_pages/integrity.py",
    "scales": "app_pages/scales.py",
}


def final_review(db: Database, program: str, when: dt.date, rating: int) -> svc.ReviewView:
    data = {"scale": "goi", "date": when, "items": {i: {"rating": rating} for i in GOI}}
    return import_review_file(
        db, parse_review_data(data, db.registry), program=program, actor=LOCAL_ADMIN
    ).review


@pytest.fixture
def agency(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Two programs with two final reviews each and one draft each; a reviewer assigned to
    the own program's draft; a program manager of the own program."""
    url = f"sqlite:///{tmp_path}/app.db"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    db = open_database(url)
    ids: dict[str, Any] = {}
    for name, (before, after) in {OWN: (4, 3), OTHER: (5, 2)}.items():
        ids[f"{name} old"] = final_review(db, name, dt.date(2024, 3, 1), before).id
        ids[f"{name} final"] = final_review(db, name, dt.date(2025, 3, 1), after).id
        program = svc.find_program(db, name, actor=LOCAL_ADMIN)
        assert program is not None
        ids[name] = program.id
        ids[f"{name} draft"] = svc.start_review(
            db, program.id, "goi", None, dt.date(2026, 3, 1), "follow-up", ["Ana"], actor=LOCAL_ADMIN
        ).id
    users.add_user(db, ADMIN, role=Role.AGENCY_ADMIN, name="Bo Ss", actor=LOCAL_ADMIN)
    users.add_user(db, REVIEWER, role=Role.REVIEWER, actor=LOCAL_ADMIN)
    users.add_user(db, MANAGER, role=Role.PROGRAM_MANAGER, program_ids=[ids[OWN]], actor=LOCAL_ADMIN)
    users.add_user(db, "gone@agency.org", role=Role.REVIEWER, actor=LOCAL_ADMIN)
    users.set_active(db, "gone@agency.org", False, actor=LOCAL_ADMIN)
    users.assign_reviewer(db, ids[f"{OWN} draft"], REVIEWER, actor=LOCAL_ADMIN)
    ids["db"] = db
    yield ids
    db.dispose()


def app(email: str | None, *, logged_in: bool = True, auth: dict[str, Any] | None = None) -> AppTest:
    """The app with `[auth]` configured and this user signed in (None: no sign-in configured)."""
    at = AppTest.from_file(APP, default_timeout=30)
    if email is not None or not logged_in:
        at.secrets["auth"] = auth or AUTH
        at.user = {"is_logged_in": logged_in, "email": email, "name": email, "email_verified": True}
        if not logged_in:
            at.user = {"is_logged_in": False}
    return at.run()


def open_page(at: AppTest, page: str, **params: str) -> AppTest:
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def navigation(at: AppTest) -> set[str]:
    """The pages this run registered in the navigation (switch_page refuses the others)."""
    offered = set()
    for name, path in PAGES.items():
        try:
            at.switch_page(path)
        except ValueError:
            continue
        offered.add(name)
    at.switch_page(PAGES["reviews"])
    return offered


def shown(at: AppTest) -> str:
    """Every text, option and table cell the run drew, as one string to search."""
    parts: list[str] = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    for widget in (*at.selectbox, *at.multiselect, *at.radio):
        parts.extend(str(option) for option in widget.options)  # as the widget labels them
    parts.extend(df.value.to_csv() for df in at.dataframe)
    parts.extend(str(e.proto) for e in at.get("vega_lite_chart"))  # the charts' data
    return "\n".join(parts)


def plain(markdown: str) -> str:
    """Markdown source as read: without the backslashes that keep user text literal."""
    return re.sub(r"\\(.)", r"\1", markdown)


def identity(at: AppTest) -> str:
    return plain("\n".join(str(m.value) for m in at.sidebar.markdown))


# ---- no sign-in configured ------------------------------------------------------------------------


def test_without_sign_in_everyone_is_the_local_admin_and_every_page_says_so(agency: dict[str, Any]) -> None:
    at = app(None)
    assert navigation(at) == set(PAGES)
    for page in PAGES:
        open_page(at, page)
        assert "No sign-in is configured" in identity(at), page
        assert "local admin" in identity(at), page
        assert not at.sidebar.button or "Log out" not in [b.label for b in at.sidebar.button]


# ---- sign-in configured -----------------------------------------------------------------------------


def test_before_signing_in_there_is_only_the_sign_in_page(agency: dict[str, Any]) -> None:
    at = app(None, logged_in=False)
    assert [t.value for t in at.title] == ["ebp-fidelity"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert OWN not in shown(at) and OTHER not in shown(at)
    assert not at.dataframe
    # Named providers ([auth.google], [auth.microsoft]) get one button each.
    named = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"]}
    named |= {"google": {"client_id": "g"}, "microsoft": {"client_id": "m"}}
    at = app(None, logged_in=False, auth=named)
    assert [b.label for b in at.button] == ["Sign in with Google", "Sign in with Microsoft"]


@pytest.mark.parametrize("email", ["stranger@elsewhere.org", "gone@agency.org"])
def test_an_unregistered_or_deactivated_email_sees_no_data(agency: dict[str, Any], email: str) -> None:
    at = app(email)
    assert [t.value for t in at.title] == ["Not registered"]
    assert email in plain(at.error[0].value) and "Ask your agency admin" in at.error[0].value
    assert [b.label for b in at.button] == ["Log out"]
    assert OWN not in shown(at) and OTHER not in shown(at)
    at.switch_page(PAGES["programs"]).run()  # asking for a page by its address changes nothing
    assert [t.value for t in at.title] == ["Not registered"]
    assert OWN not in shown(at) and OTHER not in shown(at)


@pytest.mark.parametrize("claim", [False, "false", "False", "0", "1", 1, 0, "", "yes", None, "missing"])
def test_an_unverified_email_is_not_trusted(agency: dict[str, Any], claim: object) -> None:
    """Only the boolean true or the text "true" says the provider verified the address: the
    string "false" (truthy in Python) was taken as verified; a missing claim proves nothing."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = AUTH
    user: dict[str, object] = {"is_logged_in": True, "email": ADMIN}
    if claim != "missing":
        user["email_verified"] = claim
    at.user = user
    at.run()
    assert [t.value for t in at.title] == ["Not registered"]
    assert "Agency admin" not in identity(at)


@pytest.mark.parametrize("claim", [False, "false", None, "missing"])
def test_an_entra_email_whose_domain_is_not_verified_is_not_trusted(
    agency: dict[str, Any], claim: object
) -> None:
    """Entra ID sends no email_verified; its xms_edov claim must say true, as email_verified must."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = AUTH
    user: dict[str, object] = {"is_logged_in": True, "email": ADMIN}
    if claim != "missing":
        user["xms_edov"] = claim
    at.user = user
    at.run()
    assert [t.value for t in at.title] == ["Not registered"]


VERIFIED_CLAIMS = [("email_verified", v) for v in (True, "true", "True", "TRUE")]
VERIFIED_CLAIMS += [("xms_edov", True), ("xms_edov", "true")]


@pytest.mark.parametrize(("name", "claim"), VERIFIED_CLAIMS)
def test_a_verified_email_signs_in(agency: dict[str, Any], name: str, claim: object) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": ADMIN, name: claim}
    at.run()
    assert not at.exception
    assert "Not registered" not in [t.value for t in at.title]
    assert "Agency admin" in identity(at)


def test_an_agency_admin_gets_every_page_and_signs_out(agency: dict[str, Any]) -> None:
    at = app(ADMIN.upper())
    assert navigation(at) == set(PAGES)
    open_page(at, "users")
    assert "Signed in as **Bo Ss (boss@agency.org)**" in identity(at) and "Agency admin" in identity(at)
    assert {ADMIN, REVIEWER, MANAGER} <= set(at.dataframe[0].value["e-mail"])
    at.sidebar.button(key="sign_out").click().run()
    at.run()  # the browser comes back signed out
    assert [b.label for b in at.button] == ["Sign in"]


def test_a_reviewer_works_on_assigned_reviews_and_reads_finals(agency: dict[str, Any]) -> None:
    at = app(REVIEWER)
    assert navigation(at) == {
        "reviews",
        "rate",
        "consensus",
        "results",
        "action_plans",
        "drift",
        "compare",
        "programs",
        "scales",
    }
    assert "Reviewer" in identity(at)
    listed = set(at.dataframe[0].value["id"])
    assert agency[f"{OWN} draft"] in listed and agency[f"{OTHER} draft"] not in listed
    assert {agency[f"{OWN} final"], agency[f"{OTHER} final"]} <= listed  # final reviews: read only
    open_page(at, "rate")
    at.session_state["choose_review_open"] = True  # the reviewer opens the review chooser
    at.run()
    assert at.selectbox(key="choose_review_pick").options == [svc_label(agency["db"], agency[f"{OWN} draft"])]
    open_page(at, "programs")
    assert {OWN, OTHER} <= set(at.dataframe[0].value["name"])
    assert "Add a program" not in [s.value for s in at.subheader]


def svc_label(db: Database, review_id: int) -> str:
    from app_pages.shared import review_label

    (summary,) = [r for r in svc.list_reviews(db, actor=LOCAL_ADMIN) if r.id == review_id]
    return review_label(summary)


def test_a_program_manager_sees_only_their_programs_final_reviews(agency: dict[str, Any]) -> None:
    at = app(MANAGER)
    assert navigation(at) == {"reviews", "results", "action_plans", "drift", "compare", "programs", "scales"}
    assert "Signed in as **pm@agency.org**" in identity(at) and "Program manager" in identity(at)
    # Reviews: only the own program's final reviews, no start form, no Rate or Consensus links.
    assert set(at.dataframe[0].value["id"]) == {agency[f"{OWN} old"], agency[f"{OWN} final"]}
    assert "Start a review" not in [e.label for e in at.expander]
    assert not [w for w in at.text_input if w.key == "reviews_start_rater_1"]
    assert OTHER not in shown(at)
    # Programs: their own only, read only.
    open_page(at, "programs")
    assert list(at.dataframe[0].value["name"]) == [OWN]
    assert "Add a program" not in [s.value for s in at.subheader]
    # Results: their review opens; another program's review or a draft does not.
    open_page(at, "results", review=str(agency[f"{OWN} final"]))
    assert at.subheader[0].value == OWN
    assert "History of changes" not in [e.label for e in at.expander]
    downloads = [b.proto.label for b in at.get("download_button")]
    assert downloads == ["Download the review as JSON", "Download PDF report"]
    for hidden in (agency[f"{OTHER} final"], agency[f"{OWN} draft"]):
        open_page(at, "results", review=str(hidden))
        assert any(f"Review {hidden} cannot be opened here" in i.value for i in at.info)
        assert OTHER not in shown(at)
    # Drift and Compare: their program only.
    for page in ("drift", "compare"):
        open_page(at, page)
        assert OWN in shown(at), page
        assert OTHER not in shown(at), page
    open_page(at, "drift", program=str(agency[OTHER]))
    assert OTHER not in shown(at)


def test_analytics_caches_are_never_shared_between_scopes(agency: dict[str, Any]) -> None:
    """The admin's drift view is cached first; the program manager still sees only their own."""
    admin = app(ADMIN)
    open_page(admin, "drift")
    assert OTHER in shown(admin)
    manager = app(MANAGER)
    open_page(manager, "drift")
    assert OTHER not in shown(manager)
    open_page(admin, "compare")
    assert OTHER in shown(admin)
    open_page(manager, "compare")
    assert OTHER not in shown(manager)


def test_a_role_change_takes_effect_within_the_version_max_age(agency: dict[str, Any]) -> None:
    """Who the address's user is is kept in the session for VERSION_MAX_AGE (each click reruns
    the app, and reading it cost as much as an empty page): a change shows within that second."""
    at = app(REVIEWER)
    assert "import" not in navigation(at)
    users.add_user(agency["db"], "deputy@agency.org", role=Role.AGENCY_ADMIN, actor=LOCAL_ADMIN)
    users.set_role(agency["db"], REVIEWER, Role.AGENCY_ADMIN, actor=LOCAL_ADMIN)
    time.sleep(shared.VERSION_MAX_AGE)
    at.run()
    assert "import" in navigation(at)
    users.set_active(agency["db"], REVIEWER, False, actor=LOCAL_ADMIN)
    time.sleep(shared.VERSION_MAX_AGE)
    at.run()
    assert [t.value for t in at.title] == ["Not registered"]


def test_a_role_change_made_through_this_server_shows_at_the_next_run(
    agency: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept user is read again once this server has written (the Users page, another
    session): no waiting for VERSION_MAX_AGE, here far longer than the test."""
    monkeypatch.setattr(shared, "VERSION_MAX_AGE", 600.0)
    at = app(REVIEWER)
    assert "import" not in navigation(at)
    users.set_role(shared.database(), REVIEWER, Role.AGENCY_ADMIN, actor=LOCAL_ADMIN)  # the app's own
    at.run()
    assert "import" in navigation(at)


def test_the_signed_in_user_is_read_again_only_after_the_version_max_age(
    agency: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    original = shared.actor_for_email

    def counted(db: Database, email: str) -> Any:
        read.append(email)
        return original(db, email)

    monkeypatch.setattr(shared, "actor_for_email", counted)
    monkeypatch.setattr(shared, "VERSION_MAX_AGE", 600.0)  # no rerun here takes that long
    at = app(REVIEWER)
    at.run()
    at.run()
    assert read == [REVIEWER]
    # Signed in with another address in the same session: that one is read, not the kept one.
    at.user = {"is_logged_in": True, "email": MANAGER, "name": MANAGER, "email_verified": True}
    at.run()
    assert read == [REVIEWER, MANAGER]
    assert "rate" not in navigation(at)  # the program manager's pages, not the reviewer's
    monkeypatch.setattr(shared, "VERSION_MAX_AGE", 0.0)
    at.run()
    assert read == [REVIEWER, MANAGER, MANAGER]
