"""The Action plans page on the demo database (AppTest): a program manager signed in for one
program sees that program's open entries and updates one (chosen by its row in the table); an
agency admin sees the overdue entries across providers, filters them (in the Filters popover)
and downloads them."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import shared
from app_pages.markup import md
from app_pages.views import action_plans as plans_page
from app_pages.views import plan_marks
from app_pages.views.plan_marks import MARK_CAPTION, plan_layers
from services import action_plans, users
from services import reviews as svc
from services.access import LOCAL_ADMIN, Role
from services.action_plan_views import PlanEvent
from services.database import open_database
from services.demo import build_demo

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "app_pages/action_plans.py"
TODAY = dt.date(2026, 6, 1)
PROGRAM = "Demo ACT Team 3"  # the drifting program: its latest review opened four entries
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-string-for-the-identity-cookie",
    "client_id": "client.apps.googleusercontent.com",
    "client_secret": "secret",
    "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
}
MANAGER, ADMIN = "pm@agency.org", "boss@agency.org"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'demo.db'}"
    with open_database(url) as db:
        build_demo(db, today=TODAY)
        program = svc.find_program(db, PROGRAM, actor=LOCAL_ADMIN)
        assert program is not None
        users.add_user(db, MANAGER, role=Role.PROGRAM_MANAGER, program_ids=[program.id], actor=LOCAL_ADMIN)
        users.add_user(db, ADMIN, role=Role.AGENCY_ADMIN, actor=LOCAL_ADMIN)
    yield url


@pytest.fixture
def demo(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FIDELITY_DATABASE_URL", demo_url)
    return demo_url


def signed_in(email: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": email, "name": email, "email_verified": True}
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def choose_row(at: AppTest, row: int) -> int:
    """Choose the table's row as a click does; the id of the entry in it."""
    ids = [int(i) for i in at.dataframe[0].value["id"]]
    at.session_state[plans_page.table_key(ids)] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return ids[row]


def test_a_program_manager_sees_their_programs_open_entries_and_updates_one(demo: str) -> None:
    at = signed_in(MANAGER)
    table = at.dataframe[0].value
    assert set(table["program"]) == {PROGRAM}
    assert set(table["status"]) <= {"open", "in progress"} and len(table) >= 3
    entry_ids = list(table["id"])
    assert not at.form  # nothing to update until an entry's row is chosen

    chosen = choose_row(at, 0)
    assert chosen == entry_ids[0]  # overdue first, then by due date
    assert f"Update entry #{chosen}: {PROGRAM}" in at.markdown[0].value + at.markdown[1].value
    at.selectbox(key=f"plans_status_{chosen}").set_value("done")
    at.text_area(key=f"plans_note_{chosen}").input("Second nurse hired; rated 3 on the self-check")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Saved at" in c.value for c in at.caption)  # said, though the entry left the list

    with open_database(demo) as db:
        after = {e.id: e for e in action_plans.list_entries(db, actor=LOCAL_ADMIN, statuses=None)}
    updated = after[chosen]
    assert updated.status == "done" and updated.closed_at is not None
    assert (updated.notes[-1].by, updated.notes[-1].text) == (
        MANAGER,
        "Second nurse hired; rated 3 on the self-check",
    )
    # The done entry leaves the open list on the page.
    assert chosen not in list(at.dataframe[0].value["id"])
    assert not at.form  # its row is gone: no other entry is put under the editor in its place


def _owner(at: AppTest, entry_id: int) -> str:
    table = at.dataframe[0].value
    return str(table[table["id"] == entry_id]["owner"].iloc[0])


