"""The SQL scorer (services.analytics_data.review_scores: the database adds up each review's
ratings per subscale) and the vectorised scorer on the stored rows (finalized_ratings, then
scoring.analytics.review_totals) give what the pure scorer gives, on SQLite and PostgreSQL.

Reviews are stored as bench/generate.py and a bulk import store them: rows inserted in one
transaction, then made final with their ratings seal (cheaper than the rating services, and the same rows: the
scorers read only reviews and consensus_ratings). Each example is a new program, so the
examples share one database. Three registries, one for each way the statement tells a
rating's subscale: the bundled scales alone (by item id prefix, as in production), the bundled
scales with variants of each (every total method, other precisions and bands, regrouped
subscales: by scale version and item id) and the bundled scales with longer item ids (by IN
lists of item ids). Each program's reviews are read three ways: all of them, one scale's, and
the latest of each scale (each a different statement).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, update

from domain.vocabulary import RatingSource
from scales import ScaleRegistry
from scoring.analytics import review_totals
from services import reviews as svc
from services.access import local_admin
from services.analytics_data import finalized_ratings, review_scores
from services.database import Database
from storage.integrity import ratings_seal
from storage.models import ConsensusRating, Review
from tests.unit.scorer_cases import (
    BUNDLED,
    ReviewCase,
    assert_agrees,
    registry_of,
    renamed,
    reviews,
    with_variants,
)

ADMIN = local_admin("admin")
VARIANTS = with_variants()
RENAMED = registry_of([renamed(scale, "ACT.") for scale in BUNDLED.all()])
DB_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_names = itertools.count(1)


def store_final(db: Database, cases: Sequence[ReviewCase]) -> tuple[int, dict[int, ReviewCase]]:
    """A new program with the cases as its final reviews; returns its id and the cases by the
    ids the database gave them."""
    program = svc.create_program(db, f"Program {next(_names)}", provider="Provider", actor=ADMIN)
    now = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    stored: dict[int, ReviewCase] = {}
    with db.engine.begin() as conn:
        for case in cases:
            review_id = conn.execute(
                insert(Review)
                .values(
                    program_id=program.id,
                    scale_id=case.scale.id,
                    scale_version=case.scale.version,
                    scale_hash=case.scale.content_hash,
                    review_date=case.review_date,
                    review_type="baseline",
                    status="draft",
                    amendment_number=0,
                    version=1,
                    created_at=now,
                    created_by="x",
                    updated_at=now,
                )
                .returning(Review.id)
            ).scalar_one()
            rows = [
                {
                    "review_id": review_id,
                    "item_id": item_id,
                    "rating": rating,
                    "rating_source": None if rating is None else RatingSource.RATED.value,
                    "not_rated_reason": None if rating is not None else "not rated in the test",
                    "updated_at": now,
                    "updated_by": "x",
                    "version": 1,
                }
                for item_id, rating in case.rows()
            ]
            conn.execute(insert(ConsensusRating), rows)
            sealed = {
                "id": review_id,
                "program_id": program.id,
                "scale_id": case.scale.id,
                "scale_version": case.scale.version,
                "scale_hash": case.scale.content_hash,
                "review_date": case.review_date,
                "amendment_of": None,
            }
            seal = ratings_seal(db.integrity_key, sealed, case.rows(), None)  # as a bulk writer seals
            conn.execute(
                update(Review)
                .where(Review.id == review_id)
                .values(status="final", finalized_at=now, finalized_by="x", ratings_seal=seal)
            )
            stored[review_id] = ReviewCase(review_id, case.scale, case.review_date, case.entries)
    return program.id, stored


def check_database(db: Database, cases: Sequence[ReviewCase]) -> None:
    program_id, stored = store_final(db, cases)
    scores = review_scores(db, actor=ADMIN, program_id=program_id)
    assert not scores.problems
    frame = scores.frame
    assert sorted(frame["review_id"]) == sorted(stored)
    for row in frame.to_dict("records"):
        assert_agrees(row, stored[int(row["review_id"])], where=f"review_scores on {db.dialect}")
    for scale_id in {case.scale.id for case in cases}:  # narrowed to one scale's versions
        one = review_scores(db, actor=ADMIN, program_id=program_id, scale_id=scale_id).frame
        assert sorted(one["review_id"]) == sorted(k for k, c in stored.items() if c.scale.id == scale_id)
        for row in one.to_dict("records"):
            assert_agrees(
                row, stored[int(row["review_id"])], where=f"review_scores({scale_id}) on {db.dialect}"
            )
    latest = review_scores(db, actor=ADMIN, program_id=program_id, latest=1).frame  # another statement
    newest: dict[str, int] = {}
    for review_id, case in sorted(stored.items(), key=lambda kv: (kv[1].review_date, kv[0])):
        newest[case.scale.id] = review_id
    assert sorted(latest["review_id"]) == sorted(newest.values())
    for row in latest.to_dict("records"):
        assert_agrees(row, stored[int(row["review_id"])], where=f"review_scores(latest=1) on {db.dialect}")
    ratings = finalized_ratings(db, actor=ADMIN, program_id=program_id)
    for row in review_totals(ratings, db.registry).to_dict("records"):
        assert_agrees(row, stored[int(row["review_id"])], where=f"finalized_ratings on {db.dialect}")


@pytest.fixture
def variants_db(db_url: str, open_db: Callable[..., Database]) -> Database:
    return open_db(db_url, VARIANTS)


@pytest.fixture
def renamed_db(db_url: str, open_db: Callable[..., Database]) -> Database:
    return open_db(db_url, RENAMED)


@DB_SETTINGS
@given(cases=reviews(BUNDLED.all(), most=4))
def test_the_database_scores_bundled_scales_as_the_pure_scorer(db: Database, cases: list[ReviewCase]) -> None:
    check_database(db, cases)


@DB_SETTINGS
@given(data=st.data())
def test_the_database_scores_every_method_and_grouping_as_the_pure_scorer(
    variants_db: Database, data: st.DataObject
) -> None:
    registry: ScaleRegistry = variants_db.registry
    base = data.draw(st.sampled_from(BUNDLED.all()))
    chosen = data.draw(
        st.lists(
            st.sampled_from(registry.versions(base.id)), min_size=1, max_size=3, unique_by=lambda s: s.version
        )
    )
    others = data.draw(st.lists(st.sampled_from(registry.all()), max_size=1))  # another scale now and then
    check_database(variants_db, data.draw(reviews([*chosen, *others], most=5)))


@DB_SETTINGS
@given(cases=reviews(RENAMED.all(), most=4))
def test_the_database_scores_item_ids_without_telling_prefixes_as_the_pure_scorer(
    renamed_db: Database, cases: list[ReviewCase]
) -> None:
    check_database(renamed_db, cases)
