"""Independent rating, enforced by the services (services.blind): each rater rates as
themselves, sees no other rater's ratings until every rater has submitted (or an agency admin
opens the consensus with a reason), submitting locks; overrides of a computed rating need a
reason; every unrated item marked not rated in one action. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from services import reviews as svc
from services import users
from services.access import LOCAL_ADMIN, Actor, Role, acting_for, local_admin
from services.database import Database
from services.errors import AccessDenied, ValidationProblem

ANA = acting_for(LOCAL_ADMIN, "ana")  # the local admin, acting for ana on the Rate page
BEN = acting_for(LOCAL_ADMIN, "ben")


def history(db: Database, review_id: int) -> list[tuple[str, str, str, object, object]]:
    return [
        (e.actor, e.entity, e.field, e.old_value, e.new_value)
        for e in svc.audit_trail(db, review_id, actor=LOCAL_ADMIN)
    ]


def test_a_rater_cannot_read_the_other_raters_ratings_before_both_submit(
    db: Database, review: svc.ReviewView
) -> None:
    svc.save_rating(db, review.id, "ana", "H2", rating=4, actor=ANA)
    svc.save_rating(db, review.id, "ben", "H2", rating=2, actor=BEN)

    # ana reads her own ratings only; ben's are refused, not merely left out of a page.
    seen = svc.get_review(db, review.id, actor=ANA).ratings
    assert (list(seen["ana"]), seen["ben"]) == (["H2"], {})
    with pytest.raises(AccessDenied, match="ben's ratings show once every rater has submitted"):
        svc.live_score(db, review.id, "ben", actor=ANA)
    with pytest.raises(AccessDenied, match="compared once every rater has submitted"):
        svc.compare_raters(db, review.id, "ana", "ben", actor=ANA)
    with pytest.raises(AccessDenied, match="compared once every rater has submitted"):
        svc.rater_scores(db, review.id, actor=LOCAL_ADMIN)
    assert not any("rater=ben" in entity for _, entity, *_ in history_as(db, review.id, ANA))
    # ana may not enter ben's ratings either.
    with pytest.raises(AccessDenied, match="you rate as ana; ben's ratings are theirs to enter"):
        svc.save_rating(db, review.id, "ben", "H3", rating=5, actor=ANA)

    state = svc.submit_ratings(db, review.id, "ana", actor=ANA)
    assert (state.consensus_open, state.waiting_for) == (False, ["ben"])
    assert state.progress("ana") is not None and state.progress("ana").unrated == 27  # type: ignore[union-attr]
    with pytest.raises(AccessDenied):
        svc.live_score(db, review.id, "ben", actor=ANA)
    # Submitted ratings are locked.
    with pytest.raises(ValidationProblem, match=r"ana submitted their ratings at .* locked"):
        svc.save_rating(db, review.id, "ana", "H2", rating=5, actor=ANA)

    assert svc.submit_ratings(db, review.id, "ben", actor=BEN).consensus_open
    assert svc.get_review(db, review.id, actor=ANA).ratings["ben"]["H2"].rating == 2
    assert svc.compare_raters(db, review.id, "ana", "ben", actor=ANA).compared == 1
    rows = history(db, review.id)
    assert rows[-3][:3] == ("ana", "rater[ana]", "submitted")
    assert rows[-2][:3] == ("ben", "rater[ben]", "submitted")
    assert rows[-1] == ("ben", "review", "consensus_opened", None, "every rater submitted")


def history_as(db: Database, review_id: int, actor: Actor) -> list[tuple[str, str, str, object, object]]:
    return [
        (e.actor, e.entity, e.field, e.old_value, e.new_value)
        for e in svc.audit_trail(db, review_id, actor=actor)
    ]


def test_saves_record_the_rater_not_the_local_admin(db: Database, review: svc.ReviewView) -> None:
    saved = svc.save_rating(db, review.id, "ana", "H2", rating=4, actor=ANA)
    assert saved.updated_by == "ana"
    assert history(db, review.id)[-1][:2] == ("ana", "rating[H2][rater=ana]")


def test_a_signed_in_reviewer_rates_only_as_themselves(db: Database, review: svc.ReviewView) -> None:
    users.add_user(db, "ana@agency.org", name="ana", role=Role.REVIEWER, actor=LOCAL_ADMIN)
    users.assign_reviewer(db, review.id, "ana@agency.org", actor=LOCAL_ADMIN)
    ana = users.actor_for_email(db, "ana@agency.org")
    assert ana is not None
    saved = svc.save_rating(db, review.id, "ana", "H2", rating=4, actor=ana)
    assert saved.updated_by == "ana@agency.org"
    with pytest.raises(AccessDenied, match="you rate as ana; ben's ratings are theirs"):
        svc.save_rating(db, review.id, "ben", "H2", rating=4, actor=ana)
    with pytest.raises(AccessDenied, match="you rate as ana only, not as ben"):
        svc.save_rating(db, review.id, "ben", "H2", rating=4, actor=acting_for(ana, "ben"))
    svc.save_rating(db, review.id, "ben", "H2", rating=1, actor=BEN)
    assert svc.get_review(db, review.id, actor=ana).ratings["ben"] == {}


def test_only_an_admin_opens_the_consensus_early_or_reopens_and_says_why(
    db: Database, review: svc.ReviewView
) -> None:
    users.add_user(db, "ana@agency.org", name="ana", role=Role.REVIEWER, actor=LOCAL_ADMIN)
    users.assign_reviewer(db, review.id, "ana@agency.org", actor=LOCAL_ADMIN)
    ana = users.actor_for_email(db, "ana@agency.org")
    assert ana is not None
    with pytest.raises(AccessDenied, match="may not open the consensus"):
        svc.open_consensus(db, review.id, "in a hurry", actor=ana)
    with pytest.raises(ValidationProblem, match="reason for opening the consensus"):
        svc.open_consensus(db, review.id, "  ", actor=LOCAL_ADMIN)
    state = svc.open_consensus(db, review.id, "ben is ill", actor=local_admin("lead"))
    assert (state.consensus_open, state.opened_by, state.open_reason) == (True, "lead", "ben is ill")
    assert history(db, review.id)[-1] == ("lead", "review", "consensus_opened", None, "ben is ill")

    svc.submit_ratings(db, review.id, "ana", actor=ana)
    with pytest.raises(AccessDenied, match="may not reopen"):
        svc.reopen_ratings(db, review.id, "ana", "typo", actor=ana)
    with pytest.raises(ValidationProblem, match="ben has not submitted"):
        svc.reopen_ratings(db, review.id, "ben", "typo", actor=LOCAL_ADMIN)
    svc.reopen_ratings(db, review.id, "ana", "typo in H2", actor=local_admin("lead"))
    assert history(db, review.id)[-1][:3] == ("lead", "rater[ana]", "reopened")
    assert history(db, review.id)[-1][4] == "typo in H2"
    svc.save_rating(db, review.id, "ana", "H2", rating=5, actor=ana)  # unlocked again


def test_overriding_a_computed_rating_needs_a_reason(db: Database, review: svc.ReviewView) -> None:
    computed = svc.save_rating(
        db, review.id, "ana", "H1", inputs={"clients": 96, "staff_fte": 9.5}, actor=ANA
    )
    assert (computed.rating, computed.source) == (5, "computed")
    with pytest.raises(ValidationProblem, match="its numbers give rating 5; giving 3 instead is an override"):
        svc.save_rating(db, review.id, "ana", "H1", rating=3, inputs=None, actor=ANA)
    over = svc.save_rating(
        db, review.id, "ana", "H1", rating=3, inputs=None, override_reason="FTE counts vacancies", actor=ANA
    )
    assert (over.rating, over.source, over.override_reason) == (3, "rated", "FTE counts vacancies")
    assert ("ana", "rating[H1][rater=ana]", "override_reason", None, "FTE counts vacancies") in history(
        db, review.id
    )
    again = svc.save_rating(  # new numbers (the Rate page clears the given rating with them)
        db, review.id, "ana", "H1", inputs={"clients": 96, "staff_fte": 9.5}, rating=None, actor=ANA
    )
    assert (again.rating, again.override_reason) == (5, None)
    with pytest.raises(ValidationProblem, match="not a computed item"):
        svc.save_rating(db, review.id, "ana", "O1", rating=3, override_reason="x", actor=ANA)
    # The consensus takes overrides the same way, and the view says so.
    c = svc.save_consensus(
        db, review.id, "H1", inputs={"clients": 96, "staff_fte": 9.5}, expected_version=0, actor=LOCAL_ADMIN
    )
    c = svc.save_consensus(
        db,
        review.id,
        "H1",
        rating=4,
        inputs=None,
        override_reason="agreed",
        expected_version=c.version,
        actor=LOCAL_ADMIN,
    )
    assert (c.rating, c.override_reason) == (4, "agreed")
    assert svc.get_review(db, review.id, actor=LOCAL_ADMIN).consensus["H1"].override_reason == "agreed"


def test_every_unrated_item_is_marked_not_rated_in_one_action(db: Database, review: svc.ReviewView) -> None:
    svc.save_consensus(db, review.id, "H2", rating=4, expected_version=0, actor=LOCAL_ADMIN)
    svc.mark_not_rated(db, review.id, "H3", "own reason", expected_version=0, actor=LOCAL_ADMIN)
    with pytest.raises(ValidationProblem, match="reason the items are not rated"):
        svc.mark_unrated_not_rated(db, review.id, " ", actor=LOCAL_ADMIN)
    marked = svc.mark_unrated_not_rated(db, review.id, "no records on site", actor=local_admin("lead"))
    assert len(marked) == 26 and "H2" not in marked and "H3" not in marked and marked[0] == "H1"
    view = svc.get_review(db, review.id, actor=LOCAL_ADMIN)
    assert view.consensus["H3"].not_rated_reason == "own reason"
    assert all(view.consensus[i].not_rated_reason == "no records on site" for i in marked)
    audited = {
        entity
        for actor, entity, field, _, new in history(db, review.id)
        if field == "not_rated_reason" and actor == "lead"
    }
    assert audited == {f"consensus[{i}]" for i in marked}
    assert svc.finalize(db, review.id, actor=LOCAL_ADMIN).is_final


def test_the_pdf_labels_an_overridden_rating_as_an_override(db: Database, review: svc.ReviewView) -> None:
    from io import BytesIO

    from pypdf import PdfReader

    from reports.pdf import render_report
    from services.report_data import from_stored_review

    c = svc.save_consensus(
        db, review.id, "H1", inputs={"clients": 96, "staff_fte": 9.5}, expected_version=0, actor=LOCAL_ADMIN
    )
    svc.save_consensus(
        db,
        review.id,
        "H1",
        rating=3,
        inputs=None,
        override_reason="FTE counts two vacancies",
        expected_version=c.version,
        actor=LOCAL_ADMIN,
    )
    svc.mark_unrated_not_rated(db, review.id, "not seen", actor=LOCAL_ADMIN)
    svc.finalize(db, review.id, actor=LOCAL_ADMIN)
    data = from_stored_review(db, review.id, actor=LOCAL_ADMIN)
    assert data.item("H1").override_reason == "FTE counts two vacancies"
    reader = PdfReader(BytesIO(render_report(data, charts=False)))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    # The rating is starred and its evidence says it overrides the computed rating, and why.
    assert "H1 Small caseload 3* *Override of the computed rating: FTE counts two vacancies" in text
