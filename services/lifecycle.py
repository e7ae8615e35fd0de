"""A review's end of life: finalizing (final, immutable, checksummed), amending (a new review
that copies a final one), storing a review that arrives final (an imported one), and checking
that a final review's rows still match their checksum.

`store_final_review` is the one way a review is stored final at once, with its consensus and
audit rows; `finalize_review` is the one step that makes a review final.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain import checks
from domain.vocabulary import REASON_LENGTH, Role
from scales import Scale
from services import access, action_plans
from services.access import Action, Actor
from services.assignments import assign_reviewer
from services.audit import AuditLog, consensus_fields, review_fields
from services.database import Database
from services.errors import IntegrityFailure, ValidationProblem
from services.final_sums import HEAD as SUMS_HEAD
from services.final_sums import sums_row
from services.rows import (
    actor_name,
    add_rater_row,
    consensus_rows,
    lock_review,
    new_review,
    rater_rows,
    require_editable,
    review_scale,
)
from services.scores import pending, score_rows
from services.views import ReviewView, review_view
from storage.integrity import (
    REVIEW_FIELDS,
    ConsensusValues,
    consensus_values,
    content_checksum,
    failing_reviews,
    rater_values,
    ratings_seal,
    session_key,
)
from storage.models import (
    ConsensusRating,
    FinalReviewSums,
    Program,
    RaterRating,
    Review,
    ReviewAssignment,
    ReviewRater,
    ReviewStatus,
    User,
)

__all__ = [
    "ConsensusEntry",
    "FinalFacts",
    "FinalReviewRecord",
    "amend",
    "check_integrity",
    "final_facts",
    "finalize",
    "finalize_review",
    "integrity_message",
    "store_final_review",
    "unsettled",
]

RATING_COLUMNS = ("rating", "rating_source", "inputs", "data_sources")
CONSENSUS_COLUMNS = (*RATING_COLUMNS, "evidence", "recommendation", "not_rated_reason")


def finalize(db: Database, review_id: int, *, actor: Actor) -> ReviewView:
    """Make the review final; refused while any item lacks a consensus rating or a not-rated reason."""
    who = actor_name(actor, Action.EDIT_REVIEW)
    with db.writing() as s:
        review = lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        require_editable(review)
        scale = review_scale(db, review)
        rows = {row.item_id: row for row in consensus_rows(s, review.id)}
        problems = unsettled(scale, rows)
        if problems:
            heading = (
                f"review {review.id} cannot be finalized yet: every item needs a consensus rating "
                "or a reason it was not rated"
            )
            raise ValidationProblem([heading, *problems])
        log = AuditLog(s, who, review_id=review.id)
        finalize_review(s, review, scale, rows.values(), log)
        plan_log = AuditLog(s, who, review_id=review.id, program_id=review.program_id, at=log.at)
        action_plans.open_at_finalize(s, review, scale, list(rows.values()), plan_log)  # own rows
        return review_view(s, review, scale)


def amend(db: Database, review_id: int, reason: str, *, actor: Actor) -> ReviewView:
    """Reopen a final review as a new amendment: a copy to edit; the final one stays as it was.
    The reviewers assigned to the final review are assigned to the amendment."""
    who = actor_name(actor, Action.AMEND_REVIEW)
    reason = checks.required_text(reason, "reason for the amendment", REASON_LENGTH)
    with db.writing() as s:
        old = lock_review(s, review_id)
        access.require_review(s, actor, Action.AMEND_REVIEW, old)
        if old.status != ReviewStatus.FINAL:
            raise ValidationProblem(f"review {old.id} is not final, so it can be changed directly")
        existing = s.scalar(select(Review.id).where(Review.amendment_of == old.id))
        if existing is not None:
            raise ValidationProblem(
                f"review {old.id} has already been amended as review {existing}; amend that one instead"
            )
        scale = review_scale(db, old)
        log = AuditLog(s, who, review_id=old.id, program_id=old.program_id)
        consensus = consensus_rows(s, old.id)
        new = _amendment(old, reason, bool(consensus), log)
        s.add(new)
        try:
            s.flush()
        except IntegrityError:  # another amendment won the race for this review
            raise ValidationProblem(f"review {old.id} has just been amended by someone else") from None
        _copy_ratings(s, old, new, consensus)
        log("review", "amended_by", None, {"review": new.id, "reason": reason})
        log.review_id = new.id
        created = {
            **review_fields(new),
            "amendment_of": old.id,
            "amendment_number": new.amendment_number,
            "amendment_reason": reason,
        }
        log("review", "created", None, created)
        assigned = (
            select(User)
            .join(ReviewAssignment)
            .where(ReviewAssignment.review_id == old.id, User.active, User.role == Role.REVIEWER.value)
        )
        for user in s.scalars(assigned.order_by(User.email)):
            assign_reviewer(s, new, user, log)
        s.flush()
        return review_view(s, new, scale)


def _amendment(old: Review, reason: str, has_consensus: bool, log: AuditLog) -> Review:
    """The new review row that amends `old`: its fields copied, its number one higher."""
    return Review(
        program_id=old.program_id,
        scale_id=old.scale_id,
        scale_version=old.scale_version,
        scale_hash=old.scale_hash,
        review_date=old.review_date,
        review_end_date=old.review_end_date,
        review_type=old.review_type,
        status=ReviewStatus.CONSENSUS if has_consensus else ReviewStatus.DRAFT,
        strengths=old.strengths,
        summary=old.summary,
        recommendations=old.recommendations,
        amendment_of=old.id,
        amendment_number=old.amendment_number + 1,
        amendment_reason=reason,
        created_at=log.at,
        created_by=log.actor,
        updated_at=log.at,
    )


def _copy_ratings(s: Session, old: Review, new: Review, consensus: Sequence[ConsensusRating]) -> None:
    """The raters, their ratings and the consensus of `old`, copied to `new`."""
    for r in old.raters:
        s.add(ReviewRater(review_id=new.id, rater=r.rater, added_at=r.added_at, added_by=r.added_by))
    s.flush()
    # Copies keep who last changed each rating and when: the amendment starts from the record.
    for rating in rater_rows(s, old.id):
        copy = {key: getattr(rating, key) for key in (*RATING_COLUMNS, "note", "updated_at", "updated_by")}
        s.add(RaterRating(review_id=new.id, rater=rating.rater, item_id=rating.item_id, **copy))
    for agreed in consensus:
        copy = {key: getattr(agreed, key) for key in (*CONSENSUS_COLUMNS, "updated_at", "updated_by")}
        s.add(ConsensusRating(review_id=new.id, item_id=agreed.item_id, **copy))


# ---- the shared steps ----------------------------------------------------------------------------


def unsettled(scale: Scale, rows: Mapping[str, ConsensusRating]) -> list[str]:
    """One problem per item that has neither a consensus rating nor a not-rated reason."""
    problems = []
    for item in scale.items:
        row = rows.get(item.id)
        if row is None:
            problems.append(f"item {item.id}: no consensus rating")
        elif row.rating is None and not row.not_rated_reason:
            why = pending(item, None, row.inputs)
            problems.append(f"item {item.id}: no consensus rating" + (f" ({why})" if why else ""))
    return problems


def finalize_review(
    s: Session, review: Review, scale: Scale, rows: Iterable[ConsensusRating], log: AuditLog
) -> None:
    """Make the review final in `s`: its score from the consensus `rows` (all of them), stored
    with the checksum of its rows, logged (the caller has checked that every item is settled)."""
    rows = list(rows)
    s.flush()  # every rating row is written before the UPDATE that makes them immutable
    log("review", "status", review.status, ReviewStatus.FINAL.value)
    rater_ratings = [rater_values(row) for row in rater_rows(s, review.id)]
    with s.no_autoflush:  # one UPDATE sets status and checksum: a final review refuses any later one
        review.finalized_at = review.updated_at = log.at
        review.finalized_by = log.actor
        values = {key: getattr(review, key) for key in REVIEW_FIELDS}
        raters = [r.rater for r in review.raters]
        facts = final_facts(session_key(s), scale, values, raters, rows, rater_ratings)
        review.final_score = facts.final_score
        review.content_checksum = facts.content_checksum
        review.ratings_seal = facts.ratings_seal
        review.status = ReviewStatus.FINAL
    log("review", "final_score", None, facts.summary)
    s.flush()
    s.add(FinalReviewSums(**facts.sums))  # what the dashboard reads (services.final_sums)
    s.flush()


ConsensusRow = ConsensusRating | ConsensusValues
"""A consensus row: stored (the ORM path) or its values as a bulk writer writes them."""


@dataclass(frozen=True)
class FinalFacts:
    """What a review stores as it becomes final, all computed from its values in memory."""

    final_score: dict[str, Any]
    content_checksum: str
    ratings_seal: str
    sums: dict[str, Any]  # its final_review_sums row

    @property
    def summary(self) -> dict[str, Any]:
        """The score as the audit trail records it."""
        return {"mean": self.final_score["total"]["mean"], "band": self.final_score["band"]}


def final_facts(
    key: str | None,
    scale: Scale,
    review: Mapping[str, Any],
    raters: Iterable[str],
    consensus: Sequence[ConsensusRow],
    rater_ratings: Iterable[Mapping[str, Any]] = (),
) -> FinalFacts:
    """The score, content checksum, ratings seal and stored sums of a review becoming final, from
    the values it is written with (`review`: REVIEW_FIELDS, finalized_at and _by set, the score
    left to this; `consensus`: every consensus row), under the integrity `key`: the one recipe of
    finalize_review and the bulk import (services.final_batch), so both store the same."""
    score = score_rows(scale, consensus).to_dict()
    values = {**review, "final_score": score}
    consensus_rows = [consensus_values(row) for row in consensus]
    checksum = content_checksum(key, values, raters, consensus_rows, rater_ratings)
    pairs = [(row.item_id, row.rating) for row in consensus]
    seal = ratings_seal(key, values, pairs, score)
    sums = sums_row(key, [values[name] for name in SUMS_HEAD], scale, pairs)
    return FinalFacts(score, checksum, seal, sums)


def check_integrity(s: Session, review: Review) -> None:
    """Refuse to show or export a final review whose rows no longer match its checksum."""
    if failing_reviews(s, [review], session_key(s)):
        raise IntegrityFailure(integrity_message(review.id))


def integrity_message(review_id: int) -> str:
    """What IntegrityFailure says of one review."""
    return (
        f"review {review_id}: its stored content does not match the checksum taken when it was finalized "
        "(it was changed outside the application); it is not shown or exported. Ask your database "
        "administrator to restore it from a backup."
    )


# ---- a review stored final at once ---------------------------------------------------------------


@dataclass(frozen=True)
class ConsensusEntry:
    """The agreed rating of one item of a review stored final: a rating (with where it came
    from, "rated" or "computed", and its inputs), or the reason it was not rated."""

    rating: int | None = None
    rating_source: str | None = None
    inputs: dict[str, Any] | None = None
    evidence: str | None = None
    recommendation: str | None = None
    data_sources: list[str] | None = None
    not_rated_reason: str | None = None

    def columns(self) -> dict[str, Any]:
        """The consensus row's columns this entry gives (the ORM path and the bulk one)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class FinalReviewRecord:
    """A review to store final at once (an imported one), its values already checked.

    `items` has a ConsensusEntry for every item of the scale; `imported_from` (a file, a
    file and row) is recorded with the review's creation; `import_digest` recognises the
    same file imported again."""

    review_date: dt.date
    review_end_date: dt.date | None
    review_type: str
    raters: Sequence[str]
    items: Mapping[str, ConsensusEntry]
    imported_from: str
    strengths: str | None = None
    summary: str | None = None
    recommendations: str | None = None
    import_digest: str | None = None