def test_the_entries_are_kept_for_the_version_max_age_but_a_save_here_shows_at_once(
    demo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each click reruns the page: the entries are read at most once per VERSION_MAX_AGE, except
    that a save through this server reads them again at once; another process's save shows
    within that second."""
    at = signed_in(ADMIN)
    first = int(at.dataframe[0].value["id"].iloc[0])
    monkeypatch.setattr(plans_page, "VERSION_MAX_AGE", 600.0)  # no rerun here takes that long
    assert choose_row(at, 0) == first
    at.text_input(key=f"plans_owner_{first}").input("Dana Here")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _owner(at, first) == "Dana Here"  # this server's save: at once
    assert at.text_input(key=f"plans_owner_{first}").value == "Dana Here"  # still chosen

    with open_database(demo) as other:  # another process: its saves are not this server's
        action_plans.update_entry(other, first, actor=LOCAL_ADMIN, owner="Dana Elsewhere")
    at.run()
    assert _owner(at, first) == "Dana Here"  # kept: not read again within the max age
    monkeypatch.setattr(plans_page, "VERSION_MAX_AGE", shared.VERSION_MAX_AGE)
    time.sleep(shared.VERSION_MAX_AGE)
    at.run()
    assert _owner(at, first) == "Dana Elsewhere"  # read again once the second has passed


def test_an_agency_admin_sees_the_overdue_entries_across_providers(demo: str) -> None:
    at = signed_in(ADMIN)
    table = at.dataframe[0].value
    overdue = table[table["overdue"] == "yes"]
    assert len(overdue) >= 2 and overdue["provider"].nunique() >= 2
    flags = list(table["overdue"] == "yes")
    assert flags == sorted(flags, reverse=True)  # the overdue ones come first
    assert list(overdue["due date"]) == sorted(overdue["due date"])  # then by due date
    assert len(at.get("download_button")) == 1  # the CSV export
    # Filter by a provider, in the Filters popover: only its entries remain.
    assert not at.selectbox  # the filters are drawn when their popover is opened
    at.session_state[plans_page.POPOVER] = True
    at.run()
    provider = overdue["provider"].iloc[0]
    at.selectbox(key="plans_provider").set_value(provider).run()
    assert set(at.dataframe[0].value["provider"]) == {provider}
    # Closed, the popover keeps the filter and names it in its label.
    at.session_state[plans_page.POPOVER] = False
    at.run()
    assert not at.selectbox and set(at.dataframe[0].value["provider"]) == {provider}
    assert at.get("popover")[0].proto.popover.label == f"Filters: Provider: {md(provider)}"
    # Done and dropped entries too, with the provider still chosen.
    at.session_state[plans_page.POPOVER] = True
    at.run()
    assert at.selectbox(key="plans_provider").value == provider
    at.toggle(key="plans_closed").set_value(True).run()
    statuses = set(at.dataframe[0].value["status"])
    assert statuses & {"done", "dropped"} and set(at.dataframe[0].value["provider"]) == {provider}
    label = at.get("popover")[0].proto.popover.label
    assert label == f"Filters: done and dropped too · Provider: {md(provider)}"


def test_the_local_admin_edits_and_a_bad_owner_is_refused_in_words(demo: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()  # no sign-in: the local admin
    at.switch_page(PAGE).run()
    chosen = choose_row(at, 0)
    at.text_input(key=f"plans_owner_{chosen}").input("x" * 101)
    next(b for b in at.button if b.label == "Save").click().run()
    assert any("owner is longer than 100 characters" in e.value for e in at.error)


def test_the_next_review_shows_the_earlier_plan_beside_its_new_ratings(demo: str) -> None:
    with open_database(demo) as db:
        program = svc.find_program(db, "Demo ACT Team 7", actor=LOCAL_ADMIN)
        assert program is not None
        latest = max(
            svc.list_reviews(db, actor=LOCAL_ADMIN, program_id=program.id, status="final"),
            key=lambda r: r.review_date,
        )
        earlier = action_plans.follow_up(db, latest.id, actor=LOCAL_ADMIN)
        now = svc.get_review(db, latest.id, actor=LOCAL_ADMIN).consensus
    assert earlier  # the demo's Team 7 had entries at its previous review
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.query_params["review"] = str(latest.id)
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(df.value for df in at.dataframe if "goal and now" in df.value.columns)
    expected = [f"goal {e.goal}, now {now[e.item_id].rating}" for e in earlier]
    assert list(table["goal and now"]) == expected


def test_the_drift_chart_marks_when_plan_entries_were_opened(demo: str) -> None:
    with open_database(demo) as db:
        program = svc.find_program(db, "Demo ACT Team 8", actor=LOCAL_ADMIN)  # one review, six entries
        assert program is not None
        opened = [
            e for e in action_plans.program_events(db, program.id, actor=LOCAL_ADMIN) if e.kind == "opened"
        ]
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.query_params["program"] = str(program.id)
    at.switch_page("app_pages/drift.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert MARK_CAPTION in [c.value for c in at.caption]
    spec = str(at.get("vega_lite_chart")[0].proto)
    assert f"{len(opened)} opened: " in spec and "triangle-down" in spec


def test_the_drift_charts_plan_marks_show_a_save_here_at_once_and_another_process_within_a_second(
    demo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_database(demo) as db:
        program = svc.find_program(db, "Demo ACT Team 8", actor=LOCAL_ADMIN)  # one review, six entries
        assert program is not None
        entries = action_plans.list_entries(db, actor=LOCAL_ADMIN, program_id=program.id)
    first, second = entries[0].id, entries[1].id

    def marks(at: AppTest) -> str:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return str(at.get("vega_lite_chart")[0].proto)

    at = AppTest.from_file(APP, default_timeout=60).run()
    at.query_params["program"] = str(program.id)
    at.session_state["drift_section"] = "Scores over time"
    at.switch_page("app_pages/drift.py")
    assert " closed: " not in marks(at)
    monkeypatch.setattr(plan_marks, "VERSION_MAX_AGE", 600.0)  # no rerun here takes that long
    try:
        with open_database(demo) as other:  # another process: its saves are not this server's
            action_plans.update_entry(other, first, actor=LOCAL_ADMIN, status="done")
        assert " closed: " not in marks(at)  # kept: not read again within the max age
        # A save through this server (as the Action plans page makes it): shown at once, with
        # the other process's.
        action_plans.update_entry(shared.database(), second, actor=LOCAL_ADMIN, status="done")
        assert "2 closed: " in marks(at)
    finally:
        with open_database(demo) as db:  # as it was, for the other tests of the module
            for entry_id in (first, second):
                action_plans.update_entry(db, entry_id, actor=LOCAL_ADMIN, status="open")


def test_plan_layers_group_the_days_and_kinds() -> None:
    day = dt.date(2026, 1, 5)
    events = [
        PlanEvent(day, "opened", "H2", 1),
        PlanEvent(day, "opened", "S10", 2),
        PlanEvent(day + dt.timedelta(days=30), "done", "H2", 1),
        PlanEvent(day + dt.timedelta(days=30), "dropped", "S10", 2),
    ]
    layers = plan_layers(events)
    assert [layer["mark"]["type"] for layer in layers] == ["rule", "point", "rule", "point"]
    assert layers[0]["data"]["values"] == [{"plan_day": "2026-01-05", "plan_items": "2 opened: H2, S10"}]
    assert layers[2]["data"]["values"] == [
        {"plan_day": "2026-02-04", "plan_items": "2 closed: H2, S10 (dropped)"}
    ]
    assert plan_layers([]) == []


def test_the_reviewer_adds_a_further_item_to_a_final_reviews_plan(demo: str) -> None:
    with open_database(demo) as db:
        program = svc.find_program(db, PROGRAM, actor=LOCAL_ADMIN)
        assert program is not None
        latest = max(
            svc.list_reviews(db, actor=LOCAL_ADMIN, program_id=program.id, status="final"),
            key=lambda r: r.review_date,
        )
        before = {e.item_id for e in action_plans.review_entries(db, latest.id, actor=LOCAL_ADMIN)}
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.query_params["review"] = str(latest.id)
    at.switch_page("app_pages/results.py").run()
    # The plan's box is drawn when opened (its table and form are not built on every rerun).
    assert not [s for s in at.selectbox if s.label == "Add an item to the plan"]
    at.session_state["results_plan_open"] = True  # the reviewer opens it
    at.run()
    choice = next(s for s in at.selectbox if s.label == "Add an item to the plan")
    item = next(i for i in choice.options if i.split()[0] not in before).split()[0]
    choice.set_value(item)
    next(b for b in at.button if b.label == "Add to the action plan").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    # Still open, with the new count and the item in its table.
    (box,) = [e for e in at.expander if e.label.startswith("Action plan entries of this review")]
    assert box.proto.expanded and box.label.endswith(f"({len(before) + 1})")
    assert item in list(box.get("dataframe")[0].value["item"])
    with open_database(demo) as db:
        after = {e.item_id: e for e in action_plans.review_entries(db, latest.id, actor=LOCAL_ADMIN)}
    assert set(after) == before | {item} and after[item].goal == 4
