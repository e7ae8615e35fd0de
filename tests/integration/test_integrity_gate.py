"""The integrity gate (services.integrity_gate): every read of final reviews checks each one's
ratings seal, and leaves out (with a warning naming it) a review whose rows were changed
outside the application: Drift's and Compare's data, the Reviews list, the table exports and
the PDF's drift chart. On SQLite and PostgreSQL.

An edit outside the application needs the immutability triggers out of the way first, as in
tests/integration/test_storage_integrity.py, whose `tamper` does that.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import pytest
from sqlalchemy import text

from services import reviews as svc
from services.access import local_admin
from services.analytics_data import drift_overview, finalized_ratings, of_scale, review_scores
from services.database import Database
from services.errors import IntegrityFailure
from services.exports import item_ratings_table, left_out, reviews_table, wide_table
from services.report_data import from_stored_review, load_final_ratings
from storage.db import make_engine
from storage.integrity import resealed
from storage.migrate import downgrade, upgrade_to_head
from tests.integration.test_storage_integrity import DACTS, tamper

ADMIN = local_admin("admin")


def finalized(db: Database, program_id: int, when: dt.date, rating: int) -> svc.ReviewView:
    """A final DACTS review of the program with every item rated `rating` (S3 one lower)."""
    review = svc.start_review(
        db, program_id, "dacts", "1.0", when, "follow-up", ["ana", "ben"], actor=local_admin("lead")
    )
    for item_id in DACTS:
        value = rating - 1 if item_id == "S3" else rating
        svc.save_consensus(
            db, review.id, item_id, rating=value, expected_version=0, actor=local_admin("lead")
        )
    return svc.finalize(db, review.id, actor=local_admin("lead"))


@dataclass(frozen=True)
class Agency:
    first: svc.ReviewView
    middle: svc.ReviewView  # the one the tests edit
    latest: svc.ReviewView
    other: svc.ReviewView  # another program's

    @property
    def all_ids(self) -> set[int]:
        return {self.first.id, self.middle.id, self.latest.id, self.other.id}


@pytest.fixture
def agency(db: Database, program: svc.ProgramView) -> Agency:
    other = svc.create_program(db, "Lakeside ACT Team", provider="Lake Care", model="ACT", actor=ADMIN)
    return Agency(
        first=finalized(db, program.id, dt.date(2024, 1, 10), 4),
        middle=finalized(db, program.id, dt.date(2024, 7, 10), 4),
        latest=finalized(db, program.id, dt.date(2025, 1, 10), 3),
        other=finalized(db, other.id, dt.date(2024, 9, 1), 5),
    )


def warning_of(review: svc.ReviewView) -> str:
    return (
        f"review {review.id} of {review.program.name}, {review.review_date.isoformat()}, is left out: its ratings do "
        "not match their seal (changed outside the application); run `fidelity db check`"
    )


def edit_rating(db: Database, review: svc.ReviewView, item_id: str = "H2", rating: int = 1) -> None:
    tamper(
        db,
        "consensus_ratings",
        f"UPDATE consensus_ratings SET rating = {rating} WHERE review_id = {review.id} AND item_id = '{item_id}'",
    )


def test_an_untouched_database_gives_no_warning(db: Database, agency: Agency) -> None:
    ratings = finalized_ratings(db, actor=ADMIN)
    assert set(ratings["review_id"]) == agency.all_ids and left_out(ratings) == []
    scores = review_scores(db, actor=ADMIN)
    assert set(scores.columns["review_id"]) == agency.all_ids and scores.problems == ()
    listed = svc.list_reviews(db, actor=ADMIN)
    assert all(r.problem is None and r.total_mean is not None for r in listed)
    table = reviews_table(db, actor=ADMIN)
    assert set(table["review_id"]) == agency.all_ids and left_out(table) == []
    report = from_stored_review(db, agency.latest.id, actor=ADMIN)
    assert report.drift is not None and report.drift_left_out == ()


def test_an_edited_rating_is_left_out_of_drift_and_compare_with_its_warning(
    db: Database, agency: Agency
) -> None:
    edit_rating(db, agency.middle)
    warning = warning_of(agency.middle)
    kept = agency.all_ids - {agency.middle.id}

    # Drift and Compare's data: the ratings (every review; each program's latest two) and the scores.
    ratings = finalized_ratings(db, actor=ADMIN)
    assert set(ratings["review_id"]) == kept and left_out(ratings) == [warning]
    latest_two = finalized_ratings(db, actor=ADMIN, latest=2, evidence=False)
    assert agency.middle.id not in set(latest_two["review_id"]) and left_out(latest_two) == [warning]
    overview = drift_overview(latest_two, db.registry)
    assert agency.middle.id not in {*overview["review_id"], *overview["previous_review_id"].dropna()}
    for narrowed in ({}, {"scale_id": "dacts"}, {"program_id": agency.middle.program.id}):
        scores = review_scores(db, actor=ADMIN, **narrowed)
        assert agency.middle.id not in set(scores.columns["review_id"])
        assert scores.problems == (warning,)
    # The edited rating reaches no figure: the program's scores are the untouched reviews' only.
    scores = review_scores(db, actor=ADMIN, program_id=agency.middle.program.id)
    assert list(scores.columns["review_id"]) == [agency.first.id, agency.latest.id]


def test_one_scale_of_a_read_is_that_scales_own_read_with_its_warnings(db: Database, agency: Agency) -> None:
    # Compare draws a scale's comparison from the filters' read of every scale (of_scale), not
    # from a second read: the rows and the left-out reviews must be the narrowed read's.
    edit_rating(db, agency.latest)
    iddt = svc.create_program(db, "Hillside IDDT", provider="Lake Care", model="IDDT", actor=ADMIN)
    review = svc.start_review(
        db, iddt.id, "iddt", "1.0", dt.date(2024, 3, 1), "baseline", ["ana"], actor=ADMIN
    )
    for item_id in db.registry.get("iddt", "1.0").item_ids:
        svc.save_consensus(db, review.id, item_id, rating=3, expected_version=0, actor=ADMIN)
    svc.finalize(db, review.id, actor=ADMIN)
    every_scale = finalized_ratings(db, actor=ADMIN, latest=1, evidence=False)
    assert left_out(every_scale) == [warning_of(agency.latest)]
    for scale_id in ("dacts", "iddt"):
        shared = of_scale(every_scale, scale_id)
        own = finalized_ratings(db, actor=ADMIN, scale_id=scale_id, latest=1, evidence=False)
        pd.testing.assert_frame_equal(shared, own)
        assert (
            left_out(shared) == left_out(own) == ([warning_of(agency.latest)] if scale_id == "dacts" else [])
        )
    assert agency.latest.id not in set(of_scale(every_scale, "dacts")["review_id"])


def test_the_reviews_list_marks_an_edited_review_and_shows_no_score(db: Database, agency: Agency) -> None:
    edit_rating(db, agency.middle)
    listed = {r.id: r for r in svc.list_reviews(db, actor=ADMIN)}
    marked = listed[agency.middle.id]
    assert marked.problem == warning_of(agency.middle)
    assert (marked.total_mean, marked.total_sum, marked.rated, marked.items, marked.band) == (None,) * 5
    assert all(
        listed[i].problem is None and listed[i].total_mean is not None for i in agency.all_ids - {marked.id}
    )
    page = svc.list_reviews(db, actor=ADMIN, limit=2, offset=1)  # a page of the list: the same check
    assert [r.id for r in page] == [agency.other.id, agency.middle.id] and page[1].problem == marked.problem


@pytest.mark.parametrize("edit", ["band", "total"])
def test_an_edited_stored_score_is_not_listed(db: Database, agency: Agency, edit: str) -> None:
    path, value = ("band", "'Full implementation'") if edit == "band" else ("total.sum", "140")
    if db.dialect == "sqlite":
        statement = f"UPDATE reviews SET final_score = json_set(final_score, '$.{path}', {value})"
    else:
        pg_path = "{" + path.replace(".", ",") + "}"
        pg_value = "'\"Full implementation\"'" if edit == "band" else "'140'"
        statement = (
            f"UPDATE reviews SET final_score = CAST(jsonb_set(CAST(final_score AS jsonb), '{pg_path}', "
            f"{pg_value}) AS json)"
        )
    tamper(db, "reviews", f"{statement} WHERE id = {agency.latest.id}")
    listed = {r.id: r for r in svc.list_reviews(db, actor=ADMIN)}
    assert listed[agency.latest.id].problem == warning_of(agency.latest)
    assert listed[agency.latest.id].band is None and listed[agency.latest.id].total_sum is None
    # The analytics never read the stored score: they add up the ratings, which still match the
    # seal's ratings half, so they keep the review with its true band and total.
    scores = review_scores(db, actor=ADMIN, program_id=agency.latest.program.id)
    assert scores.problems == () and list(scores.columns["review_id"])[-1] == agency.latest.id
    assert scores.frame["band"].iloc[-1] == "Not ACT" and scores.frame["total_sum"].iloc[-1] == 27 * 3 + 2


def test_a_whole_agency_export_lists_the_edited_review_and_exports_the_others(
    db: Database, agency: Agency
) -> None:
    edit_rating(db, agency.middle)
    for table in (reviews_table, item_ratings_table, wide_table):
        frame = table(db, actor=ADMIN)
        assert left_out(frame) == [warning_of(agency.middle)]
        assert len(frame) == (3 * len(DACTS) if table is item_ratings_table else 3)
    assert set(reviews_table(db, actor=ADMIN)["review_id"]) == agency.all_ids - {agency.middle.id}
    with pytest.raises(IntegrityFailure):  # one review's own export, or showing it, still refuses
        svc.get_review(db, agency.middle.id, actor=ADMIN)


def test_the_pdf_drift_chart_leaves_the_edited_review_out_and_names_it(db: Database, agency: Agency) -> None:
    edit_rating(db, agency.middle)
    report = from_stored_review(db, agency.latest.id, actor=ADMIN)
    assert report.drift is not None
    assert set(report.drift.values["review_id"]) == {agency.first.id, agency.latest.id}
    assert report.drift_left_out == (warning_of(agency.middle),)
    everything = load_final_ratings(db, actor=ADMIN)  # the CLI's bulk reports pass the agency's frame
    report = from_stored_review(db, agency.other.id, actor=ADMIN, final_ratings=everything)
    assert report.drift_left_out == ()  # another program's failing review is not this report's


def test_a_seal_removed_fails(db: Database, agency: Agency) -> None:
    tamper(db, "reviews", f"UPDATE reviews SET ratings_seal = NULL WHERE id = {agency.other.id}")
    frame = finalized_ratings(db, actor=ADMIN)
    assert agency.other.id not in set(frame["review_id"])
    assert left_out(frame) == [warning_of(agency.other)]
    assert warning_of(agency.other).startswith(f"review {agency.other.id} of Lakeside ACT Team, 2024-09-01, ")


@pytest.mark.parametrize(("written_with", "read_with"), [(None, "a secret key"), ("a secret key", None)])
def test_a_review_sealed_under_one_key_fails_under_another(
    db: Database, program: svc.ProgramView, written_with: str | None, read_with: str | None
) -> None:
    writer = Database(db.url, registry=db.registry, integrity_key=written_with)
    reader = Database(db.url, registry=db.registry, integrity_key=read_with)
    try:
        review = finalized(writer, program.id, dt.date(2024, 1, 10), 4)
        assert left_out(finalized_ratings(writer, actor=ADMIN)) == []
        frame = finalized_ratings(reader, actor=ADMIN)
        assert frame.empty and left_out(frame) == [warning_of(review)]
        assert review_scores(reader, actor=ADMIN).problems == (warning_of(review),)
    finally:
        writer.dispose()
        reader.dispose()


def test_upgrading_seals_the_final_reviews_whose_checksum_verifies(
    db: Database, db_url: str, agency: Agency
) -> None:
    db.dispose()
    engine = make_engine(db_url)
    try:
        downgrade(engine, "0005")  # the database as it was before seals
        edited = Database(db_url, registry=db.registry, migrate=False)
        edit_rating(edited, agency.middle)
        edited.dispose()
        upgrade_to_head(engine, integrity_key="the key")
    finally:
        engine.dispose()
    reopened = Database(db_url, registry=db.registry, integrity_key="the key")
    try:
        with reopened.engine.connect() as conn:
            seals = dict(conn.execute(text("SELECT id, ratings_seal FROM reviews")).all())
        assert seals[agency.middle.id] is None  # changed before the upgrade: not sealed, so it fails
        assert all(seals[i].startswith("hmac-sha256:") for i in agency.all_ids - {agency.middle.id})
        frame = finalized_ratings(reopened, actor=ADMIN)
        assert set(frame["review_id"]) == agency.all_ids - {agency.middle.id}
        assert left_out(frame) == [warning_of(agency.middle)]
    finally:
        reopened.dispose()


def test_resealing_for_a_new_key_keeps_a_failing_review_unsealed(db: Database, agency: Agency) -> None:
    edit_rating(db, agency.middle)
    with db.engine.connect() as conn:
        good, failing = resealed(conn, db.integrity_key, "the new key")
    assert failing == [agency.middle.id] and set(good) == agency.all_ids - {agency.middle.id}
    tamper(
        db,
        "reviews",
        "UPDATE reviews SET ratings_seal = CASE id "
        + " ".join(f"WHEN {i} THEN '{seal}'" for i, seal in good.items())
        + " ELSE NULL END",
    )
    rekeyed = Database(db.url, registry=db.registry, integrity_key="the new key")
    try:
        frame = finalized_ratings(rekeyed, actor=ADMIN)
        assert set(frame["review_id"]) == set(good) and left_out(frame) == [warning_of(agency.middle)]
    finally:
        rekeyed.dispose()
