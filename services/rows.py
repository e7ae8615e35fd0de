"""Loading and creating the rows every aggregate shares: programs, reviews and their raters,
rating rows, and the scale a review was rated on; each refusal in the words the UI shows.

These run inside a service call's transaction (they take its Session); the access check is
the calling service's.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import checks
from domain.vocabulary import PERSON_LENGTH, ProgramModel
from scales import Scale, UnknownScaleError
from scales.schema import Item
from services import access
from services.access import Action, Actor
from services.audit import AuditLog
from services.database import Database
from services.errors import NotFound, ReviewFinalizedError, ScaleChangedError, ValidationProblem
from storage.models import ConsensusRating, Program, RaterRating, Review, ReviewRater, ReviewStatus

__all__ = [
    "actor_name",
    "add_rater_row",
    "assigned_rater",
    "check_model",
    "clock",
    "consensus_rows",
    "load_program",
    "load_review",
    "lock_review",
    "new_review",
    "rater_rows",
    "registry_scale",
    "require_editable",
    "review_scale",
    "scale_item",
    "stale_message",
]


def actor_name(actor: Actor, action: Action) -> str:
    """The name the audit log records for the actor, once their role may take `action` at all
    (the scope, e.g. an assigned review, is checked when the target is loaded)."""
    access.require(actor, action)
    return checks.required_text(actor.name, "actor (who is making the change)", PERSON_LENGTH)


# ---- programs and reviews -----------------------------------------------------------------------


def load_program(s: Session, program_id: int, *, lock: bool = False) -> Program:
    """The program (row-locked with `lock`); NotFound when there is none."""
    query = select(Program).where(Program.id == program_id)
    program = s.scalars(query.with_for_update() if lock else query).one_or_none()
    if program is None:
        raise NotFound(f"no program with id {program_id}")
    return program


def load_review(s: Session, review_id: int) -> Review:
    """The review, to read; NotFound when there is none."""
    review = s.get(Review, review_id)
    if review is None:
        raise NotFound(f"no review with id {review_id}")
    return review


def lock_review(s: Session, review_id: int) -> Review:
    """The review, row-locked on PostgreSQL so writes to one review take turns (SQLite's
    BEGIN IMMEDIATE already serializes writers)."""
    review = s.scalars(select(Review).where(Review.id == review_id).with_for_update()).one_or_none()
    if review is None:
        raise NotFound(f"no review with id {review_id}")
    return review


def require_editable(review: Review) -> None:
    """ReviewFinalizedError for a final review: it changes only through an amendment."""
    if review.status == ReviewStatus.FINAL:
        raise ReviewFinalizedError(
            f"review {review.id} ({review.program.name}, {review.review_date}) is final and cannot be "
            "changed; amend it to make a new version"
        )


def check_model(program: Program, scale: Scale) -> None:
    """A practice-specific scale (DACTS for ACT) only rates its practice; others (GOI) rate any."""
    practices = {m.value.upper() for m in ProgramModel}
    scale_model = (scale.model or "").upper()
    if program.model and scale_model in practices and program.model.upper() != scale_model:
        raise ValidationProblem(
            f"{scale.id} {scale.version} measures {scale.model}, "
            f"but {program.name} is an {program.model} program"
        )


def new_review(
    s: Session,
    program: Program,
    scale: Scale,
    review_date: dt.date,
    review_end_date: dt.date | None,
    review_type: str,
    log: AuditLog,
) -> Review:
    """A new draft review row (flushed, so it has its id; `log.review_id` is set to it).

    The values are checked by the caller; the caller logs its creation (with what it adds)."""
    review = Review(
        program_id=program.id,
        scale_id=scale.id,
        scale_version=scale.version,
        scale_hash=scale.content_hash,
        review_date=review_date,
        review_end_date=review_end_date,
        review_type=review_type,
        status=ReviewStatus.DRAFT,
        amendment_number=0,
        created_at=log.at,
        created_by=log.actor,
        updated_at=log.at,
    )
    s.add(review)
    s.flush()
    log.review_id = review.id
    return review


def add_rater_row(s: Session, review: Review, rater: str, log: AuditLog) -> None:
    """Add a (checked) rater to the review, logged; `review.raters` is reloaded."""
    s.add(ReviewRater(review_id=review.id, rater=rater, added_at=log.at, added_by=log.actor))
    log("review", "rater_added", None, rater)
    s.flush()
    s.refresh(review, ["raters"])


def assigned_rater(review: Review, rater: str) -> str:
    """The rater's name as the review has it; ValidationProblem when they are not a rater on it."""
    name = rater.strip() if isinstance(rater, str) else ""
    for r in review.raters:
        if r.rater == name:
            return r.rater
    names = ", ".join(r.rater for r in review.raters) or "none"
    raise ValidationProblem(f"{name or rater!r} is not a rater on review {review.id} (raters: {names})")


