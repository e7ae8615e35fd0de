"""The Programs, Reviews and Results pages, run headless with AppTest on a fresh SQLite file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from app_pages.views.reviews import table_key
from services import reviews as svc
from services.access import local_admin
from services.database import Database, open_database

APP = str(Path(__file__).resolve().parents[2] / "app.py")
DACTS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]
# 27 items agreed (S10 deliberately not rated): H1 from its inputs (96 clients / 9.5 FTE = 10.1
# clients per FTE, rating 5), O4 rated 2 (an action-plan item), the rest 4 or 5.
CONSENSUS = dict.fromkeys(DACTS, 4) | {"H1": 5, "H3": 5, "O1": 5, "O4": 2}
CONSENSUS.pop("S10")
SUM, MEAN = 109, "4.04"  # 109 / 27 = 4.037 → Full implementation
assert sum(CONSENSUS.values()) == SUM
REVIEW_DATE = dt.date(2026, 3, 14)


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/t.db"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    return url


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    """The test's database, opened beside the app's own connection, for seeding and checking."""
    database = open_database(url)
    yield database
    database.dispose()


@pytest.fixture
def at(url: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30)
    return app.run()  # the first run registers the pages st.navigation knows


def open_page(at: AppTest, page: str, review_id: int | None = None) -> AppTest:
    if review_id is not None:
        at.query_params["review"] = str(review_id)
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_review_line(at: AppTest) -> str:
    """The Reviews page's line naming the review open, above its links."""
    (line,) = [str(m.value) for m in at.markdown if "choose a row to open another" in m.value]
    return line


def texts(elements: object) -> list[str]:
    return [str(e.value) for e in elements]  # type: ignore[attr-defined]


def button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def add_program(db: Database, name: str = "Riverside ACT Team", model: str = "ACT") -> svc.ProgramView:
    return svc.create_program(
        db, name, provider="Riverside Health", region="North", model=model, actor=local_admin("admin")
    )


def start(db: Database, program: svc.ProgramView, scale_id: str = "dacts") -> svc.ReviewView:
    return svc.start_review(
        db, program.id, scale_id, "1.0", REVIEW_DATE, "baseline", ["Ana", "Ben"], actor=local_admin("lead")
    )


def agree(db: Database, review_id: int, items: dict[str, int]) -> None:
    for item_id, rating in items.items():
        fields: dict[str, object] = {"rating": rating}
        if item_id == "H1":
            fields = {"inputs": {"clients": 96, "staff_fte": 9.5}}
        svc.save_consensus(
            db,
            review_id,
            item_id,
            expected_version=0,
            actor=local_admin("lead"),
            evidence=f"evidence for {item_id}",
            recommendation="Hire a second peer specialist" if item_id == "O4" else None,
            **fields,  # type: ignore[arg-type]
        )


def final_review(db: Database) -> svc.ReviewView:
    review = start(db, add_program(db))
    svc.save_rating(db, review.id, "Ana", "H2", rating=4, actor=local_admin("Ana"))
    svc.save_rating(db, review.id, "Ben", "H2", rating=3, actor=local_admin("Ben"))
    agree(db, review.id, CONSENSUS)
    svc.mark_not_rated(
        db, review.id, "S10", "no records available", expected_version=0, actor=local_admin("lead")
    )
    svc.set_review_text(db, review.id, strengths="A strong daily team meeting", actor=local_admin("lead"))
    return svc.finalize(db, review.id, actor=local_admin("lead"))


# ---- empty and populated databases ----------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "hints"),
    [
        ("programs", ["No programs yet — add one below."]),
        (
            "reviews",
            [
                "No programs yet — add the program you are reviewing first.",
                "No reviews yet — start one above.",
            ],
        ),
        ("results", ["No reviews yet — start one on the Reviews page."]),
    ],
)
def test_each_page_says_what_to_do_on_an_empty_database(at: AppTest, page: str, hints: list[str]) -> None:
    open_page(at, page)
    assert texts(at.info) == hints
    if page == "reviews":
        assert "Add a program on the Programs page" in texts(at.get("page_link"))


def test_reviews_is_the_start_page(at: AppTest) -> None:
    assert not at.exception
    assert texts(at.title) == ["Reviews"]


