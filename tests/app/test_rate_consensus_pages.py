"""Rate and Consensus pages under AppTest: entries made through the widgets reach the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from services.access import local_admin
from services.database import Database, open_database
from services.reviews import (
    create_program,
    get_review,
    open_consensus,
    save_consensus,
    save_rating,
    start_review,
    submit_ratings,
)

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    database = open_database(url)
    yield database
    database.dispose()


def start(db: Database, raters: tuple[str, ...] = ("Ana", "Ben")) -> int:
    program = create_program(db, "Riverside ACT", actor=local_admin("test"), provider="North", model="ACT")
    return start_review(
        db, program.id, "dacts", "1.0", dt.date(2026, 3, 2), "baseline", raters, actor=local_admin("test")
    ).id


def open_page(page: str, review_id: int | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    if review_id is not None:
        at.query_params["review"] = str(review_id)
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", ["rate", "consensus"])
def test_empty_database_says_what_to_do(db: Database, page: str) -> None:
    at = open_page(page)
    assert "Start one on the Reviews page" in " ".join(i.value for i in at.info)


def test_computed_item_from_numbers(db: Database) -> None:
    review_id = start(db)
    at = open_page("rate", review_id)
    at.number_input(key=f"rate|{review_id}|Ana|H1|clients").set_value(96).run()
    at.number_input(key=f"rate|{review_id}|Ana|H1|staff_fte").set_value(9.5).run()
    assert not at.exception
    assert any("rounded to 10 → rating **5**" in s.value for s in at.success)
    saved = get_review(db, review_id, actor=local_admin()).ratings["Ana"]["H1"]
    assert (saved.rating, saved.source, saved.inputs) == (5, "computed", {"clients": 96, "staff_fte": 9.5})


def test_half_entered_numbers_are_kept_and_a_bad_one_is_refused_where_entered(db: Database) -> None:
    review_id = start(db)
    at = open_page("rate", review_id)
    at.number_input(key=f"rate|{review_id}|Ana|H1|clients").set_value(96).run()
    assert get_review(db, review_id, actor=local_admin()).ratings["Ana"]["H1"].inputs == {"clients": 96}
    at.number_input(key=f"rate|{review_id}|Ana|H1|staff_fte").set_value(0.0).run()
    assert any("staff_fte must be greater than 0" in e.value for e in at.error)
    assert not any("Saved at" in c.value for c in at.caption)  # an unsaved entry is never shown as saved
    assert get_review(db, review_id, actor=local_admin()).ratings["Ana"]["H1"].inputs == {"clients": 96}


def test_judged_item_rating_note_and_sources(db: Database) -> None:
    review_id = start(db)
    at = open_page("rate", review_id)
    at.selectbox(key=f"rate-item|{review_id}|Ana").set_value("H3").run()
    at.radio(key=f"rate|{review_id}|Ana|H3|rating").set_value(4).run()
    at.text_area(key=f"rate|{review_id}|Ana|H3|note").input("Meets four days a week").run()
    at.multiselect(key=f"rate|{review_id}|Ana|H3|sources").select(
        "Observation of the daily team meeting"
    ).run()
    assert not at.exception
    saved = get_review(db, review_id, actor=local_admin()).ratings["Ana"]["H3"]
    assert saved.rating == 4 and saved.note == "Meets four days a week"
    assert saved.data_sources == ["Observation of the daily team meeting"]
    assert any("Saved at" in c.value for c in at.caption)
    progress = at.get("progress")[0].text  # the bar's line of counts: all items, then each subscale's
    assert progress.startswith("**Rated 1 / 28** — ") and ": 1 / 11" in progress


def test_each_rater_rates_separately(db: Database) -> None:
    review_id = start(db)
    at = open_page("rate", review_id)
    at.radio(key=f"rater-{review_id}").set_value("Ben").run()
    at.radio(key=f"rate|{review_id}|Ben|H1|rating").set_value(2).run()
    review = get_review(db, review_id, actor=local_admin())
    assert review.ratings["Ben"]["H1"].rating == 2 and "H1" not in review.ratings.get("Ana", {})


def test_a_change_from_another_window_shows_up(db: Database) -> None:
    review_id = start(db)
    at = open_page("rate", review_id)
    save_rating(db, review_id, "Ana", "H1", actor=local_admin("other window"), rating=3)
    at.run()
    assert at.radio(key=f"rate|{review_id}|Ana|H1|rating").value == 3


def test_consensus_page_agrees_items_and_finalizes(db: Database) -> None:
    review_id = start(db)
    scale = db.registry.get("dacts", "1.0")
    for item_id in scale.item_ids:
        save_rating(
            db, review_id, "Ana", item_id, actor=local_admin("test"), rating=4, note=f"Ana saw {item_id}"
        )
        save_rating(
            db, review_id, "Ben", item_id, actor=local_admin("test"), rating=2 if item_id == "S3" else 4
        )
    for rater in ("Ana", "Ben"):  # the consensus opens once both raters have submitted
        submit_ratings(db, review_id, rater, actor=local_admin(rater))
    at = open_page("consensus", review_id)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Differ by 2 or more"] == "1" and metrics["Items both rated"] == "28 / 28"
    assert at.selectbox(key=f"consensus-item|{review_id}").value == "S3"  # discrepancies first
    at.button[0].click().run()  # accept every agreed rating
    review = get_review(db, review_id, actor=local_admin())
    assert len(review.consensus) == 27 and review.consensus["H1"].evidence == "Ana: Ana saw H1"
    at.radio(key=f"consensus|{review_id}|S3|rating").set_value(3).run()
    at.text_area(key=f"consensus|{review_id}|S3|evidence").input("Outreach is used, not consistently").run()
    assert get_review(db, review_id, actor=local_admin()).consensus["S3"].rating == 3
    next(b for b in at.button if b.label == "Finalize this review").click().run()
    assert not at.exception
    assert get_review(db, review_id, actor=local_admin()).status == "final"


def test_finalize_lists_what_is_missing_in_one_message_and_the_batch_action_clears_it(db: Database) -> None:
    review_id = start(db)
    open_consensus(db, review_id, "site visit cut short", actor=local_admin("lead"))
    save_consensus(db, review_id, "H2", expected_version=0, actor=local_admin("lead"), rating=4)
    at = open_page("consensus", review_id)
    next(b for b in at.button if b.label == "Finalize this review").click().run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors  # one message, not one per item
    assert "cannot be finalized yet: 27 item(s)" in errors[0]
    assert f"[H1 Small caseload](consensus?review={review_id}&item=H1)" in errors[0]  # a link per item
    assert "item=H2" not in errors[0]
    assert get_review(db, review_id, actor=local_admin()).status != "final"

    at.text_input(key=f"bulk-not-rated|{review_id}|reason").input("No records on site").run()
    next(b for b in at.button if b.label == "Mark all 27 not rated").click().run()
    assert not at.exception and not at.error
    review = get_review(db, review_id, actor=local_admin())
    assert review.consensus["H2"].rating == 4
    assert {c.not_rated_reason for i, c in review.consensus.items() if i != "H2"} == {"No records on site"}
    next(b for b in at.button if b.label == "Finalize this review").click().run()
    assert get_review(db, review_id, actor=local_admin()).status == "final"


def test_a_stale_consensus_edit_is_refused_with_a_message(db: Database) -> None:
    review_id = start(db)
    open_consensus(db, review_id, "test of a stale edit", actor=local_admin("lead"))
    at = open_page("consensus", review_id)
    item = at.selectbox(key=f"consensus-item|{review_id}").value
    save_consensus(db, review_id, item, expected_version=0, actor=local_admin("Ben in another tab"), rating=5)
    at.radio(key=f"consensus|{review_id}|{item}|rating").set_value(2).run()
    assert any("since you loaded it" in e.value or "changed" in e.value for e in at.error)
    assert get_review(db, review_id, actor=local_admin()).consensus[item].rating == 5


def test_goi_rates_any_program_but_dacts_only_act(db: Database) -> None:
    from services.errors import ValidationProblem

    act = create_program(db, "An ACT team", actor=local_admin("test"), model="ACT")
    iddt = create_program(db, "An IDDT team", actor=local_admin("test"), model="IDDT")
    for program in (act, iddt):
        assert start_review(
            db, program.id, "goi", None, dt.date(2026, 1, 5), "baseline", ["Ana"], actor=local_admin("t")
        ).id
    with pytest.raises(ValidationProblem, match="measures ACT"):
        start_review(
            db, iddt.id, "dacts", None, dt.date(2026, 1, 5), "baseline", ["Ana"], actor=local_admin("t")
        )


# ---- independent rating, progress, overrides (issue 18) ------------------------------------------


def test_a_rater_sees_only_their_own_ratings_until_both_submit(db: Database) -> None:
    review_id = start(db)
    save_rating(db, review_id, "Ben", "H2", actor=local_admin("Ben"), rating=1, note="Ben's secret note")
    at = open_page("rate", review_id)  # the local admin, acting for Ana
    assert any("You are the local admin (no sign-in)" in c.value for c in at.caption)
    at.selectbox(key=f"rate-item|{review_id}|Ana").set_value("H2").run()
    assert at.radio(key=f"rate|{review_id}|Ana|H2|rating").value is None
    assert "Ben's secret note" not in str(at)
    consensus = open_page("consensus", review_id)
    assert any("opens when every rater has submitted" in i.value for i in consensus.info)
    assert not consensus.metric and "Ben's secret note" not in str(consensus)

    at.radio(key=f"rate|{review_id}|Ana|H2|rating").set_value(3).run()
    assert "**27** item(s) left unrated" in " ".join(m.value for m in at.markdown)
    next(b for b in at.button if b.label == "Submit Ana's ratings").click().run()
    assert any("Ana submitted their ratings" in s.value for s in at.success)
    assert not any(r.key == f"rate|{review_id}|Ana|H2|rating" for r in at.radio)  # locked
    at.radio(key=f"rater-{review_id}").set_value("Ben").run()
    next(b for b in at.button if b.label == "Submit Ben's ratings").click().run()
    consensus = open_page("consensus", review_id)
    assert not consensus.exception and {m.label for m in consensus.metric} >= {"Exact agreement"}
    assert get_review(db, review_id, actor=local_admin()).ratings["Ana"]["H2"].updated_by == "Ana"


def test_the_item_picker_marks_rated_items_and_next_unrated_skips_them(db: Database) -> None:
    review_id = start(db)
    for item_id in ("H2", "H3"):
        save_rating(db, review_id, "Ana", item_id, actor=local_admin("Ana"), rating=4)
    at = open_page("rate", review_id)
    picker = at.selectbox(key=f"rate-item|{review_id}|Ana")
    assert picker.options[:4] == [
        "○ H1 Small caseload",
        "✓ H2 Team approach",
        "✓ H3 Program meeting",
        "○ H4 Practicing team leader",
    ]
    picker.set_value("H1").run()
    next(b for b in at.button if b.label == "Next unrated").click().run()
    assert at.selectbox(key=f"rate-item|{review_id}|Ana").value == "H4"


def test_a_computed_rating_shows_selected_and_an_override_needs_a_reason(db: Database) -> None:
    review_id = start(db)
    at = open_page("rate", review_id)
    at.number_input(key=f"rate|{review_id}|Ana|H1|clients").set_value(96).run()
    at.number_input(key=f"rate|{review_id}|Ana|H1|staff_fte").set_value(9.5).run()
    rating = at.radio(key=f"rate|{review_id}|Ana|H1|rating")
    assert rating.value == 5  # the computed rating is the selected one
    rating.set_value(3).run()
    assert any("is an override and needs a reason" in w.value for w in at.warning)
    assert get_review(db, review_id, actor=local_admin()).ratings["Ana"]["H1"].rating == 5  # not saved yet
    next(b for b in at.button if b.label == "Override with 3").click().run()
    assert any("reason for overriding the computed rating" in e.value for e in at.error)
    assert get_review(db, review_id, actor=local_admin()).ratings["Ana"]["H1"].rating == 5
    at.text_input(key=f"rate|{review_id}|Ana|H1|rating|override-reason").input(
        "FTE counts two vacancies"
    ).run()
    next(b for b in at.button if b.label == "Override with 3").click().run()
    saved = get_review(db, review_id, actor=local_admin()).ratings["Ana"]["H1"]
    assert (saved.rating, saved.override_reason) == (3, "FTE counts two vacancies")
    assert any("override: FTE counts two vacancies" in m.value for m in at.markdown)


def test_results_label_an_overridden_rating_as_an_override(db: Database) -> None:
    from services.reviews import finalize, mark_unrated_not_rated

    review_id = start(db)
    numbers = {"clients": 96, "staff_fte": 9.5}
    c = save_consensus(db, review_id, "H1", expected_version=0, actor=local_admin("lead"), inputs=numbers)
    save_consensus(
        db,
        review_id,
        "H1",
        expected_version=c.version,
        actor=local_admin("lead"),
        rating=3,
        inputs=None,
        override_reason="FTE counts two vacancies",
    )
    mark_unrated_not_rated(db, review_id, "not seen", actor=local_admin("lead"))
    finalize(db, review_id, actor=local_admin("lead"))
    at = open_page("results", review_id)
    table = next(d.value for d in at.dataframe if "source" in d.value.columns)
    h1 = table.set_index("id").loc["H1"]
    assert (h1["rating"], h1["source"]) == (3, "override: FTE counts two vacancies")


def test_the_consensus_overrides_a_computed_rating_only_with_a_reason(db: Database) -> None:
    review_id = start(db)
    open_consensus(db, review_id, "test of an override", actor=local_admin("lead"))
    numbers = {"clients": 96, "staff_fte": 9.5}
    save_consensus(db, review_id, "H1", expected_version=0, actor=local_admin("lead"), inputs=numbers)
    at = open_page("consensus", review_id)
    at.selectbox(key=f"consensus-item|{review_id}").set_value("H1").run()
    assert at.radio(key=f"consensus|{review_id}|H1|rating").value == 5
    at.radio(key=f"consensus|{review_id}|H1|rating").set_value(3).run()
    assert any("is an override and needs a reason" in e.value for e in at.error)
    assert get_review(db, review_id, actor=local_admin()).consensus["H1"].rating == 5
    at.text_input(key=f"consensus|{review_id}|H1|override").input("FTE counts two vacancies").run()
    at.radio(key=f"consensus|{review_id}|H1|rating").set_value(2).run()
    saved = get_review(db, review_id, actor=local_admin()).consensus["H1"]
    assert (saved.rating, saved.override_reason) == (2, "FTE counts two vacancies")


def test_a_long_session_keeps_only_the_shown_items_saved_values_and_loses_nothing(db: Database) -> None:
    review_id = start(db)
    at = open_page("rate", review_id)
    at.selectbox(key=f"rate-item|{review_id}|Ana").set_value("H3").run()
    at.radio(key=f"rate|{review_id}|Ana|H3|rating").set_value(4).run()
    at.text_area(key=f"rate|{review_id}|Ana|H3|note").input("Meets four days a week").run()
    for _ in range(5):  # H4 … H8, one after the other
        next(b for b in at.button if b.label == "Next ▶").click().run()
    assert not at.exception
    assert at.selectbox(key=f"rate-item|{review_id}|Ana").value == "H8"
    fields = ("rating|db", "note|db", "sources|db", "base")
    assert all(f"rate|{review_id}|Ana|H8|{f}" in at.session_state for f in fields)
    left = [(i, f) for i in ("H3", "H4", "H5", "H6", "H7") for f in fields]
    assert not [k for k in left if f"rate|{review_id}|Ana|{k[0]}|{k[1]}" in at.session_state]

    # Back on H3: the saved entry is shown again (read from the database), and a change saves on top.
    at.selectbox(key=f"rate-item|{review_id}|Ana").set_value("H3").run()
    assert at.radio(key=f"rate|{review_id}|Ana|H3|rating").value == 4
    assert at.text_area(key=f"rate|{review_id}|Ana|H3|note").value == "Meets four days a week"
    assert any(m.value == "Saved rating: **4** (rated)" for m in at.markdown)
    at.radio(key=f"rate|{review_id}|Ana|H3|rating").set_value(3).run()
    assert not at.exception and not at.error
    saved = get_review(db, review_id, actor=local_admin()).ratings["Ana"]["H3"]
    assert (saved.rating, saved.note) == (3, "Meets four days a week")
    assert any("Saved at" in c.value for c in at.caption)
