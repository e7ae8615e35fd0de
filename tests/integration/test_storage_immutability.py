"""A final review cannot change: the service refuses, and the database refuses raw SQL too."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services import reviews as svc
from services.access import local_admin
from services.database import Database
from services.errors import ReviewFinalizedError

DACTS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]


@pytest.fixture
def final_review(db: Database, review: svc.ReviewView) -> svc.ReviewView:
    svc.save_rating(db, review.id, "ana", "H2", rating=4, note="charts", actor=local_admin("ana"))
    for item_id in DACTS:
        svc.save_consensus(db, review.id, item_id, rating=4, expected_version=0, actor=local_admin("lead"))
    return svc.finalize(db, review.id, actor=local_admin("lead"))


RAW_CHANGES = [
    "UPDATE reviews SET summary = 'rewritten' WHERE id = :id",
    "UPDATE reviews SET status = 'draft' WHERE id = :id",
    "DELETE FROM reviews WHERE id = :id",
    "UPDATE consensus_ratings SET rating = 1 WHERE review_id = :id",
    "DELETE FROM consensus_ratings WHERE review_id = :id",
    "INSERT INTO consensus_ratings (review_id, item_id, updated_at, updated_by, version) "
    "VALUES (:id, 'X1', CURRENT_TIMESTAMP, 'raw', 1)",
    "UPDATE rater_ratings SET rating = 1 WHERE review_id = :id",
    "DELETE FROM rater_ratings WHERE review_id = :id",
    "INSERT INTO rater_ratings (review_id, rater, item_id, updated_at, updated_by, version) "
    "VALUES (:id, 'ana', 'H3', CURRENT_TIMESTAMP, 'raw', 1)",
    "UPDATE review_raters SET rater = 'eve' WHERE review_id = :id",
    "DELETE FROM review_raters WHERE review_id = :id",
    "INSERT INTO review_raters (review_id, rater, added_at, added_by) VALUES (:id, 'eve', CURRENT_TIMESTAMP, 'raw')",
]


def test_the_database_refuses_raw_changes_to_a_final_review(
    db: Database, final_review: svc.ReviewView
) -> None:
    for statement in RAW_CHANGES:
        with (
            pytest.raises(DBAPIError, match="review is final and cannot be changed"),
            db.engine.begin() as conn,
        ):
            conn.execute(text(statement), {"id": final_review.id})
    if db.dialect == "postgresql":  # TRUNCATE skips row triggers; SQLite has none, its DELETE fires them
        for table in ("audit_log", "reviews", "consensus_ratings", "rater_ratings", "review_raters"):
            with pytest.raises(DBAPIError, match="cannot be truncated"), db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {table} CASCADE"))
    assert svc.get_review(db, final_review.id, actor=local_admin()) == final_review


def test_the_audit_log_is_append_only(db: Database, final_review: svc.ReviewView) -> None:
    before = svc.audit_trail(db, final_review.id, actor=local_admin())
    for statement in ("UPDATE audit_log SET new_value = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="audit log is append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    assert svc.audit_trail(db, final_review.id, actor=local_admin()) == before


def test_a_draft_review_can_still_be_changed_with_sql(db: Database, review: svc.ReviewView) -> None:
    svc.save_rating(db, review.id, "ana", "H2", rating=4, actor=local_admin("ana"))
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE reviews SET summary = 'ok' WHERE id = :id"), {"id": review.id})
        conn.execute(text("UPDATE rater_ratings SET note = 'ok' WHERE review_id = :id"), {"id": review.id})
    assert svc.get_review(db, review.id, actor=local_admin()).summary == "ok"


def test_a_trigger_refusal_reaches_the_caller_as_a_domain_error(
    db: Database, final_review: svc.ReviewView
) -> None:
    # Bypass the service's own check to show the database backstop is translated.
    with pytest.raises(ReviewFinalizedError, match="final and cannot be changed"), db.writing() as s:
        s.execute(text("UPDATE reviews SET summary = 'x' WHERE id = :id"), {"id": final_review.id})


def test_amending_leaves_the_final_review_and_its_rows_as_they_were(
    db: Database, final_review: svc.ReviewView
) -> None:
    def snapshot() -> list[list[tuple[object, ...]]]:
        with db.engine.connect() as conn:
            return [
                [
                    tuple(row)
                    for row in conn.execute(
                        text(f"SELECT * FROM {table} WHERE review_id = :id ORDER BY id"),
                        {"id": final_review.id},
                    )
                ]
                for table in ("review_raters", "rater_ratings", "consensus_ratings")
            ] + [
                [
                    tuple(r)
                    for r in conn.execute(
                        text("SELECT * FROM reviews WHERE id = :id"), {"id": final_review.id}
                    )
                ]
            ]

    before = snapshot()
    amendment = svc.amend(db, final_review.id, "recount of H1", actor=local_admin("lead"))
    svc.save_consensus(db, amendment.id, "H1", rating=5, expected_version=1, actor=local_admin("lead"))
    svc.update_review(db, amendment.id, review_end_date=dt.date(2026, 3, 20), actor=local_admin("lead"))
    assert snapshot() == before