def test_each_page_renders_a_populated_database(at: AppTest, db: Database) -> None:
    final = final_review(db)
    draft = start(db, add_program(db, "Lakeside IDDT Team", model="IDDT"), "iddt")

    open_page(at, "programs")
    table = at.dataframe[0].value
    assert list(table["name"]) == ["Lakeside IDDT Team", "Riverside ACT Team"]
    assert list(table.columns) == ["name", "provider", "region", "model", "active from", "active to"]

    open_page(at, "reviews")
    reviews = at.dataframe[0].value
    assert set(reviews["id"]) == {final.id, draft.id}
    assert set(reviews["status"]) == {"final", "draft"}
    # The chosen review's links, named above them (a row of links each was most of the page's
    # rerun): the newest while no row is chosen, then the row chosen.
    assert f"\\#{draft.id} Lakeside IDDT Team" in open_review_line(at)
    links = texts(at.get("page_link"))
    assert links.count("Rate") == links.count("Consensus") == links.count("Results") == 1
    ids = list(reviews["id"])
    at.session_state[table_key(ids)] = {
        "selection": {"rows": [ids.index(final.id)], "columns": [], "cells": []}
    }
    at.run()
    assert f"\\#{final.id} Riverside ACT Team" in open_review_line(at)
    rate = next(link for link in at.get("page_link") if link.proto.label == "Rate")
    assert rate.proto.disabled  # a final review is amended from Results, not rated
    assert at.session_state["current_review"] == final.id  # Rate, Consensus and Results open it
    # Another list (a filter): the row chosen was a position in the old one, so the choice starts
    # again; the review now in that position is not opened.
    at.session_state[table_key(ids)] = {
        "selection": {"rows": [ids.index(draft.id)], "columns": [], "cells": []}
    }
    at.run()
    assert at.session_state["current_review"] == draft.id
    at.selectbox(key="reviews_filter_status").set_value("final").run()
    assert list(at.dataframe[0].value["id"]) == [final.id]  # in the draft's old position
    assert at.session_state["current_review"] == draft.id  # not chosen by the stale row
    assert f"\\#{final.id} Riverside ACT Team" in open_review_line(at)  # the newest listed

    open_page(at, "results", draft.id)
    assert "Live score — not final" in " ".join(texts(at.warning))


def test_program_search_and_filters(at: AppTest, db: Database) -> None:
    add_program(db)
    svc.create_program(
        db, "Hilltop ACT", provider="Hill Care", region="South", model="ACT", actor=local_admin("admin")
    )
    open_page(at, "programs")
    at.text_input(key="programs_search").input("hill").run()
    assert list(at.dataframe[0].value["name"]) == ["Hilltop ACT"]
    at.text_input(key="programs_search").input("").run()
    at.selectbox(key="programs_filter_region").set_value("North").run()
    assert list(at.dataframe[0].value["name"]) == ["Riverside ACT Team"]
    at.selectbox(key="programs_filter_provider").set_value("Hill Care").run()
    assert not at.exception
    assert "No programs match these filters" in " ".join(texts(at.info))


# ---- Programs ---------------------------------------------------------------------------------


def test_adding_a_program_through_the_form_stores_it(at: AppTest, db: Database) -> None:
    open_page(at, "programs")
    at.text_input(key="programs_add_name").input("Riverside ACT Team")
    at.text_input(key="programs_add_new_provider").input("Riverside Health")
    at.text_input(key="programs_add_region").input("North")
    at.radio(key="programs_add_model").set_value("ACT")
    at.date_input(key="programs_add_active_from").set_value(dt.date(2024, 1, 1))
    button(at, "Add program").click().run()

    assert not at.exception
    assert "Added program **Riverside ACT Team**." in texts(at.success)
    (program,) = svc.list_programs(db, actor=local_admin())
    assert (program.name, program.provider, program.region, program.model) == (
        "Riverside ACT Team",
        "Riverside Health",
        "North",
        "ACT",
    )
    assert program.active_from == dt.date(2024, 1, 1) and program.active_to is None
    assert at.text_input(key="programs_add_name").value == ""  # the form is ready for the next one
    assert "Start a review of this program" in texts(at.get("page_link"))

    # The same name again is refused, with the reason, and nothing is stored.
    at.text_input(key="programs_add_name").input("Riverside ACT Team")
    at.selectbox(key="programs_add_provider").set_value("Riverside Health")
    button(at, "Add program").click().run()
    assert not at.exception
    assert texts(at.error) == ["a program named 'Riverside ACT Team' already exists"]
    assert len(svc.list_programs(db, actor=local_admin())) == 1


