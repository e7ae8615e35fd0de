"""The review workflow through the service API, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest

from scales import ScaleRegistry, parse_scale_text
from scales.loader import BUNDLED_DIR
from services import reviews as svc
from services.access import local_admin
from services.database import Database
from services.errors import (
    NotFound,
    ReviewFinalizedError,
    ScaleChangedError,
    StaleWriteError,
    ValidationProblem,
)

DACTS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]
ANA = dict.fromkeys(DACTS, 4) | {"H1": 5, "H3": 5, "O1": 5, "S7": 3}
# ben agrees exactly on most items, by one on H2 and O4, and by two on S3 and S9.
BEN = ANA | {"H2": 3, "O4": 5, "S3": 2, "S9": 2}


def rate_all(db: Database, review_id: int, rater: str, ratings: dict[str, int]) -> None:
    for item_id, rating in ratings.items():
        svc.save_rating(db, review_id, rater, item_id, rating=rating, actor=local_admin(rater))


def agree_all(db: Database, review_id: int, ratings: dict[str, int], actor: str = "lead") -> None:
    for item_id, rating in ratings.items():
        view = svc.get_review(db, review_id, actor=local_admin())
        svc.save_consensus(
            db,
            review_id,
            item_id,
            rating=rating,
            evidence=f"evidence for {item_id}",
            expected_version=view.consensus_version(item_id),
            actor=local_admin(actor),
        )


def test_whole_review_from_two_raters_to_amendment(db: Database, review: svc.ReviewView) -> None:
    assert review.status == "draft"
    assert review.raters == ["ana", "ben"]

    rate_all(db, review.id, "ana", ANA)
    rate_all(db, review.id, "ben", BEN)
    for rater in ("ana", "ben"):  # the ratings are compared once both raters have submitted
        svc.submit_ratings(db, review.id, rater, actor=local_admin(rater))

    found = svc.compare_raters(db, review.id, "ana", "ben", actor=local_admin())
    assert (found.compared, found.exact, found.within_one) == (28, 24, 26)
    assert [d.item_id for d in found.discrepancies] == ["S3", "S9"]
    assert {d.item_id for d in found.differences} == {"H2", "O4", "S3", "S9"}
    scores = svc.rater_scores(db, review.id, actor=local_admin())
    assert scores["ana"].total.sum == sum(ANA.values())
    assert scores["ben"].total.sum == sum(BEN.values())
    assert svc.live_score(db, review.id, actor=local_admin()).total.rated == 0  # no consensus yet

    consensus = ANA | {"S9": 3}
    agree_all(db, review.id, {k: v for k, v in consensus.items() if k != "S10"})
    view = svc.mark_not_rated(
        db, review.id, "S10", "no records available", expected_version=0, actor=local_admin("lead")
    )
    assert view.settled and view.rating is None
    svc.set_review_text(
        db, review.id, strengths="Strong team meeting", summary="Close to model", actor=local_admin("lead")
    )
    live = svc.live_score(db, review.id, actor=local_admin())
    assert live.total.rated == 27 and live.missing == ["S10"]

    final = svc.finalize(db, review.id, actor=local_admin("lead"))
    assert final.status == "final" and final.finalized_by == "lead"
    assert final.final_score is not None and final.final_score["total"]["sum"] == live.total.sum

    # Nothing can change a final review.
    attempts: list[Callable[[], object]] = [
        lambda: svc.save_rating(db, review.id, "ana", "H2", rating=1, actor=local_admin("ana")),
        lambda: svc.save_consensus(
            db, review.id, "H2", rating=1, expected_version=1, actor=local_admin("lead")
        ),
        lambda: svc.mark_not_rated(db, review.id, "H2", "why", expected_version=1, actor=local_admin("lead")),
        lambda: svc.set_review_text(db, review.id, summary="rewritten", actor=local_admin("lead")),
        lambda: svc.add_rater(db, review.id, "cy", actor=local_admin("lead")),
        lambda: svc.finalize(db, review.id, actor=local_admin("lead")),
    ]
    for attempt in attempts:
        with pytest.raises(ReviewFinalizedError, match=rf"review {review.id} .* is final"):
            attempt()
    assert svc.get_review(db, review.id, actor=local_admin()) == final

    trail_before = svc.audit_trail(db, review.id, actor=local_admin())
    amendment = svc.amend(db, review.id, "S9 evidence was misread", actor=local_admin("lead"))
    assert amendment.id != review.id
    assert (amendment.amendment_of, amendment.amendment_number) == (review.id, 1)
    assert amendment.amendment_reason == "S9 evidence was misread"
    assert amendment.status == "consensus"
    assert {k: v.rating for k, v in amendment.consensus.items()} == {
        k: v.rating for k, v in final.consensus.items()
    }
    assert amendment.ratings["ben"]["S3"].rating == 2
    assert amendment.strengths == "Strong team meeting"

    # The final review is untouched apart from knowing it was amended; its trail is intact.
    after = svc.get_review(db, review.id, actor=local_admin())
    assert after.amended_by == amendment.id
    assert dataclasses.replace(after, amended_by=None) == final
    assert svc.audit_trail(db, review.id, actor=local_admin())[: len(trail_before)] == trail_before

    svc.save_consensus(
        db,
        amendment.id,
        "S9",
        rating=4,
        expected_version=amendment.consensus_version("S9"),
        actor=local_admin("lead"),
    )
    svc.finalize(db, amendment.id, actor=local_admin("lead"))
    assert svc.get_review(db, review.id, actor=local_admin()).consensus["S9"].rating == 3
    assert svc.get_review(db, amendment.id, actor=local_admin()).consensus["S9"].rating == 4

    history = svc.audit_trail(db, amendment.id, actor=local_admin())
    assert history[: len(trail_before)] == trail_before  # starts with the amended review's history
    changes = [(e.review_id, e.entity, e.field, e.old_value, e.new_value) for e in history]
    assert (
        review.id,
        "review",
        "amended_by",
        None,
        {"review": amendment.id, "reason": "S9 evidence was misread"},
    ) in changes
    assert (amendment.id, "consensus[S9]", "rating", 3, 4) in changes
    assert (amendment.id, "review", "status", "consensus", "final") in changes

    listed = {s.id: s for s in svc.list_reviews(db, actor=local_admin())}
    assert listed[review.id].amended_by == amendment.id
    assert listed[amendment.id].amendment_of == review.id
    assert listed[amendment.id].total_sum == listed[review.id].total_sum + 1
    assert [s.id for s in svc.list_reviews(db, status="final", actor=local_admin())] == [
        amendment.id,
        review.id,
    ]


def test_every_change_is_audited_with_old_and_new_values(db: Database, review: svc.ReviewView) -> None:
    svc.save_rating(db, review.id, "ana", "H2", rating=3, note="first look", actor=local_admin("ana"))
    svc.save_rating(db, review.id, "ana", "H2", rating=4, actor=local_admin("ana"))
    svc.save_rating(db, review.id, "ana", "H2", rating=4, actor=local_admin("ana"))  # no change, no audit row
    svc.save_rating(db, review.id, "ben", "H2", data_sources=["Chart review"], actor=local_admin("ben"))
    c = svc.save_consensus(
        db, review.id, "H2", rating=4, evidence="both agree", expected_version=0, actor=local_admin("lead")
    )
    svc.save_consensus(
        db,
        review.id,
        "H2",
        recommendation="keep it up",
        expected_version=c.version,
        actor=local_admin("lead"),
    )

    rows = [
        (e.actor, e.entity, e.field, e.old_value, e.new_value)
        for e in svc.audit_trail(db, review.id, actor=local_admin())
    ]
    assert rows[0][:3] == ("lead", "review", "created")
    assert ("lead", "review", "rater_added", None, "ana") in rows
    assert rows[3:] == [
        ("ana", "rating[H2][rater=ana]", "rating", None, 3),
        ("ana", "rating[H2][rater=ana]", "note", None, "first look"),
        ("ana", "rating[H2][rater=ana]", "rating", 3, 4),
        ("ben", "rating[H2][rater=ben]", "data_sources", None, ["Chart review"]),
        ("lead", "consensus[H2]", "rating", None, 4),
        ("lead", "consensus[H2]", "evidence", None, "both agree"),
        ("lead", "review", "status", "draft", "consensus"),
        ("lead", "consensus[H2]", "recommendation", None, "keep it up"),
    ]
    entries = svc.audit_trail(db, review.id, actor=local_admin())
    assert all(e.at.tzinfo is not None and e.review_id == review.id for e in entries)


def test_saving_a_note_keeps_the_rating(db: Database, review: svc.ReviewView) -> None:
    svc.save_rating(db, review.id, "ana", "H3", rating=5, actor=local_admin("ana"))
    saved = svc.save_rating(
        db, review.id, "ana", "H3", note="weekly meeting observed", actor=local_admin("ana")
    )
    assert (saved.rating, saved.note, saved.version) == (5, "weekly meeting observed", 2)
    cleared = svc.save_rating(db, review.id, "ana", "H3", rating=None, actor=local_admin("ana"))
    assert (cleared.rating, cleared.source, cleared.note) == (None, None, "weekly meeting observed")


def test_computed_items_take_their_rating_from_inputs(db: Database, review: svc.ReviewView) -> None:
    saved = svc.save_rating(
        db, review.id, "ana", "H1", inputs={"clients": 96, "staff_fte": 9.5}, actor=local_admin("ana")
    )
    assert (saved.rating, saved.source, saved.pending) == (5, "computed", None)
    changed = svc.save_rating(
        db, review.id, "ana", "H1", inputs={"clients": 150, "staff_fte": 9.5}, actor=local_admin("ana")
    )
    assert changed.rating == 4  # 15.8 clients per FTE: the rating follows the inputs

    with pytest.raises(ValidationProblem, match="rating 2 disagrees with the inputs"):
        svc.save_rating(db, review.id, "ana", "H1", rating=2, actor=local_admin("ana"))
    with pytest.raises(ValidationProblem, match="staff_fte must be greater than 0"):
        svc.save_rating(
            db, review.id, "ana", "H1", inputs={"clients": 96, "staff_fte": 0}, actor=local_admin("ana")
        )
    with pytest.raises(ValidationProblem, match="unknown input bogus"):
        svc.save_rating(
            db, review.id, "ana", "H1", inputs={"clients": 96, "bogus": 1}, actor=local_admin("ana")
        )
    with pytest.raises(ValidationProblem, match="not a computed item"):
        svc.save_rating(db, review.id, "ana", "H3", inputs={"clients": 96}, actor=local_admin("ana"))
    with pytest.raises(ValidationProblem, match=r"rating 7 is out of range 1..5"):
        svc.save_rating(db, review.id, "ana", "H2", rating=7, actor=local_admin("ana"))
    assert (
        svc.get_review(db, review.id, actor=local_admin()).ratings["ana"]["H1"] == changed
    )  # refusals wrote nothing
    assert "H2" not in svc.get_review(db, review.id, actor=local_admin()).ratings["ana"]

    # Half-entered inputs are kept (nothing typed is lost) but give no rating yet.
    partial = svc.save_rating(db, review.id, "ben", "H1", inputs={"clients": 96}, actor=local_admin("ben"))
    assert (partial.rating, partial.inputs, partial.pending) == (
        None,
        {"clients": 96},
        "missing input staff_fte",
    )
    assert svc.live_score(db, review.id, rater="ben", actor=local_admin()).items["H1"].rating is None
    done = svc.save_rating(
        db, review.id, "ben", "H1", inputs={"clients": 96, "staff_fte": 8}, actor=local_admin("ben")
    )
    assert (done.rating, done.pending) == (4, None)

    # S7's input only decides between 4 and 5: the rating itself is judged.
    judged = svc.save_rating(
        db, review.id, "ana", "S7", inputs={"sa_treatment_minutes_per_week": 30}, actor=local_admin("ana")
    )
    assert judged.rating is None and judged.pending is not None and "needs a rating" in judged.pending
    assert svc.save_rating(db, review.id, "ana", "S7", rating=5, actor=local_admin("ana")).rating == 5
    with pytest.raises(ValidationProblem, match="disagrees"):
        svc.save_rating(db, review.id, "ana", "S7", rating=4, actor=local_admin("ana"))


def test_finalize_lists_the_items_still_open(db: Database, review: svc.ReviewView) -> None:
    agree_all(db, review.id, {item_id: 4 for item_id in DACTS if item_id not in {"O2", "S5"}})
    svc.save_consensus(
        db,
        review.id,
        "O2",
        inputs={},
        evidence="intake log missing",
        expected_version=0,
        actor=local_admin("x"),
    )
    with pytest.raises(ValidationProblem) as refused:
        svc.finalize(db, review.id, actor=local_admin("lead"))
    assert refused.value.problems[1:] == ["item O2: no consensus rating", "item S5: no consensus rating"]
    assert svc.get_review(db, review.id, actor=local_admin()).status == "consensus"

    with pytest.raises(ValidationProblem, match="reason the item is not rated is required"):
        svc.mark_not_rated(db, review.id, "S5", "  ", expected_version=0, actor=local_admin("lead"))
    svc.mark_not_rated(db, review.id, "S5", "no contact logs", expected_version=0, actor=local_admin("lead"))
    o2 = svc.get_review(db, review.id, actor=local_admin()).consensus["O2"]
    svc.mark_not_rated(
        db, review.id, "O2", "intake log missing", expected_version=o2.version, actor=local_admin("lead")
    )
    assert svc.finalize(db, review.id, actor=local_admin("lead")).status == "final"


def test_a_rating_replaces_a_not_rated_reason(db: Database, review: svc.ReviewView) -> None:
    marked = svc.mark_not_rated(
        db, review.id, "H4", "team leader absent", expected_version=0, actor=local_admin("lead")
    )
    rated = svc.save_consensus(
        db, review.id, "H4", rating=3, expected_version=marked.version, actor=local_admin("lead")
    )
    assert (rated.rating, rated.not_rated_reason) == (3, None)
    with pytest.raises(ValidationProblem, match="clear the rating"):
        svc.save_consensus(
            db, review.id, "H4", not_rated_reason="x", expected_version=rated.version, actor=local_admin("l")
        )


def test_refusals_name_the_problem(db: Database, review: svc.ReviewView, program: svc.ProgramView) -> None:
    with pytest.raises(ValidationProblem, match=r"'cy' is not a rater on review .* \(raters: ana, ben\)"):
        svc.save_rating(db, review.id, "cy", "H1", rating=3, actor=local_admin("cy"))
    with pytest.raises(ValidationProblem, match=r"item Z9: not an item of dacts 1.0"):
        svc.save_rating(db, review.id, "ana", "Z9", rating=3, actor=local_admin("ana"))
    with pytest.raises(NotFound, match="no review with id 999"):
        svc.get_review(db, 999, actor=local_admin())
    with pytest.raises(NotFound, match="no program with id 999"):
        svc.start_review(
            db, 999, "dacts", "1.0", dt.date(2026, 1, 1), "baseline", ["ana"], actor=local_admin("x")
        )
    with pytest.raises(ValidationProblem, match="unknown scale 'nope'"):
        svc.start_review(
            db, program.id, "nope", None, dt.date(2026, 1, 1), "baseline", ["ana"], actor=local_admin("x")
        )
    with pytest.raises(ValidationProblem, match="review type must be one of"):
        svc.start_review(
            db, program.id, "dacts", None, dt.date(2026, 1, 1), "annual", ["ana"], actor=local_admin("x")
        )
    with pytest.raises(ValidationProblem, match="rater Ana is listed twice"):
        svc.start_review(
            db,
            program.id,
            "dacts",
            None,
            dt.date(2026, 1, 1),
            "baseline",
            ["ana", "Ana"],
            actor=local_admin("x"),
        )
    with pytest.raises(ValidationProblem, match=r"actor .* is required"):
        svc.save_rating(db, review.id, "ana", "H1", rating=3, actor=local_admin(" "))
    with pytest.raises(ValidationProblem, match="measures IDDT, but Riverside ACT Team is an ACT program"):
        svc.start_review(
            db, program.id, "iddt", "1.0", dt.date(2026, 1, 1), "baseline", ["ana"], actor=local_admin("x")
        )
    with pytest.raises(ValidationProblem, match="is not final"):
        svc.amend(db, review.id, "typo", actor=local_admin("lead"))


def test_only_the_latest_version_can_be_amended(db: Database, review: svc.ReviewView) -> None:
    agree_all(db, review.id, dict.fromkeys(DACTS, 4))
    svc.finalize(db, review.id, actor=local_admin("lead"))
    with pytest.raises(ValidationProblem, match="reason for the amendment is required"):
        svc.amend(db, review.id, "", actor=local_admin("lead"))
    first = svc.amend(db, review.id, "wrong date", actor=local_admin("lead"))
    with pytest.raises(ValidationProblem, match=f"already been amended as review {first.id}"):
        svc.amend(db, review.id, "again", actor=local_admin("lead"))
    updated = svc.update_review(db, first.id, review_date=dt.date(2026, 3, 15), actor=local_admin("lead"))
    assert updated.review_date == dt.date(2026, 3, 15)
    assert svc.get_review(db, review.id, actor=local_admin()).review_date == dt.date(2026, 3, 14)


def test_live_score_is_the_consensus_so_far(db: Database, review: svc.ReviewView) -> None:
    svc.save_rating(db, review.id, "ana", "H2", rating=2, actor=local_admin("ana"))
    svc.save_consensus(
        db,
        review.id,
        "H1",
        inputs={"clients": 96, "staff_fte": 9.5},
        expected_version=0,
        actor=local_admin("l"),
    )
    svc.save_consensus(db, review.id, "H2", rating=3, expected_version=0, actor=local_admin("l"))
    score = svc.live_score(db, review.id, actor=local_admin())
    assert (score.items["H1"].rating, score.items["H1"].source, score.items["H2"].rating) == (
        5,
        "computed",
        3,
    )
    assert score.subscales["H"].rated == 2 and score.total.sum == 8
    assert svc.live_score(db, review.id, rater="ana", actor=local_admin()).total.sum == 2


def test_review_text_uses_optimistic_locking_when_asked(db: Database, review: svc.ReviewView) -> None:
    first = svc.set_review_text(
        db, review.id, summary="v1", expected_version=review.version, actor=local_admin("ana")
    )
    with pytest.raises(StaleWriteError, match=f"review {review.id} was changed at .* since you loaded it"):
        svc.set_review_text(
            db, review.id, summary="v2", expected_version=review.version, actor=local_admin("ben")
        )
    assert (
        svc.get_review(db, review.id, actor=local_admin()).summary == "v1"
        and first.version == review.version + 1
    )


def test_a_changed_scale_file_is_reported_not_used(
    db: Database, review: svc.ReviewView, open_db: Callable[..., Database]
) -> None:
    svc.save_rating(db, review.id, "ana", "H2", rating=4, actor=local_admin("ana"))
    text = (BUNDLED_DIR / "dacts" / "1.0.yaml").read_text(encoding="utf-8")
    changed = parse_scale_text(
        text.replace("name: Team approach", "name: Team approach (edited)"), "edited.yaml"
    )
    registry = ScaleRegistry()
    registry.add(changed, "/scales/dacts/1.0.yaml")
    edited = open_db(reg=registry)

    for call in (
        lambda: svc.get_review(edited, review.id, actor=local_admin()),
        lambda: svc.live_score(edited, review.id, actor=local_admin()),
        lambda: svc.save_rating(edited, review.id, "ana", "H2", rating=3, actor=local_admin("ana")),
    ):
        with pytest.raises(ScaleChangedError, match=r"was rated on dacts 1.0 .* now has different content"):
            call()
    [summary] = svc.list_reviews(edited, actor=local_admin())
    assert summary.total_mean is None and summary.problem is not None
    with pytest.raises(ScaleChangedError, match="not among the loaded scales"):
        svc.get_review(open_db(reg=ScaleRegistry()), review.id, actor=local_admin())
    assert svc.get_review(db, review.id, actor=local_admin()).ratings["ana"]["H2"].rating == 4


def test_programs_are_created_listed_and_updated_with_audit(db: Database) -> None:
    river = svc.create_program(
        db,
        "Riverside ACT",
        provider="Riverside Health",
        region="North",
        model="act",
        active_from=dt.date(2020, 1, 1),
        actor=local_admin("admin"),
    )
    svc.create_program(
        db,
        "Lakeside IDDT",
        provider="Lake Services",
        region="South",
        model="IDDT",
        actor=local_admin("admin"),
    )
    svc.create_program(
        db,
        "Old ACT",
        region="North",
        model="ACT",
        active_from=dt.date(2010, 1, 1),
        active_to=dt.date(2015, 1, 1),
        actor=local_admin("admin"),
    )
    assert river.model == "ACT" and river.provider == "Riverside Health"
    assert [p.name for p in svc.list_programs(db, actor=local_admin())] == [
        "Lakeside IDDT",
        "Old ACT",
        "Riverside ACT",
    ]
    assert [p.name for p in svc.list_programs(db, search="act", actor=local_admin())] == [
        "Old ACT",
        "Riverside ACT",
    ]
    assert [
        p.name
        for p in svc.list_programs(db, region="North", active_on=dt.date(2026, 1, 1), actor=local_admin())
    ] == ["Riverside ACT"]
    assert [p.name for p in svc.list_programs(db, provider="Lake Services", actor=local_admin())] == [
        "Lakeside IDDT"
    ]
    assert svc.list_providers(db, actor=local_admin()) == ["Lake Services", "Riverside Health"]
    assert (
        svc.find_program(db, "Riverside ACT", actor=local_admin()) == river
        and svc.find_program(db, "nope", actor=local_admin()) is None
    )

    with pytest.raises(ValidationProblem, match="a program named 'Riverside ACT' already exists"):
        svc.create_program(db, "Riverside ACT", actor=local_admin("admin"))
    with pytest.raises(ValidationProblem, match="program model must be one of ACT, IDDT"):
        svc.create_program(db, "X", model="FACT", actor=local_admin("admin"))
    with pytest.raises(ValidationProblem, match=r"active_to .* is before active_from"):
        svc.update_program(db, river.id, active_to=dt.date(2019, 1, 1), actor=local_admin("admin"))

    renamed = svc.update_program(
        db, river.id, name="Riverside ACT North", region=None, actor=local_admin("admin")
    )
    assert (renamed.name, renamed.region, renamed.provider) == (
        "Riverside ACT North",
        None,
        "Riverside Health",
    )
    trail = [
        (e.field, e.old_value, e.new_value)
        for e in svc.program_audit_trail(db, river.id, actor=local_admin())
    ]
    assert trail[0][0] == "created"
    assert trail[1:] == [("name", "Riverside ACT", "Riverside ACT North"), ("region", "North", None)]


def test_a_saved_rating_survives_closing_the_database(
    db: Database, review: svc.ReviewView, open_db: Callable[..., Database]
) -> None:
    saved = svc.save_rating(
        db, review.id, "ana", "H2", rating=4, note="seen in charts", actor=local_admin("ana")
    )
    db.dispose()  # every connection closed: nothing can still be sitting in this process
    reopened = open_db()
    found = svc.get_review(reopened, review.id, actor=local_admin()).ratings["ana"]["H2"]
    assert found == saved
    assert svc.audit_trail(reopened, review.id, actor=local_admin())[-1].new_value == "seen in charts"
