"""Stored final sums (storage.final_sums, services.final_sums): each final review's rating sums,
stored and sealed when it becomes final, read by the dashboard (each program's latest review of
a scale) by key. They equal the sums of the ratings, every read recomputes their seal (a sum
edited outside the application is left out, with a warning), `fidelity db check` compares them
with the ratings, and re-keying writes them again. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import text

from domain.vocabulary import Role
from services import integrity
from services import reviews as svc
from services.access import Actor, local_admin
from services.analytics_data import finalized_ratings, review_scores
from services.database import Database
from services.lifecycle import amend, finalize
from storage.final_sums import parse_subscales
from tests.integration.test_integrity_gate import finalized

ADMIN = local_admin("admin")
COLUMNS = ["review_id", "rated", "total_sum", "total_mean", "banded_value", "band", "sub_H", "sub_O", "sub_S"]


def _agency(db: Database, program: svc.ProgramView) -> dict[str, int]:
    other = svc.create_program(db, "Lakeside ACT Team", provider="Lake Care", model="ACT", actor=ADMIN)
    first = finalized(db, program.id, dt.date(2024, 1, 10), 4)
    latest = finalized(db, program.id, dt.date(2025, 1, 10), 3)
    mixed = svc.start_review(
        db, other.id, "dacts", "1.0", dt.date(2024, 9, 1), "follow-up", ["ana"], actor=ADMIN
    )
    for n, item in enumerate(db.registry.get("dacts", "1.0").items):
        if n % 7 == 3:  # a few items not rated, with a reason
            svc.mark_not_rated(db, mixed.id, item.id, "no records", expected_version=0, actor=ADMIN)
        else:
            svc.save_consensus(db, mixed.id, item.id, rating=1 + n % 5, expected_version=0, actor=ADMIN)
    finalize(db, mixed.id, actor=ADMIN)
    amendment = amend(db, latest.id, "a corrected rating", actor=ADMIN)
    with db.engine.connect() as conn:
        version = conn.execute(
            text("SELECT version FROM consensus_ratings WHERE review_id = :r AND item_id = 'O2'"),
            {"r": amendment.id},
        ).scalar_one()
    svc.save_consensus(db, amendment.id, "O2", rating=1, expected_version=version, actor=ADMIN)
    finalize(db, amendment.id, actor=ADMIN)
    return {"first": first.id, "latest": latest.id, "mixed": mixed.id, "amendment": amendment.id}


def _stored(db: Database) -> dict[int, tuple[int, int, dict[str, tuple[int, int]]]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT review_id, rated, total_sum, subscales FROM final_review_sums")
        ).all()
    return {r[0]: (r[1], r[2], parse_subscales(r[3])) for r in rows}


def _tamper_sums(db: Database, statement: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement))


def test_stored_sums_equal_the_sums_of_the_ratings(db: Database, program: svc.ProgramView) -> None:
    ids = _agency(db, program)
    stored = _stored(db)
    with db.engine.connect() as conn:
        finals = set(conn.execute(text("SELECT id FROM reviews WHERE status = 'final'")).scalars())
    assert set(stored) == finals  # every final review (an amended one too), nothing else
    scale = db.registry.get("dacts", "1.0")
    subscale_of = {item.id: item.subscale for item in scale.items}
    with db.engine.connect() as conn:
        ratings = conn.execute(text("SELECT review_id, item_id, rating FROM consensus_ratings")).all()
    for review_id in finals:
        rated = [(i, r) for rid, i, r in ratings if rid == review_id and r is not None]
        subs = {
            s.id: (
                sum(subscale_of[i] == s.id for i, _ in rated),
                sum(r for i, r in rated if subscale_of[i] == s.id),
            )
            for s in scale.subscales
        }
        assert stored[review_id] == (len(rated), sum(r for _, r in rated), subs), review_id
    assert stored[ids["mixed"]][0] < 28  # the unrated items are not counted

    # The dashboard (stored sums) gives what adding up the ratings gives, the amendment in place.
    dashboard = review_scores(db, actor=ADMIN, scale_id="dacts", latest=1)
    assert dashboard.problems == ()
    from_ratings = review_scores(db, actor=ADMIN, latest=1).frame  # all scales: the ratings path
    pd.testing.assert_frame_equal(
        dashboard.frame[COLUMNS].reset_index(drop=True), from_ratings[COLUMNS].reset_index(drop=True)
    )
    assert set(dashboard.frame["review_id"]) == {ids["amendment"], ids["mixed"]}
    assert integrity.check_database(db, actor=ADMIN).ok


def test_a_tampered_stored_sum_is_left_out_and_reported(db: Database, program: svc.ProgramView) -> None:
    ids = _agency(db, program)
    _tamper_sums(
        db, f"UPDATE final_review_sums SET total_sum = total_sum + 5 WHERE review_id = {ids['amendment']}"
    )
    dashboard = review_scores(db, actor=ADMIN, scale_id="dacts", latest=1)
    assert list(dashboard.frame["review_id"]) == [ids["mixed"]]
    assert len(dashboard.problems) == 1 and f"review {ids['amendment']} " in dashboard.problems[0]
    report = integrity.check_database(db, actor=ADMIN)
    assert f"review {ids['amendment']}: its stored rating sums differ from its ratings" in report.problems

    # A changed sum with its seal recomputed without the key does not pass either (keyed seal).
    _tamper_sums(db, f"UPDATE final_review_sums SET subscales = 'H=0/0' WHERE review_id = {ids['mixed']}")
    assert review_scores(db, actor=ADMIN, scale_id="dacts", latest=1).frame.empty


def test_missing_stored_sums_fall_back_to_the_ratings_and_are_reported(
    db: Database, program: svc.ProgramView
) -> None:
    ids = _agency(db, program)
    before = review_scores(db, actor=ADMIN, scale_id="dacts", latest=1).frame[COLUMNS]
    _tamper_sums(db, f"DELETE FROM final_review_sums WHERE review_id = {ids['mixed']}")
    after = review_scores(db, actor=ADMIN, scale_id="dacts", latest=1)
    pd.testing.assert_frame_equal(after.frame[COLUMNS], before)
    report = integrity.check_database(db, actor=ADMIN)
    assert report.problems == [f"review {ids['mixed']}: its stored rating sums are missing"]


def test_rekey_writes_the_sums_again_under_the_new_key(
    db: Database, program: svc.ProgramView, registry: object
) -> None:
    ids = _agency(db, program)
    _tamper_sums(db, f"UPDATE final_review_sums SET total_sum = 1 WHERE review_id = {ids['first']}")
    keyed = Database(db.url, registry=db.registry, integrity_key="a new key of enough length 123456")
    try:
        integrity.rekey(keyed, None, actor=ADMIN)
        assert integrity.check_database(keyed, actor=ADMIN).ok  # rewritten from the (sealed) ratings
        dashboard = review_scores(keyed, actor=ADMIN, scale_id="dacts", latest=1)
        assert dashboard.problems == () and len(dashboard.frame) == 2
        assert finalized_ratings(keyed, actor=ADMIN)["review_id"].nunique() == 3
    finally:
        keyed.dispose()


def test_a_program_managers_dashboard_holds_their_programs_only(
    db: Database, program: svc.ProgramView
) -> None:
    """The scope is one parameter of one statement (json_each on SQLite, ANY on PostgreSQL): the
    same reviews as the local admin's dashboard, of the manager's programs, and a tampered sum
    is still left out and named."""
    ids = _agency(db, program)
    everyone = review_scores(db, actor=ADMIN, scale_id="dacts", latest=1).frame
    assert set(everyone["review_id"]) == {ids["amendment"], ids["mixed"]}

    def manager(*program_ids: int) -> Actor:
        return Actor(name="pm", role=Role.PROGRAM_MANAGER, user_id=99, program_ids=frozenset(program_ids))

    own = review_scores(db, actor=manager(program.id), scale_id="dacts", latest=1)
    assert list(own.frame["review_id"]) == [ids["amendment"]] and not own.problems
    mine = everyone.loc[everyone["review_id"] == ids["amendment"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(own.frame, mine)
    both = review_scores(db, actor=manager(*everyone["program_id"]), scale_id="dacts", latest=1)
    pd.testing.assert_frame_equal(both.frame, everyone)
    assert review_scores(db, actor=manager(), scale_id="dacts", latest=1).frame.empty

    _tamper_sums(db, f"UPDATE final_review_sums SET rated = rated - 1 WHERE review_id = {ids['amendment']}")
    own = review_scores(db, actor=manager(program.id), scale_id="dacts", latest=1)
    assert own.frame.empty
    assert len(own.problems) == 1 and f"review {ids['amendment']} " in own.problems[0]