def test_a_program_without_a_name_is_refused(at: AppTest, db: Database) -> None:
    open_page(at, "programs")
    button(at, "Add program").click().run()
    assert not at.exception
    assert texts(at.error) == ["program name is required"]
    assert svc.list_programs(db, actor=local_admin()) == []


def test_editing_a_program_saves_the_changes(at: AppTest, db: Database) -> None:
    program = add_program(db)
    open_page(at, "programs")
    assert at.text_input(key="programs_edit_name").value == "Riverside ACT Team"  # prefilled
    assert at.selectbox(key="programs_edit_provider").value == "Riverside Health"
    at.text_input(key="programs_edit_region").input("East")
    at.date_input(key="programs_edit_active_to").set_value(dt.date(2020, 1, 1))
    at.date_input(key="programs_edit_active_from").set_value(dt.date(2021, 1, 1))
    button(at, "Save changes").click().run()
    assert not at.exception
    assert texts(at.error) == ["active_to (2020-01-01) is before active_from (2021-01-01)"]
    assert svc.get_program(db, program.id, actor=local_admin()).region == "North"  # nothing saved

    at.date_input(key="programs_edit_active_to").set_value(None)
    button(at, "Save changes").click().run()
    assert not at.exception
    assert "Saved the changes to **Riverside ACT Team**." in texts(at.success)
    saved = svc.get_program(db, program.id, actor=local_admin())
    assert (saved.region, saved.active_from, saved.active_to) == ("East", dt.date(2021, 1, 1), None)


# ---- Reviews ----------------------------------------------------------------------------------


def test_starting_a_review_stores_it_with_both_raters(at: AppTest, db: Database) -> None:
    program = add_program(db)
    svc.create_program(db, "Lakeside IDDT Team", model="IDDT", actor=local_admin("admin"))
    open_page(at, "reviews")
    at.selectbox(key="reviews_start_program").set_value(program.id).run()
    assert at.selectbox(key="reviews_start_scale").value == "dacts"  # the ACT program's scale
    assert at.selectbox(key="reviews_start_version").value == "1.0"
    assert at.date_input(key="reviews_start_date").value == dt.date.today()
    at.date_input(key="reviews_start_date").set_value(REVIEW_DATE)
    at.selectbox(key="reviews_start_type").set_value("follow-up")
    at.text_input(key="reviews_start_rater_1").input("Ana")
    at.text_input(key="reviews_start_rater_2").input("Ben")
    at.button(key="reviews_start").click().run()

    assert not at.exception, [e.value for e in at.exception]
    (summary,) = svc.list_reviews(db, actor=local_admin())
    review = svc.get_review(db, summary.id, actor=local_admin())
    assert review.raters == ["Ana", "Ben"]
    assert (review.program.id, review.scale_id, review.scale_version) == (program.id, "dacts", "1.0")
    assert (review.review_date, review.review_type, review.status) == (REVIEW_DATE, "follow-up", "draft")
    assert at.query_params["review"] == str(review.id)  # now on the Rate page of that review


def test_starting_a_review_needs_a_rater_and_a_matching_scale(at: AppTest, db: Database) -> None:
    add_program(db, "Lakeside IDDT Team", model="IDDT")
    open_page(at, "reviews")
    assert at.selectbox(key="reviews_start_scale").value == "iddt"  # the IDDT program's scale
    at.button(key="reviews_start").click().run()
    assert not at.exception
    assert texts(at.error) == ["Enter at least one rater's name to start the review."]

    at.selectbox(key="reviews_start_scale").set_value("dacts").run()
    at.text_input(key="reviews_start_rater_1").input("Ana")
    at.button(key="reviews_start").click().run()
    assert not at.exception
    assert texts(at.error) == ["dacts 1.0 measures ACT, but Lakeside IDDT Team is an IDDT program"]
    assert svc.list_reviews(db, actor=local_admin()) == []


def test_a_link_from_programs_picks_the_program_to_review(at: AppTest, db: Database) -> None:
    act = add_program(db)
    iddt = add_program(db, "Zeta IDDT Team", model="IDDT")
    at.query_params["program"] = str(iddt.id)
    open_page(at, "reviews")
    assert at.selectbox(key="reviews_start_program").value == iddt.id
    assert at.selectbox(key="reviews_start_scale").value == "iddt"
    at.selectbox(key="reviews_start_program").set_value(act.id).run()
    assert not at.exception
    assert at.selectbox(key="reviews_start_program").value == act.id  # the link does not hold on to it
    assert at.selectbox(key="reviews_start_scale").value == "dacts"