def store_final_review(
    s: Session, log: AuditLog, program: Program, scale: Scale, record: FinalReviewRecord
) -> Review:
    """Store `record` as a final review of `program` on `scale`, in the caller's transaction.

    Writes what the workflow would have: the review (draft), its raters, a consensus row per
    item, the status moving to consensus and then final (score and checksum), with an audit
    row for each under `log` (its program_id and review_id are set). The caller checks access
    and the values (checks.*, scores.resolve), and commits. ValidationProblem when `record`
    lacks an item of the scale.
    """
    missing = [f"item {i.id}: no consensus in the record" for i in scale.items if i.id not in record.items]
    if missing:
        raise ValidationProblem(missing)
    log.program_id = program.id
    review = new_review(
        s, program, scale, record.review_date, record.review_end_date, record.review_type, log
    )
    review.strengths, review.summary = record.strengths, record.summary
    review.recommendations = record.recommendations
    review.import_digest = record.import_digest
    log("review", "created", None, {**review_fields(review), "imported_from": record.imported_from})
    for rater in record.raters:
        add_rater_row(s, review, rater, log)
    rows = []
    for item in scale.items:
        entry = record.items[item.id]
        row = ConsensusRating(
            review_id=review.id, item_id=item.id, **entry.columns(), updated_at=log.at, updated_by=log.actor
        )
        s.add(row)
        rows.append(row)
        for key, value in consensus_fields(row).items():
            log(f"consensus[{item.id}]", key, None, value)
    log("review", "status", ReviewStatus.DRAFT.value, ReviewStatus.CONSENSUS.value)
    review.status = ReviewStatus.CONSENSUS
    s.flush()
    finalize_review(s, review, scale, rows, log)
    return review
