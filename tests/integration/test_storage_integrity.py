"""Final reviews carry a checksum of their content, verified whenever they are shown or exported
(a table export leaves a failing review out and names it).

Tampering needs the immutability triggers out of the way first (as someone editing the
database by hand would have to do); the application must then refuse to pass the review on.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text

from services import reviews as svc
from services.access import local_admin
from services.database import Database
from services.errors import IntegrityFailure
from services.exports import item_ratings_table, left_out, review_export_json, reviews_table, wide_table
from storage.db import make_engine
from storage.integrity import PREFIX, content_checksum
from storage.migrate import downgrade, upgrade_to_head

DACTS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]

# (table, SQLite trigger that refuses the UPDATE, PostgreSQL trigger)
TRIGGERS = {
    "reviews": ("trg_reviews_final_update", "trg_reviews_final"),
    "consensus_ratings": ("trg_consensus_ratings_final_update", "trg_consensus_ratings_final"),
    "rater_ratings": ("trg_rater_ratings_final_update", "trg_rater_ratings_final"),
    "review_raters": ("trg_review_raters_final_update", "trg_review_raters_final"),
}
TAMPERING = [
    pytest.param(
        "consensus_ratings", "UPDATE consensus_ratings SET rating = 5 WHERE item_id = 'S3'", id="rating"
    ),
    pytest.param(
        "consensus_ratings",
        "UPDATE consensus_ratings SET evidence = 'other' WHERE item_id = 'H1'",
        id="evidence",
    ),
    pytest.param("rater_ratings", "UPDATE rater_ratings SET note = 'edited'", id="rater-note"),
    pytest.param("reviews", "UPDATE reviews SET summary = 'rewritten'", id="summary"),
    pytest.param("reviews", "UPDATE reviews SET review_date = '2020-01-01'", id="date"),
    pytest.param("reviews", "UPDATE reviews SET content_checksum = NULL", id="checksum-removed"),
    pytest.param("review_raters", "UPDATE review_raters SET rater = 'eve' WHERE rater = 'ben'", id="rater"),
]


@pytest.fixture
def final_review(db: Database, review: svc.ReviewView) -> svc.ReviewView:
    svc.save_rating(db, review.id, "ana", "H2", rating=4, note="charts", actor=local_admin("ana"))
    for item_id in DACTS:
        rating = 3 if item_id == "S3" else 4
        svc.save_consensus(
            db, review.id, item_id, rating=rating, expected_version=0, actor=local_admin("lead")
        )
    svc.save_consensus(
        db, review.id, "H1", rating=4, evidence="caseload list", expected_version=1, actor=local_admin("lead")
    )
    return svc.finalize(db, review.id, actor=local_admin("lead"))


def tamper(db: Database, table: str, statement: str) -> None:
    sqlite_trigger, pg_trigger = TRIGGERS[table]
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            ddl = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
                {"n": sqlite_trigger},
            ).scalar_one()
            conn.execute(text(f"DROP TRIGGER {sqlite_trigger}"))
            conn.execute(text(statement))
            conn.execute(text(ddl))
        else:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {pg_trigger}"))
            conn.execute(text(statement))
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {pg_trigger}"))


def stored_checksum(db: Database, review_id: int) -> str | None:
    with db.engine.connect() as conn:
        return conn.execute(
            text("SELECT content_checksum FROM reviews WHERE id = :id"), {"id": review_id}
        ).scalar_one()


def test_finalizing_stores_a_checksum_and_the_review_shows_and_exports(
    db: Database, final_review: svc.ReviewView
) -> None:
    checksum = stored_checksum(db, final_review.id)
    assert checksum is not None and checksum.startswith(PREFIX) and len(checksum) == len(PREFIX) + 64
    assert svc.get_review(db, final_review.id, actor=local_admin()) == final_review
    assert svc.review_json(db, final_review.id, actor=local_admin())["total"]["sum"] == 27 * 4 + 3
    assert (
        review_export_json(db, final_review.id, actor=local_admin())["items"]["H1"]["evidence"]
        == "caseload list"
    )
    assert len(reviews_table(db, actor=local_admin())) == 1


@pytest.mark.parametrize(("table", "statement"), TAMPERING)
def test_a_final_review_changed_outside_the_application_is_not_shown_or_exported(
    db: Database, final_review: svc.ReviewView, table: str, statement: str
) -> None:
    tamper(db, table, statement)
    message = f"review {final_review.id}: its stored content does not match the checksum"
    for show in (
        lambda: svc.get_review(db, final_review.id, actor=local_admin()),
        lambda: svc.review_json(db, final_review.id, actor=local_admin()),
        lambda: review_export_json(db, final_review.id, actor=local_admin()),
    ):
        with pytest.raises(IntegrityFailure, match=message):
            show()
    # A table export leaves the review out and names it (services.integrity_gate), exporting the rest.
    for table in (reviews_table, item_ratings_table, wide_table):
        frame = table(db, actor=local_admin())
        assert frame.empty
        [warning] = left_out(frame)
        assert warning.startswith(f"review {final_review.id} of Riverside ACT Team, ")
        assert "is left out" in warning and "`fidelity db check`" in warning


def test_open_reviews_have_no_checksum_and_are_shown(db: Database, review: svc.ReviewView) -> None:
    svc.save_consensus(db, review.id, "H1", rating=4, expected_version=0, actor=local_admin("lead"))
    assert stored_checksum(db, review.id) is None
    assert svc.get_review(db, review.id, actor=local_admin()).consensus["H1"].rating == 4
    assert len(reviews_table(db, status=None, actor=local_admin())) == 1


def test_the_checksum_covers_every_part_of_the_content() -> None:
    review = {"id": 1, "summary": "s", "final_score": {"total": {"sum": 100}}}
    consensus = [{"item_id": "H1", "rating": 4, "inputs": {"clients": 96}}, {"item_id": "H2", "rating": 3}]
    raters = ["ana", "ben"]
    rater_ratings = [{"rater": "ana", "item_id": "H1", "rating": 4}]
    base = content_checksum(None, review, raters, consensus, rater_ratings)
    # Order of rows and raters does not matter; every value does.
    assert content_checksum(None, review, raters[::-1], consensus[::-1], rater_ratings) == base
    changed = [
        content_checksum(None, review | {"summary": "t"}, raters, consensus, rater_ratings),
        content_checksum(
            None, review | {"final_score": {"total": {"sum": 101}}}, raters, consensus, rater_ratings
        ),
        content_checksum(None, review, ["ana", "eve"], consensus, rater_ratings),
        content_checksum(
            None, review, raters, [consensus[0] | {"inputs": {"clients": 97}}, consensus[1]], rater_ratings
        ),
        content_checksum(None, review, raters, consensus[:1], rater_ratings),
        content_checksum(None, review, raters, consensus, [rater_ratings[0] | {"rating": 5}]),
        content_checksum(None, review, raters, consensus, []),
    ]
    assert len({base, *changed}) == len(changed) + 1


def without_global_ids(review: svc.ReviewView) -> svc.ReviewView:
    ratings = {
        rater: {item: replace(rating, global_id=None) for item, rating in by_item.items()}
        for rater, by_item in review.ratings.items()
    }
    return replace(review, ratings=ratings)


def test_upgrading_an_older_database_checksums_its_final_reviews(
    db: Database, db_url: str, final_review: svc.ReviewView
) -> None:
    expected = stored_checksum(db, final_review.id)
    db.dispose()
    engine = make_engine(db_url)
    try:
        downgrade(engine, "0001")  # the database as it was before checksums were kept
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    reopened = Database(db_url, registry=db.registry)
    try:
        assert stored_checksum(reopened, final_review.id) == expected
        # Every rating and score is back; only the ratings' global ids are new, since a downgrade
        # below 0011 drops that column (the field-copy identity) and the upgrade issues fresh ones.
        assert without_global_ids(svc.get_review(reopened, final_review.id, actor=local_admin())) == (
            without_global_ids(final_review)
        )
        with (
            pytest.raises(Exception, match="review is final and cannot be changed"),
            reopened.engine.begin() as c,
        ):
            c.execute(text("UPDATE reviews SET summary = 'x' WHERE id = :id"), {"id": final_review.id})
    finally:
        reopened.dispose()