def program_filter(at: AppTest) -> str:
    """The label of the list's Program filter (a popover that names the program shown)."""
    (label,) = [
        p.proto.popover.label for p in at.get("popover") if p.proto.popover.label.startswith("Program")
    ]
    return str(label)


def test_the_review_list_filters_by_status_and_program(at: AppTest, db: Database) -> None:
    final = final_review(db)
    other = add_program(db, "Hilltop ACT")
    draft = start(db, other)
    open_page(at, "reviews")
    at.selectbox(key="reviews_filter_status").set_value("final").run()
    assert list(at.dataframe[0].value["id"]) == [final.id]
    at.selectbox(key="reviews_filter_status").set_value("all").run()
    # The program is chosen in a popover, drawn when opened (1,000 names are not sent each rerun).
    assert program_filter(at) == "Program: All programs"
    assert not [s for s in at.selectbox if s.key == "reviews_filter_program_pick"]
    at.session_state["reviews_filter_program_open"] = True  # the reviewer opens it
    at.run()
    at.selectbox(key="reviews_filter_program_pick").set_value(other.id).run()
    for _ in range(2):  # the choice's run, then a plain rerun: the popover closed, the filter kept
        assert not at.exception
        assert list(at.dataframe[0].value["id"]) == [draft.id]
        assert program_filter(at) == "Program: Hilltop ACT"
        assert not [s for s in at.selectbox if s.key == "reviews_filter_program_pick"]
        at.run()
    at.selectbox(key="reviews_filter_status").set_value("consensus").run()
    assert not at.exception
    assert "No reviews match these filters." in texts(at.info)
    at.session_state["reviews_filter_program_open"] = True
    at.run()
    at.selectbox(key="reviews_filter_program_pick").select_index(0)  # "All programs"
    at.selectbox(key="reviews_filter_status").set_value("all").run()
    assert set(at.dataframe[0].value["id"]) == {final.id, draft.id}
    assert program_filter(at) == "Program: All programs"


def start_box(at: AppTest) -> bool:
    """Whether the "Start a review" box is open (its fields are drawn only then)."""
    (box,) = [e for e in at.expander if e.label == "Start a review"]
    drawn = bool([s for s in at.selectbox if s.key == "reviews_start_program"])
    assert box.proto.expanded == drawn
    return drawn