# ---- rating rows ----------------------------------------------------------------------------------


def consensus_rows(s: Session, review_id: int) -> list[ConsensusRating]:
    """The review's consensus rows (in no particular order)."""
    return list(s.scalars(select(ConsensusRating).where(ConsensusRating.review_id == review_id)))


def rater_rows(s: Session, review_id: int, rater: str | None = None) -> list[RaterRating]:
    """The review's rater rows in the order they were made; only `rater`'s when given."""
    query = select(RaterRating).where(RaterRating.review_id == review_id).order_by(RaterRating.id)
    if rater is not None:
        query = query.where(RaterRating.rater == rater)
    return list(s.scalars(query))


def stale_message(
    entity: str, row: RaterRating | ConsensusRating | None, expected_version: int, item_id: str
) -> str:
    """What StaleWriteError says: who changed the row and when, since the caller loaded it."""
    if row is None:  # a version was expected, but nothing is saved: the caller's view is off
        return f"{entity} has no saved value (you expected version {expected_version}); reload"
    what = "their rating" if isinstance(row, RaterRating) else "their consensus rating"
    return (
        f"{item_id} was changed by {row.updated_by} at {clock(row.updated_at)} since you loaded it; "
        f"reload to see {what}"
    )


def clock(at: dt.datetime) -> str:
    """A time as messages give it: "14:05 UTC on 2026-03-14"."""
    return f"{at.astimezone(dt.UTC):%H:%M} UTC on {at.astimezone(dt.UTC):%Y-%m-%d}"


# ---- scales ---------------------------------------------------------------------------------------


def registry_scale(db: Database, scale_id: str, version: str | None) -> Scale:
    """A loaded scale (`version` None: the newest); ValidationProblem when it is not loaded."""
    try:
        return db.registry.get(scale_id, version)
    except UnknownScaleError as exc:
        raise ValidationProblem(str(exc.args[0] if exc.args else exc)) from None


def review_scale(db: Database, review: Review) -> Scale:
    """The scale the review was rated on, refusing one whose published file has changed."""
    where = f"review {review.id} was rated on {review.scale_id} {review.scale_version}"
    try:
        scale = db.registry.get(review.scale_id, review.scale_version)
    except UnknownScaleError:
        raise ScaleChangedError(
            f"{where}, which is not among the loaded scales; restore that scale file "
            "(or add its folder to FIDELITY_SCALES_DIRS)"
        ) from None
    if scale.content_hash != review.scale_hash:
        path = db.registry.paths.get((scale.id, scale.version), "its file")
        raise ScaleChangedError(
            f"{where} (content {review.scale_hash}), but {path} now has different content "
            f"({scale.content_hash}); a published scale version must never change: restore the "
            "original file, or publish the change as a new version"
        )
    return scale


def scale_item(scale: Scale, item_id: str) -> Item:
    """The scale's item; ValidationProblem when the scale has no such item."""
    if not scale.has_item(item_id):
        raise ValidationProblem(f"item {item_id}: not an item of {scale.id} {scale.version}")
    return scale.item(item_id)