def test_the_start_form_is_open_until_there_are_reviews_and_keeps_what_was_typed(
    at: AppTest, db: Database
) -> None:
    program = add_program(db)
    open_page(at, "reviews")
    assert start_box(at)  # no review yet: open, ready to start the first one
    start(db, program)
    open_page(at, "reviews")
    assert not start_box(at)  # reviews listed: the form is one click away
    at.session_state["reviews_start_open"] = True  # the reviewer opens it
    at.run()
    assert start_box(at)
    at.text_input(key="reviews_start_rater_1").input("Ana")
    at.selectbox(key="reviews_start_type").set_value("follow-up").run()
    at.session_state["reviews_start_open"] = False  # closed and opened again: nothing typed is lost
    at.run()
    assert not start_box(at)
    at.session_state["reviews_start_open"] = True
    at.run()
    assert at.text_input(key="reviews_start_rater_1").value == "Ana"
    assert at.selectbox(key="reviews_start_type").value == "follow-up"
    at.button(key="reviews_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    newest = max(svc.list_reviews(db, actor=local_admin()), key=lambda r: r.id)
    assert (newest.review_type, svc.get_review(db, newest.id, actor=local_admin()).raters) == (
        "follow-up",
        ["Ana"],
    )


def test_a_link_from_programs_opens_the_start_form_when_reviews_exist(at: AppTest, db: Database) -> None:
    start(db, add_program(db))
    iddt = add_program(db, "Zeta IDDT Team", model="IDDT")
    at.query_params["program"] = str(iddt.id)
    open_page(at, "reviews")
    assert start_box(at)
    assert at.selectbox(key="reviews_start_program").value == iddt.id
    at.run()  # the link's choice stays for the reviewer to go on with
    assert start_box(at)
    assert at.selectbox(key="reviews_start_program").value == iddt.id
    at.session_state["reviews_start_open"] = False  # the reviewer closes it: it stays closed
    at.run()
    assert not start_box(at)
    at.run()
    assert not start_box(at)


# ---- Results ----------------------------------------------------------------------------------


def test_results_show_the_final_score_and_the_items(at: AppTest, db: Database) -> None:
    review = final_review(db)
    open_page(at, "results", review.id)

    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Total mean": MEAN, "Total sum": str(SUM), "Band": "Full implementation"}
    assert "27 of 28 items rated · the band reads the mean of the rated items: 4.04" in texts(at.caption)
    assert any(s.startswith("Final — finalized by **lead**") for s in texts(at.success))
    assert not any("Live score" in w for w in texts(at.warning))
    page = " ".join(texts(at.markdown))
    assert "S10" in page and "not rated: no records available" in page  # missing items
    assert "O4 " in page and "Hire a second peer specialist" in page  # the action plan
    assert "A strong daily team meeting" in page  # review-level texts

    (items,) = (d.value for d in at.dataframe)  # the action plan's box is closed: the items alone
    at.session_state["results_plan_open"] = True  # opened, it shows the plan's entries first
    at.run()
    plan, items = (d.value for d in at.dataframe[:2])
    assert plan[["item", "rating", "goal", "recommendation", "status"]].to_dict("records") == [
        {
            "item": "O4",
            "rating": 2,
            "goal": 3,
            "recommendation": "Hire a second peer specialist",
            "status": "open",
        }
    ]
    items = items.set_index("id")
    assert list(items.index) == DACTS
    assert list(items.columns) == ["name", "rating", "source", "evidence", "recommendation"]
    assert items.loc["H1", "rating"] == 5
    assert items.loc["H1", "source"] == "computed: 10.1053 clients per FTE (rounded to 10)"
    assert items.loc["O4", "rating"] == 2 and items.loc["O4", "evidence"] == "evidence for O4"
    assert items.loc["S10", "source"] == "not rated: no records available"
    assert len(at.get("vega_lite_chart")) == 2  # subscale means and item ratings
    assert sorted(b.label for b in at.get("download_button")) == [
        "Download PDF report",
        "Download the review as JSON",
    ]
    assert any(e.label == "Amend this review" for e in at.expander)


def test_amending_from_results_creates_a_new_review(at: AppTest, db: Database) -> None:
    review = final_review(db)
    open_page(at, "results", review.id)
    at.button(key="results_amend").click().run()  # no reason given
    assert not at.exception
    assert texts(at.error) == ["Give the reason for the amendment: it is kept with the new review."]
    assert len(svc.list_reviews(db, actor=local_admin())) == 1

    at.text_area(key="results_amend_reason").input("H1: the client count was from the wrong month")
    at.button(key="results_amend").click().run()
    assert not at.exception, [e.value for e in at.exception]
    new = next(r for r in svc.list_reviews(db, actor=local_admin()) if r.id != review.id)
    assert (new.amendment_of, new.amendment_number, new.status) == (review.id, 1, "consensus")
    assert (
        svc.get_review(db, new.id, actor=local_admin()).amendment_reason
        == "H1: the client count was from the wrong month"
    )
    assert at.query_params["review"] == str(new.id)  # on the Rate page of the amendment
    assert svc.get_review(db, review.id, actor=local_admin()).status == "final"  # the final one is unchanged


def test_results_refuse_a_final_review_changed_outside_the_application(at: AppTest, db: Database) -> None:
    review = final_review(db)
    with db.engine.begin() as conn:  # someone lifts the trigger and edits a rating by hand
        conn.execute(text("DROP TRIGGER trg_consensus_ratings_final_update"))
        conn.execute(text("UPDATE consensus_ratings SET rating = 5 WHERE item_id = 'O4'"))
    open_page(at, "results", review.id)
    errors = texts(at.error)
    assert any(f"review {review.id}: its stored content does not match the checksum" in e for e in errors)
    assert not at.metric and not at.get("download_button")  # no score shown, nothing to download


def test_results_show_each_condition_of_a_state_variant(at: AppTest, db: Database) -> None:
    """Georgia requires a mean of 4.0 and a total of 112: with S10 not rated, CONSENSUS gives a
    mean of 109 / 27 = 4.04 (met) but a total of 109 (failed)."""
    review = start(db, add_program(db), "dacts-georgia")
    agree(db, review.id, {k: v for k, v in CONSENSUS.items() if k != "S10"})
    open_page(at, "results", review.id)
    assert not at.exception
    page = " ".join(texts(at.markdown))
    assert "**Conditions set by Georgia DBHDD**" in page
    assert ":green[**Met**]: mean 4.04 meets the required 4.0 (Georgia DBHDD contract)" in page
    assert ":red[**Failed**]: total 109 below the required 112 (1 item not rated)" in page
