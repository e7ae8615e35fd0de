"""The review workflow: programs, reviews, two raters, consensus, finalizing, amendments.

Every call takes `actor` (a services.access.Actor: who is acting, in which role) and is
refused with AccessDenied when services.access.POLICY does not allow it; reads keep to the
actor's scope. Every mutating call runs in its own committed transaction and writes its audit
rows (naming `actor.name`) in that same transaction. Calls return frozen
dataclasses (never ORM objects), so the UI can keep them after the session has closed.

Workflow: start_review (draft) -> raters save_rating -> compare_raters -> save_consensus /
mark_not_rated (status becomes consensus) -> finalize (final, immutable) -> amend (a new
review that copies the final one; the final one is never edited).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from scales import Scale, UnknownScaleError
from scales.schema import Item
from scoring import Agreement, ItemEntry, ItemRatingError, ReviewScore, agreement, rate_item, score_ratings
from scoring.items import ItemScore, check_input, check_rating
from services import access
from services.access import Action, Actor
from services.database import Database
from services.errors import (
    IntegrityFailure,
    NotFound,
    ReviewFinalizedError,
    ScaleChangedError,
    StaleWriteError,
    ValidationProblem,
)
from storage.integrity import failing_reviews, review_checksum
from storage.models import (
    NAME_LENGTH,
    PERSON_LENGTH,
    AuditEntry,
    ConsensusRating,
    Program,
    ProgramModel,
    Provider,
    RaterRating,
    RatingSource,
    Review,
    ReviewAssignment,
    ReviewRater,
    ReviewStatus,
    ReviewType,
    User,
)

__all__ = [
    "UNSET",
    "AuditRecord",
    "ConsensusView",
    "ProgramView",
    "RatingView",
    "ReviewStatus",
    "ReviewSummary",
    "ReviewType",
    "ReviewView",
    "add_rater",
    "amend",
    "audit_trail",
    "compare_raters",
    "count_reviews",
    "create_program",
    "finalize",
    "find_program",
    "get_program",
    "get_review",
    "list_programs",
    "list_providers",
    "list_reviews",
    "live_score",
    "mark_not_rated",
    "program_audit_trail",
    "rater_scores",
    "review_json",
    "save_consensus",
    "save_rating",
    "set_review_text",
    "start_review",
    "update_program",
    "update_review",
]


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Literal[_Unset.UNSET] = _Unset.UNSET
"""Default of optional fields: "leave as it is", as opposed to None ("clear it")."""


# --------------------------------------------------------------------------------------------
# Views returned to callers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramView:
    id: int
    name: str
    provider: str | None
    region: str | None
    model: str | None
    active_from: dt.date | None
    active_to: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class RatingView:
    """One rater's rating of one item."""

    rater: str
    item_id: str
    rating: int | None
    source: str | None  # "rated", "computed" or None when not rated yet
    inputs: dict[str, Any] | None
    note: str | None
    data_sources: list[str]
    pending: str | None  # why saved inputs give no rating yet, e.g. "missing input staff_fte"
    version: int
    updated_at: dt.datetime
    updated_by: str


@dataclass(frozen=True)
class ConsensusView:
    """The agreed rating of one item, or why it was not rated."""

    item_id: str
    rating: int | None
    source: str | None
    inputs: dict[str, Any] | None
    evidence: str | None
    recommendation: str | None
    data_sources: list[str]
    not_rated_reason: str | None
    pending: str | None
    version: int  # pass it back as expected_version when saving this item
    updated_at: dt.datetime
    updated_by: str

    @property
    def settled(self) -> bool:
        """Rated, or explicitly marked not rated with a reason: what finalizing needs."""
        return self.rating is not None or bool(self.not_rated_reason)


@dataclass(frozen=True)
class ReviewView:
    id: int
    program: ProgramView
    scale_id: str
    scale_version: str
    scale_hash: str
    review_date: dt.date
    review_end_date: dt.date | None
    review_type: str
    status: str
    version: int  # pass back as expected_version to update_review / set_review_text
    raters: list[str]
    ratings: dict[str, dict[str, RatingView]]  # rater -> item id -> rating
    consensus: dict[str, ConsensusView]  # item id -> consensus (items not yet discussed are absent)
    strengths: str | None
    summary: str | None
    recommendations: str | None
    amendment_of: int | None
    amendment_number: int
    amendment_reason: str | None
    amended_by: int | None  # the review that amends this one, when there is one
    created_at: dt.datetime
    created_by: str
    finalized_at: dt.datetime | None
    finalized_by: str | None
    final_score: dict[str, Any] | None

    @property
    def is_final(self) -> bool:
        return self.status == ReviewStatus.FINAL

    def consensus_version(self, item_id: str) -> int:
        """The expected_version for saving this item's consensus: 0 when none exists yet."""
        found = self.consensus.get(item_id)
        return 0 if found is None else found.version


@dataclass(frozen=True)
class ReviewSummary:
    id: int
    program_id: int
    program: str
    scale_id: str
    scale_version: str
    review_date: dt.date
    review_type: str
    status: str
    amendment_of: int | None
    amendment_number: int
    amended_by: int | None
    total_mean: float | None
    total_sum: int | None
    rated: int | None
    items: int | None
    band: str | None
    problem: str | None = None  # why no score could be given (e.g. its scale file changed)


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: dt.datetime
    actor: str
    review_id: int | None
    program_id: int | None
    entity: str
    field: str
    old_value: Any
    new_value: Any


# --------------------------------------------------------------------------------------------
# Programs
# --------------------------------------------------------------------------------------------


def create_program(
    db: Database,
    name: str,
    *,
    actor: Actor,
    provider: str | None = None,
    region: str | None = None,
    model: str | None = None,
    active_from: dt.date | None = None,
    active_to: dt.date | None = None,
) -> ProgramView:
    who = _actor(actor, Action.MANAGE_PROGRAMS)
    name = _required_text(name, "program name", NAME_LENGTH)
    model = _model(model)
    _check_active_dates(active_from, active_to)
    with db.writing() as s:
        _refuse_duplicate_program(s, name)
        log = _Log(s, who)
        now = log.at
        program = Program(
            name=name,
            provider=_provider(s, _optional_text(provider, "provider", NAME_LENGTH), log),
            region=_optional_text(region, "region", NAME_LENGTH),
            model=model,
            active_from=active_from,
            active_to=active_to,
            created_at=now,
            updated_at=now,
        )
        s.add(program)
        s.flush()
        log.program_id = program.id
        log(f"program[{program.id}]", "created", None, _program_fields(program))
        return _program_view(program)


def update_program(
    db: Database,
    program_id: int,
    *,
    actor: Actor,
    name: str | _Unset = UNSET,
    provider: str | _Unset | None = UNSET,
    region: str | _Unset | None = UNSET,
    model: str | _Unset | None = UNSET,
    active_from: dt.date | _Unset | None = UNSET,
    active_to: dt.date | _Unset | None = UNSET,
) -> ProgramView:
    who = _actor(actor, Action.MANAGE_PROGRAMS)
    with db.writing() as s:
        program = _program(s, program_id, lock=True)
        log = _Log(s, who, program_id=program.id)
        before = _program_fields(program)
        if name is not UNSET:
            new_name = _required_text(name, "program name", NAME_LENGTH)
            if new_name != program.name:
                _refuse_duplicate_program(s, new_name)
            program.name = new_name
        if provider is not UNSET:
            program.provider = _provider(s, _optional_text(provider, "provider", NAME_LENGTH), log)
        if region is not UNSET:
            program.region = _optional_text(region, "region", NAME_LENGTH)
        if model is not UNSET:
            program.model = _model(model)
        if active_from is not UNSET:
            program.active_from = active_from
        if active_to is not UNSET:
            program.active_to = active_to
        _check_active_dates(program.active_from, program.active_to)
        after = _program_fields(program)
        changed = [key for key in after if after[key] != before[key]]
        for key in changed:
            log(f"program[{program.id}]", key, before[key], after[key])
        if changed:
            program.updated_at = log.at
        return _program_view(program)


def get_program(db: Database, program_id: int, *, actor: Actor) -> ProgramView:
    access.require(actor, Action.READ_PROGRAMS)
    with db.reading() as s:
        program = _program(s, program_id)
        access.require_program(actor, Action.READ_PROGRAMS, program.id)
        return _program_view(program)


def find_program(db: Database, name: str, *, actor: Actor) -> ProgramView | None:
    """The program with exactly this name, or None; AccessDenied if it is out of the actor's scope."""
    access.require(actor, Action.READ_PROGRAMS)
    with db.reading() as s:
        program = s.scalars(select(Program).where(Program.name == name.strip())).one_or_none()
        if program is None:
            return None
        access.require_program(actor, Action.READ_PROGRAMS, program.id)
        return _program_view(program)


def list_programs(
    db: Database,
    *,
    actor: Actor,
    search: str | None = None,
    provider: str | None = None,
    region: str | None = None,
    model: str | None = None,
    active_on: dt.date | None = None,
) -> list[ProgramView]:
    """Programs by name (those the actor may see); `search` matches part of the name,
    case-insensitively."""
    query = select(Program).outerjoin(Program.provider).order_by(Program.name)
    visible = access.program_filter(actor)
    if visible is not None:
        query = query.where(visible)
    if search:
        query = query.where(func.lower(Program.name).contains(search.strip().lower(), autoescape=True))
    if provider:
        query = query.where(Provider.name == provider)
    if region:
        query = query.where(Program.region == region)
    if model:
        query = query.where(Program.model == _model(model))
    if active_on is not None:
        query = query.where(
            (Program.active_from.is_(None)) | (Program.active_from <= active_on),
            (Program.active_to.is_(None)) | (Program.active_to >= active_on),
        )
    with db.reading() as s:
        return [_program_view(p) for p in s.scalars(query)]


def list_providers(db: Database, *, actor: Actor) -> list[str]:
    """Provider names; a program manager sees only the providers of their own programs."""
    query = select(Provider.name).order_by(Provider.name)
    visible = access.program_filter(actor)
    if visible is not None:
        query = query.where(select(Program.id).where(Program.provider_id == Provider.id, visible).exists())
    with db.reading() as s:
        return list(s.scalars(query))


# --------------------------------------------------------------------------------------------
# Reviews: start, rate, compare
# --------------------------------------------------------------------------------------------


def start_review(
    db: Database,
    program_id: int,
    scale_id: str,
    version: str | None,
    review_date: dt.date,
    review_type: str,
    raters: Sequence[str],
    *,
    actor: Actor,
    review_end_date: dt.date | None = None,
    reviewers: Sequence[str] = (),
) -> ReviewView:
    """A new draft review of the program on scale `scale_id` `version` (None: the newest).

    A reviewer who starts a review is assigned to it. `reviewers` (e-mail addresses of
    registered reviewers) are assigned to it as well; only an agency admin may name them.
    """
    who = _actor(actor, Action.START_REVIEW)
    if reviewers:
        access.require(actor, Action.MANAGE_USERS)
    scale = _registry_scale(db, scale_id, version)
    kind = _review_type(review_type)
    _check_review_dates(review_date, review_end_date)
    names = _rater_names(raters)
    if not names:
        raise ValidationProblem("a review needs at least one rater")
    with db.writing() as s:
        program = _program(s, program_id)
        access.require_program(actor, Action.START_REVIEW, program.id)
        _check_model(program, scale)
        log = _Log(s, who, program_id=program.id)
        review = _new_review(s, program, scale, review_date, review_end_date, kind, log)
        log("review", "created", None, _review_fields(review))
        for rater in names:
            _add_rater(s, review, rater, log)
        assignees = [_reviewer_user(s, email) for email in reviewers]
        if actor.role == access.Role.REVIEWER and actor.user_id is not None:
            assignees.insert(0, _user(s, actor.user_id))
        for user in dict.fromkeys(assignees):
            _assign_reviewer(s, review, user, log)
        return _review_view(s, review, scale)


def add_rater(db: Database, review_id: int, rater: str, *, actor: Actor) -> ReviewView:
    who = _actor(actor, Action.EDIT_REVIEW)
    (name,) = _rater_names([rater])
    with db.writing() as s:
        review = _lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        _require_editable(review)
        scale = _review_scale(db, review)
        if name.casefold() in {r.rater.casefold() for r in review.raters}:
            raise ValidationProblem(f"{name} is already a rater on review {review.id}")
        _add_rater(s, review, name, _Log(s, who, review_id=review.id))
        return _review_view(s, review, scale)


def save_rating(
    db: Database,
    review_id: int,
    rater: str,
    item_id: str,
    *,
    actor: Actor,
    rating: int | _Unset | None = UNSET,
    inputs: Mapping[str, object] | _Unset | None = UNSET,
    note: str | _Unset | None = UNSET,
    data_sources: Sequence[str] | _Unset | None = UNSET,
    expected_version: int | None = None,
) -> RatingView:
    """Save what one rater says about one item; fields left UNSET keep their saved value.

    A computed item's inputs give its rating; inputs that are not all entered yet are
    saved and the item stays unrated until they are. A bad number or a rating that
    disagrees with the inputs is refused (ValidationProblem) and nothing is written.
    Each rater has their own row, so raters never overwrite each other; pass
    `expected_version` to also guard against the same rater saving from two windows.
    """
    who = _actor(actor, Action.EDIT_REVIEW)
    with db.writing() as s:
        review = _lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        _require_editable(review)
        scale = _review_scale(db, review)
        item = _item(scale, item_id)
        rater = _assigned_rater(review, rater)
        row = s.scalars(
            select(RaterRating).where(
                RaterRating.review_id == review.id, RaterRating.rater == rater, RaterRating.item_id == item.id
            )
        ).one_or_none()
        entity = f"rating[{item.id}][rater={rater}]"
        if expected_version is not None and (0 if row is None else row.version) != expected_version:
            raise StaleWriteError(_stale_message(entity, row, expected_version, item.id))
        log = _Log(s, who, review_id=review.id)
        if row is None:
            row = RaterRating(review_id=review.id, rater=rater, item_id=item.id, updated_by=who)
            s.add(row)
        before = _rating_fields(row)
        if rating is not UNSET or inputs is not UNSET:
            resolved = _resolve(item, scale, row, rating, inputs)
            row.rating, row.rating_source, row.inputs = resolved.rating, resolved.source, resolved.inputs
        if note is not UNSET:
            row.note = _optional_text(note, "note")
        if data_sources is not UNSET:
            row.data_sources = _sources(data_sources)
        after = _rating_fields(row)
        changed = [key for key in after if after[key] != before[key]]
        if not changed and row.id is not None:
            return _rating_view(row, item)
        for key in changed:
            log(entity, key, before[key], after[key])
        row.updated_at, row.updated_by = log.at, who
        s.flush()
        return _rating_view(row, item)


def get_review(db: Database, review_id: int, *, actor: Actor) -> ReviewView:
    """The review with every rater's ratings and the consensus so far.

    Raises ScaleChangedError when the scale file it was rated on has changed since.
    """
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = _review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        _check_integrity(s, review)
        return _review_view(s, review, _review_scale(db, review))


def live_score(db: Database, review_id: int, rater: str | None = None, *, actor: Actor) -> ReviewScore:
    """The score from the consensus ratings so far, or from one rater's ratings."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = _review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        scale = _review_scale(db, review)
        if rater is None:
            rows: Iterable[ConsensusRating | RaterRating] = _consensus_rows(s, review.id)
        else:
            rows = _rater_rows(s, review.id, _assigned_rater(review, rater))
        return _score(scale, rows)


def rater_scores(db: Database, review_id: int, *, actor: Actor) -> dict[str, ReviewScore]:
    """Each rater's own score of the review, by rater."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = _review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        scale = _review_scale(db, review)
        return {r.rater: _score(scale, _rater_rows(s, review.id, r.rater)) for r in review.raters}


def compare_raters(db: Database, review_id: int, rater_a: str, rater_b: str, *, actor: Actor) -> Agreement:
    """Agreement between two raters: exact and within-one figures, and every item they differ on."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = _review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        scale = _review_scale(db, review)
        a, b = _assigned_rater(review, rater_a), _assigned_rater(review, rater_b)
        ratings_a = {row.item_id: row.rating for row in _rater_rows(s, review.id, a)}
        ratings_b = {row.item_id: row.rating for row in _rater_rows(s, review.id, b)}
        return agreement(scale.item_ids, ratings_a, ratings_b)


# --------------------------------------------------------------------------------------------
# Consensus, texts, finalizing, amendments
# --------------------------------------------------------------------------------------------


def save_consensus(
    db: Database,
    review_id: int,
    item_id: str,
    *,
    expected_version: int,
    actor: Actor,
    rating: int | _Unset | None = UNSET,
    inputs: Mapping[str, object] | _Unset | None = UNSET,
    evidence: str | _Unset | None = UNSET,
    recommendation: str | _Unset | None = UNSET,
    data_sources: Sequence[str] | _Unset | None = UNSET,
    not_rated_reason: str | _Unset | None = UNSET,
) -> ConsensusView:
    """Save the consensus on one item, refusing a stale write.

    `expected_version` is the item's ConsensusView.version when the caller loaded it (0 if
    it had none). If someone has saved the item since, StaleWriteError says who and when,
    and nothing is written. Giving a rating clears a not-rated reason.
    """
    who = _actor(actor, Action.EDIT_REVIEW)
    with db.writing() as s:
        review = _lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        _require_editable(review)
        scale = _review_scale(db, review)
        item = _item(scale, item_id)
        log = _Log(s, who, review_id=review.id)
        row = _consensus_row(s, review, item, expected_version, log)
        before = _consensus_fields(row)
        if rating is not UNSET or inputs is not UNSET:
            resolved = _resolve(item, scale, row, rating, inputs)
            row.rating, row.rating_source, row.inputs = resolved.rating, resolved.source, resolved.inputs
            if resolved.rating is not None and not_rated_reason is UNSET:
                row.not_rated_reason = None
        if evidence is not UNSET:
            row.evidence = _optional_text(evidence, "evidence")
        if recommendation is not UNSET:
            row.recommendation = _optional_text(recommendation, "recommendation")
        if data_sources is not UNSET:
            row.data_sources = _sources(data_sources)
        if not_rated_reason is not UNSET:
            row.not_rated_reason = _optional_text(not_rated_reason, "not-rated reason")
            if row.not_rated_reason is not None and row.rating is not None:
                raise ValidationProblem(
                    f"item {item.id} has consensus rating {row.rating}; clear the rating to mark it not rated"
                )
        _finish_consensus_change(s, review, row, before, item, log)
        return _consensus_view(row, item)


def mark_not_rated(
    db: Database, review_id: int, item_id: str, reason: str, *, expected_version: int, actor: Actor
) -> ConsensusView:
    """Record that the item is deliberately not rated, and why (clears its rating and inputs)."""
    reason = _required_text(reason, "reason the item is not rated")
    return save_consensus(
        db,
        review_id,
        item_id,
        expected_version=expected_version,
        actor=actor,
        rating=None,
        inputs=None,
        not_rated_reason=reason,
    )


def update_review(
    db: Database,
    review_id: int,
    *,
    actor: Actor,
    expected_version: int | None = None,
    review_date: dt.date | _Unset = UNSET,
    review_end_date: dt.date | _Unset | None = UNSET,
    review_type: str | _Unset = UNSET,
    strengths: str | _Unset | None = UNSET,
    summary: str | _Unset | None = UNSET,
    recommendations: str | _Unset | None = UNSET,
) -> ReviewView:
    """Change review-level fields; with `expected_version`, refuse if the review changed since."""
    who = _actor(actor, Action.EDIT_REVIEW)
    with db.writing() as s:
        review = _lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        _require_editable(review)
        scale = _review_scale(db, review)
        if expected_version is not None and review.version != expected_version:
            raise StaleWriteError(
                f"review {review.id} was changed at {_clock(review.updated_at)} since you loaded it; "
                "reload to see the change"
            )
        before = _review_fields(review)
        if review_date is not UNSET:
            review.review_date = review_date
        if review_end_date is not UNSET:
            review.review_end_date = review_end_date
        _check_review_dates(review.review_date, review.review_end_date)
        if review_type is not UNSET:
            review.review_type = _review_type(review_type)
        if strengths is not UNSET:
            review.strengths = _optional_text(strengths, "strengths")
        if summary is not UNSET:
            review.summary = _optional_text(summary, "summary")
        if recommendations is not UNSET:
            review.recommendations = _optional_text(recommendations, "recommendations")
        after = _review_fields(review)
        log = _Log(s, who, review_id=review.id)
        changed = [key for key in after if after[key] != before[key]]
        for key in changed:
            log("review", key, before[key], after[key])
        if changed:
            review.updated_at = log.at
            s.flush()
        return _review_view(s, review, scale)


def set_review_text(
    db: Database,
    review_id: int,
    *,
    actor: Actor,
    strengths: str | _Unset | None = UNSET,
    summary: str | _Unset | None = UNSET,
    recommendations: str | _Unset | None = UNSET,
    expected_version: int | None = None,
) -> ReviewView:
    """The review's strengths, summary and overall recommendations."""
    return update_review(
        db,
        review_id,
        actor=actor,
        expected_version=expected_version,
        strengths=strengths,
        summary=summary,
        recommendations=recommendations,
    )


def finalize(db: Database, review_id: int, *, actor: Actor) -> ReviewView:
    """Make the review final; refused while any item lacks a consensus rating or a not-rated reason."""
    who = _actor(actor, Action.EDIT_REVIEW)
    with db.writing() as s:
        review = _lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        _require_editable(review)
        scale = _review_scale(db, review)
        rows = {row.item_id: row for row in _consensus_rows(s, review.id)}
        problems = _unsettled(scale, rows)
        if problems:
            heading = (
                f"review {review.id} cannot be finalized yet: every item needs a consensus rating "
                "or a reason it was not rated"
            )
            raise ValidationProblem([heading, *problems])
        _finalize(s, review, scale, rows.values(), _Log(s, who, review_id=review.id))
        return _review_view(s, review, scale)


def amend(db: Database, review_id: int, reason: str, *, actor: Actor) -> ReviewView:
    """Reopen a final review as a new amendment: a copy to edit; the final one stays as it was.
    The reviewers assigned to the final review are assigned to the amendment."""
    who = _actor(actor, Action.AMEND_REVIEW)
    reason = _required_text(reason, "reason for the amendment")
    with db.writing() as s:
        old = _lock_review(s, review_id)
        access.require_review(s, actor, Action.AMEND_REVIEW, old)
        if old.status != ReviewStatus.FINAL:
            raise ValidationProblem(f"review {old.id} is not final, so it can be changed directly")
        existing = s.scalar(select(Review.id).where(Review.amendment_of == old.id))
        if existing is not None:
            raise ValidationProblem(
                f"review {old.id} has already been amended as review {existing}; amend that one instead"
            )
        scale = _review_scale(db, old)
        log = _Log(s, who, review_id=old.id, program_id=old.program_id)
        consensus = _consensus_rows(s, old.id)
        new = Review(
            program_id=old.program_id,
            scale_id=old.scale_id,
            scale_version=old.scale_version,
            scale_hash=old.scale_hash,
            review_date=old.review_date,
            review_end_date=old.review_end_date,
            review_type=old.review_type,
            status=ReviewStatus.CONSENSUS if consensus else ReviewStatus.DRAFT,
            strengths=old.strengths,
            summary=old.summary,
            recommendations=old.recommendations,
            amendment_of=old.id,
            amendment_number=old.amendment_number + 1,
            amendment_reason=reason,
            created_at=log.at,
            created_by=who,
            updated_at=log.at,
        )
        s.add(new)
        try:
            s.flush()
        except IntegrityError:  # another amendment won the race for this review
            raise ValidationProblem(f"review {old.id} has just been amended by someone else") from None
        for r in old.raters:
            s.add(ReviewRater(review_id=new.id, rater=r.rater, added_at=r.added_at, added_by=r.added_by))
        s.flush()
        # Copies keep who last changed each rating and when: the amendment starts from the record.
        for row in _rater_rows(s, old.id):
            copy = {key: getattr(row, key) for key in (*_RATING_COLUMNS, "note", "updated_at", "updated_by")}
            s.add(RaterRating(review_id=new.id, rater=row.rater, item_id=row.item_id, **copy))
        for row in consensus:
            copy = {key: getattr(row, key) for key in (*_CONSENSUS_COLUMNS, "updated_at", "updated_by")}
            s.add(ConsensusRating(review_id=new.id, item_id=row.item_id, **copy))
        log("review", "amended_by", None, {"review": new.id, "reason": reason})
        log.review_id = new.id
        created = {
            **_review_fields(new),
            "amendment_of": old.id,
            "amendment_number": new.amendment_number,
            "amendment_reason": reason,
        }
        log("review", "created", None, created)
        assigned = (
            select(User)
            .join(ReviewAssignment)
            .where(ReviewAssignment.review_id == old.id, User.active, User.role == access.Role.REVIEWER.value)
        )
        for user in s.scalars(assigned.order_by(User.email)):
            _assign_reviewer(s, new, user, log)
        s.flush()
        return _review_view(s, new, scale)


def _listed(actor: Actor, program_id: int | None, status: str | None) -> list[ColumnElement[bool]]:
    """The conditions of list_reviews and count_reviews: what the actor may open, filtered."""
    conditions: list[ColumnElement[bool]] = []
    visible = access.review_filter(actor)
    if visible is not None:
        conditions.append(visible)
    if program_id is not None:
        conditions.append(Review.program_id == program_id)
    if status is not None:
        conditions.append(Review.status == _status(status))
    return conditions


def count_reviews(
    db: Database, *, actor: Actor, program_id: int | None = None, status: str | None = None
) -> int:
    """How many reviews list_reviews gives with the same filters (for paging through them)."""
    query = select(func.count(Review.id)).join(Review.program).where(*_listed(actor, program_id, status))
    with db.reading() as s:
        return int(s.scalar(query) or 0)


def list_reviews(
    db: Database,
    *,
    actor: Actor,
    program_id: int | None = None,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ReviewSummary]:
    """Reviews the actor may open, newest first, each with its total and band (final ones as
    they were finalized); `limit` and `offset` give one page of them.

    One query of plain columns: a final review's total and band are read out of its stored
    score by the database (JSON paths), not by decoding 4 KB of JSON per review in Python (20,000
    reviews took 7 s that way); only open reviews, a few, are scored from their ratings.
    """
    score = Review.final_score
    newer = aliased(Review)
    query = (
        select(  # labelled as ReviewSummary's fields
            Review.id,
            Review.program_id,
            Program.name.label("program"),
            Review.scale_id,
            Review.scale_version,
            Review.review_date,
            Review.review_type,
            Review.status,
            Review.amendment_of,
            Review.amendment_number,
            newer.id.label("amended_by"),
            score[("total", "mean")].as_float().label("total_mean"),
            score[("total", "sum")].as_integer().label("total_sum"),
            score[("total", "rated")].as_integer().label("rated"),
            score[("total", "items")].as_integer().label("items"),
            score[("band",)].as_string().label("band"),
        )
        .join(Review.program)
        .outerjoin(newer, newer.amendment_of == Review.id)
        .where(*_listed(actor, program_id, status))
        .order_by(Review.review_date.desc(), Review.id.desc())
    )
    if limit is not None or offset:  # the page's ids first, so only its scores are read out
        page = (
            select(Review.id)
            .join(Review.program)
            .where(*_listed(actor, program_id, status))
            .order_by(Review.review_date.desc(), Review.id.desc())
            .limit(limit)
            .offset(offset or None)
        )
        query = query.where(Review.id.in_(page.scalar_subquery()))
    with db.reading() as s:
        summaries = [ReviewSummary(**row._mapping) for row in s.execute(query)]
        open_ids = [r.id for r in summaries if r.items is None]  # no stored score: not final yet
        live: dict[int, dict[str, Any]] = {}
        if open_ids:
            consensus: dict[int, list[ConsensusRating]] = {}
            for rating in s.scalars(select(ConsensusRating).where(ConsensusRating.review_id.in_(open_ids))):
                consensus.setdefault(rating.review_id, []).append(rating)
            for review in s.scalars(select(Review).where(Review.id.in_(open_ids))):
                try:
                    scored = _score(_review_scale(db, review), consensus.get(review.id, [])).to_dict()
                except ScaleChangedError as exc:
                    live[review.id] = {"problem": str(exc)}
                    continue
                total = scored["total"]
                live[review.id] = {
                    "total_mean": total["mean"],
                    "total_sum": total["sum"],
                    "rated": total["rated"],
                    "items": total["items"],
                    "band": scored["band"],
                }
    return [dataclasses.replace(r, **live[r.id]) if r.id in live else r for r in summaries]


def audit_trail(
    db: Database, review_id: int, *, actor: Actor, include_earlier: bool = True
) -> list[AuditRecord]:
    """Every recorded change of the review, oldest first; with `include_earlier`, also those of
    the reviews it amends (an amendment's history starts with the review it copied).

    Read only: no service changes or deletes audit rows (and the database refuses both)."""
    access.require(actor, Action.READ_HISTORY)
    with db.reading() as s:
        review = _review(s, review_id)
        access.require_review(s, actor, Action.READ_HISTORY, review)
        ids = [review.id]
        previous = review.amendment_of
        while include_earlier and previous is not None:
            ids.append(previous)
            previous = s.scalar(select(Review.amendment_of).where(Review.id == previous))
        rows = s.scalars(select(AuditEntry).where(AuditEntry.review_id.in_(ids)).order_by(AuditEntry.id))
        return [_audit_record(row) for row in rows]


def program_audit_trail(db: Database, program_id: int, *, actor: Actor) -> list[AuditRecord]:
    """The program's own recorded changes (not its reviews'), oldest first."""
    access.require(actor, Action.READ_HISTORY)
    with db.reading() as s:
        _program(s, program_id)
        access.require_program(actor, Action.READ_PROGRAMS, program_id)
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.program_id == program_id, AuditEntry.review_id.is_(None))
            .order_by(AuditEntry.id)
        )
        return [_audit_record(row) for row in rows]


def review_json(db: Database, review_id: int, *, actor: Actor) -> dict[str, Any]:
    """`fidelity score --json`'s shape (ReviewScore.to_dict()) plus the review's ids, status and
    dates, and per item the consensus evidence, recommendation and not-rated reason."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = _review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        _check_integrity(s, review)
        scale = _review_scale(db, review)
        view = _review_view(s, review, scale)
        result = _score(scale, _consensus_rows(s, review.id)).to_dict()
    for item_id, entry in result["items"].items():
        c = view.consensus.get(item_id)
        if c is None:
            continue
        for key in ("evidence", "recommendation", "not_rated_reason"):
            value = getattr(c, key)
            if value:
                entry[key] = value
        if c.data_sources:
            entry["data_sources"] = c.data_sources
    return {
        "review_id": view.id,
        "program_id": view.program.id,
        "program": view.program.name,
        "status": view.status,
        "review_date": view.review_date.isoformat(),
        "review_end_date": None if view.review_end_date is None else view.review_end_date.isoformat(),
        "review_type": view.review_type,
        "raters": view.raters,
        "amendment_of": view.amendment_of,
        "amendment_number": view.amendment_number,
        "amended_by": view.amended_by,
        "finalized_at": None if view.finalized_at is None else view.finalized_at.isoformat(),
        "strengths": view.strengths,
        "summary": view.summary,
        "recommendations": view.recommendations,
        **result,
    }


# --------------------------------------------------------------------------------------------
# Internals shared with services.review_import
# --------------------------------------------------------------------------------------------


_RATING_COLUMNS = ("rating", "rating_source", "inputs", "data_sources")
_CONSENSUS_COLUMNS = (*_RATING_COLUMNS, "evidence", "recommendation", "not_rated_reason")


@dataclass
class _Log:
    """Writes audit rows into the caller's transaction."""

    session: Session
    actor: str
    review_id: int | None = None
    program_id: int | None = None
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __call__(self, entity: str, field_name: str, old: Any, new: Any) -> None:
        if old == new:
            return
        self.session.add(
            AuditEntry(
                at=self.at,
                actor=self.actor,
                review_id=self.review_id,
                program_id=self.program_id,
                entity=entity,
                field=field_name,
                old_value=_json_text(old),
                new_value=_json_text(new),
            )
        )


@dataclass(frozen=True)
class _Resolved:
    rating: int | None
    source: str | None
    inputs: dict[str, Any] | None


def _resolve(
    item: Item,
    scale: Scale,
    row: RaterRating | ConsensusRating,
    rating: object,
    inputs: Mapping[str, object] | _Unset | None,
) -> _Resolved:
    """The stored rating after a change to the given rating and/or the inputs."""
    # Left unset, a given rating stays; a computed one is worked out again from the inputs.
    given = _given_rating(row) if rating is UNSET else rating
    new_inputs = row.inputs if inputs is UNSET else inputs
    try:
        given = check_rating(item.id, given, scale.rating)
    except ItemRatingError as exc:
        raise ValidationProblem(exc.problems) from None
    cleaned = _clean_inputs(item, new_inputs)
    try:
        score = rate_item(item, _entry(item, given, cleaned), scale.rating)
    except ItemRatingError as exc:
        raise ValidationProblem(exc.problems) from None
    source = None if score.rating is None else score.source
    return _Resolved(score.rating, source, cleaned)


def _clean_inputs(item: Item, inputs: Mapping[str, object] | None) -> dict[str, Any] | None:
    """Inputs as JSON numbers with blanks dropped; unknown names and bad numbers are refused."""
    if inputs is None:
        return None
    if not isinstance(inputs, Mapping):
        raise ValidationProblem(f"item {item.id}: inputs must be a mapping of input name to number")
    cleaned = {str(name): value for name, value in inputs.items() if value is not None}
    if not cleaned:
        return None
    if item.compute is None:
        raise ValidationProblem(f"item {item.id}: is not a computed item, so it takes a rating and no inputs")
    specs = {spec.name: spec for spec in item.compute.inputs}
    problems = []
    unknown = sorted(set(cleaned) - set(specs))
    if unknown:
        problems.append(f"item {item.id}: unknown input {', '.join(unknown)} (expected {', '.join(specs)})")
    for name, value in cleaned.items():
        if name in specs:
            try:
                check_input(item.id, specs[name], value)
            except ItemRatingError as exc:
                problems.extend(exc.problems)
    if problems:
        raise ValidationProblem(problems)
    return {name: _json_number(value) for name, value in cleaned.items()}


def _pending(item: Item, given: int | None, inputs: Mapping[str, Any] | None) -> str | None:
    """Why saved inputs do not give a rating yet (they are kept, the item counts as unrated)."""
    if not inputs or item.compute is None:
        return None
    missing = [spec.name for spec in item.compute.inputs if inputs.get(spec.name) is None]
    if missing:
        return f"missing input {', '.join(missing)}"
    decides = item.compute.decides
    if decides is not None and given is None:
        return f"needs a rating; its inputs only decide between {' or '.join(str(r) for r in decides)}"
    return None


def _entry(item: Item, given: int | None, inputs: Mapping[str, Any] | None) -> ItemEntry | None:
    """What scoring sees: inputs count once they are complete (and, for a judged item, rated)."""
    usable = inputs if inputs and _pending(item, given, inputs) is None else None
    if given is None and usable is None:
        return None
    return ItemEntry(rating=given, inputs=usable)


def _given_rating(row: RaterRating | ConsensusRating) -> int | None:
    return row.rating if row.rating_source == RatingSource.RATED else None


def _row_entry(item: Item, row: RaterRating | ConsensusRating) -> ItemEntry | None:
    return _entry(item, _given_rating(row), row.inputs)


def _score(scale: Scale, rows: Iterable[RaterRating | ConsensusRating]) -> ReviewScore:
    items: dict[str, ItemScore] = {}
    by_item = {row.item_id: row for row in rows}
    for item in scale.items:
        row = by_item.get(item.id)
        entry = None if row is None else _row_entry(item, row)
        try:
            items[item.id] = rate_item(item, entry, scale.rating)
        except ItemRatingError as exc:  # only if stored data no longer fits its (verified) scale
            raise ScaleChangedError(exc.problems) from None
    return score_ratings(scale, items)


def _consensus_row(
    s: Session, review: Review, item: Item, expected_version: int, log: _Log
) -> ConsensusRating:
    """The item's consensus row, checked against the version the caller loaded (0: none)."""
    row = s.scalars(
        select(ConsensusRating)
        .where(ConsensusRating.review_id == review.id, ConsensusRating.item_id == item.id)
        .with_for_update()
    ).one_or_none()
    current = 0 if row is None else row.version
    if expected_version != current:
        raise StaleWriteError(_stale_message(f"consensus[{item.id}]", row, expected_version, item.id))
    if row is None:
        row = ConsensusRating(review_id=review.id, item_id=item.id, updated_by=log.actor, updated_at=log.at)
        s.add(row)
    return row


def _finish_consensus_change(
    s: Session, review: Review, row: ConsensusRating, before: dict[str, Any], item: Item, log: _Log
) -> None:
    after = _consensus_fields(row)
    changed = [key for key in after if after[key] != before[key]]
    if not changed and row.id is not None:
        return
    for key in changed:
        log(f"consensus[{item.id}]", key, before[key], after[key])
    row.updated_at, row.updated_by = log.at, log.actor
    if review.status == ReviewStatus.DRAFT:
        log("review", "status", review.status, ReviewStatus.CONSENSUS.value)
        review.status = ReviewStatus.CONSENSUS
        review.updated_at = log.at
    try:
        s.flush()
    except IntegrityError:  # a first consensus on this item was saved at the same moment
        raise StaleWriteError(
            f"{item.id} was given a consensus rating by someone else just now; reload to see it"
        ) from None


def _unsettled(scale: Scale, rows: Mapping[str, ConsensusRating]) -> list[str]:
    problems = []
    for item in scale.items:
        row = rows.get(item.id)
        if row is None:
            problems.append(f"item {item.id}: no consensus rating")
        elif row.rating is None and not row.not_rated_reason:
            pending = _pending(item, None, row.inputs)
            problems.append(f"item {item.id}: no consensus rating" + (f" ({pending})" if pending else ""))
    return problems


def _finalize(s: Session, review: Review, scale: Scale, rows: Iterable[ConsensusRating], log: _Log) -> None:
    score = _score(scale, rows)
    s.flush()  # every rating row is written before the checksum reads them
    log("review", "status", review.status, ReviewStatus.FINAL.value)
    with s.no_autoflush:  # one UPDATE sets status and checksum: a final review refuses any later one
        review.finalized_at = review.updated_at = log.at
        review.finalized_by = log.actor
        review.final_score = score.to_dict()
        review.content_checksum = review_checksum(s, review)
        review.status = ReviewStatus.FINAL
    summary = {"mean": review.final_score["total"]["mean"], "band": review.final_score["band"]}
    log("review", "final_score", None, summary)
    s.flush()


def _check_integrity(s: Session, review: Review) -> None:
    """Refuse to show or export a final review whose rows no longer match its checksum."""
    if failing_reviews(s, [review]):
        raise IntegrityFailure(integrity_message(review.id))


def integrity_message(review_id: int) -> str:
    return (
        f"review {review_id}: its stored content does not match the checksum taken when it was finalized "
        "(it was changed outside the application); it is not shown or exported. Ask your database "
        "administrator to restore it from a backup."
    )


def _new_review(
    s: Session,
    program: Program,
    scale: Scale,
    review_date: dt.date,
    review_end_date: dt.date | None,
    review_type: str,
    log: _Log,
) -> Review:
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


def _add_rater(s: Session, review: Review, rater: str, log: _Log) -> None:
    s.add(ReviewRater(review_id=review.id, rater=rater, added_at=log.at, added_by=log.actor))
    log("review", "rater_added", None, rater)
    s.flush()
    s.refresh(review, ["raters"])


def _lock_review(s: Session, review_id: int) -> Review:
    """The review, row-locked on PostgreSQL so writes to one review take turns (SQLite's
    BEGIN IMMEDIATE already serializes writers)."""
    review = s.scalars(select(Review).where(Review.id == review_id).with_for_update()).one_or_none()
    if review is None:
        raise NotFound(f"no review with id {review_id}")
    return review


def _review(s: Session, review_id: int) -> Review:
    review = s.get(Review, review_id)
    if review is None:
        raise NotFound(f"no review with id {review_id}")
    return review


def _require_editable(review: Review) -> None:
    if review.status == ReviewStatus.FINAL:
        raise ReviewFinalizedError(
            f"review {review.id} ({review.program.name}, {review.review_date}) is final and cannot be "
            "changed; amend it to make a new version"
        )


def _program(s: Session, program_id: int, *, lock: bool = False) -> Program:
    query = select(Program).where(Program.id == program_id)
    program = s.scalars(query.with_for_update() if lock else query).one_or_none()
    if program is None:
        raise NotFound(f"no program with id {program_id}")
    return program


def _refuse_duplicate_program(s: Session, name: str) -> None:
    if s.scalar(select(Program.id).where(Program.name == name)) is not None:
        raise ValidationProblem(f"a program named {name!r} already exists")


def _provider(s: Session, name: str | None, log: _Log) -> Provider | None:
    if name is None:
        return None
    provider = s.scalars(select(Provider).where(Provider.name == name)).one_or_none()
    if provider is None:
        provider = Provider(name=name, created_at=log.at)
        s.add(provider)
        log(f"provider[{name}]", "created", None, name)
    return provider


def _registry_scale(db: Database, scale_id: str, version: str | None) -> Scale:
    try:
        return db.registry.get(scale_id, version)
    except UnknownScaleError as exc:
        raise ValidationProblem(str(exc.args[0] if exc.args else exc)) from None


def _review_scale(db: Database, review: Review) -> Scale:
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


def _item(scale: Scale, item_id: str) -> Item:
    if not scale.has_item(item_id):
        raise ValidationProblem(f"item {item_id}: not an item of {scale.id} {scale.version}")
    return scale.item(item_id)


def _assigned_rater(review: Review, rater: str) -> str:
    name = rater.strip() if isinstance(rater, str) else ""
    for r in review.raters:
        if r.rater == name:
            return r.rater
    names = ", ".join(r.rater for r in review.raters) or "none"
    raise ValidationProblem(f"{name or rater!r} is not a rater on review {review.id} (raters: {names})")


def _consensus_rows(s: Session, review_id: int) -> list[ConsensusRating]:
    return list(s.scalars(select(ConsensusRating).where(ConsensusRating.review_id == review_id)))


def _rater_rows(s: Session, review_id: int, rater: str | None = None) -> list[RaterRating]:
    query = select(RaterRating).where(RaterRating.review_id == review_id).order_by(RaterRating.id)
    if rater is not None:
        query = query.where(RaterRating.rater == rater)
    return list(s.scalars(query))


def _stale_message(
    entity: str, row: RaterRating | ConsensusRating | None, expected_version: int, item_id: str
) -> str:
    if row is None:  # a version was expected, but nothing is saved: the caller's view is off
        return f"{entity} has no saved value (you expected version {expected_version}); reload"
    what = "their rating" if isinstance(row, RaterRating) else "their consensus rating"
    return (
        f"{item_id} was changed by {row.updated_by} at {_clock(row.updated_at)} since you loaded it; "
        f"reload to see {what}"
    )


def _clock(at: dt.datetime) -> str:
    return f"{at.astimezone(dt.UTC):%H:%M} UTC on {at.astimezone(dt.UTC):%Y-%m-%d}"


# ---- value checks --------------------------------------------------------------------------


def _actor(actor: Actor, action: Action) -> str:
    """The name the audit log records for the actor, once their role may take `action` at all
    (the scope, e.g. an assigned review, is checked when the target is loaded)."""
    access.require(actor, action)
    return _required_text(actor.name, "actor (who is making the change)", PERSON_LENGTH)


def _user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def _reviewer_user(s: Session, email: str) -> User:
    """The active reviewer with this e-mail address (what a review can be assigned to)."""
    key = email.strip().lower() if isinstance(email, str) else ""
    user = s.scalars(select(User).where(User.email == key)).one_or_none()
    if user is None:
        raise ValidationProblem(f"{email!r} is not a registered user (add them with `fidelity users add`)")
    if not user.active:
        raise ValidationProblem(f"{user.email} is deactivated and cannot be assigned to a review")
    if user.role != access.Role.REVIEWER:
        raise ValidationProblem(
            f"{user.email} is {access.a_role(user.role)}; only reviewers are assigned to reviews"
        )
    return user


def _assign_reviewer(s: Session, review: Review, user: User, log: _Log) -> bool:
    """Assign the user to the review (False when already assigned), recorded in its history."""
    found = s.get(ReviewAssignment, (review.id, user.id))
    if found is not None:
        return False
    s.add(ReviewAssignment(review_id=review.id, user_id=user.id, assigned_at=log.at, assigned_by=log.actor))
    saved_review = log.review_id
    log.review_id = review.id
    log("review", "reviewer_assigned", None, user.email)
    log.review_id = saved_review
    s.flush()
    return True


def _required_text(value: object, what: str, limit: int | None = None) -> str:
    text = _optional_text(value, what, limit)
    if text is None:
        raise ValidationProblem(f"{what} is required")
    return text


def _optional_text(value: object, what: str, limit: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationProblem(f"{what} must be text, got {value!r}")
    text = value.strip()
    if limit is not None and len(text) > limit:
        raise ValidationProblem(f"{what} is longer than {limit} characters")
    if "\x00" in text:  # PostgreSQL cannot store it (SQLite could, so refuse it on both)
        raise ValidationProblem(f"{what} contains a NUL character (\\0), which cannot be stored")
    return text or None


def _sources(value: Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not all(isinstance(v, str) for v in value):
        raise ValidationProblem("data sources must be a list of text")
    if any("\x00" in v for v in value):
        raise ValidationProblem("data sources contain a NUL character (\\0), which cannot be stored")
    cleaned = [v.strip() for v in value if v.strip()]
    return cleaned or None


def _rater_names(raters: Sequence[str]) -> list[str]:
    if isinstance(raters, str):
        raters = [raters]
    names: list[str] = []
    for raw in raters:
        name = _required_text(raw, "rater name", PERSON_LENGTH)
        if name.casefold() in {n.casefold() for n in names}:
            raise ValidationProblem(f"rater {name} is listed twice")
        names.append(name)
    return names


def _model(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    for model in ProgramModel:
        if value.strip().upper() == model.value:
            return model.value
    raise ValidationProblem(
        f"program model must be one of {', '.join(m.value for m in ProgramModel)}, got {value!r}"
    )


def _review_type(value: str) -> str:
    key = str(value).strip().lower().replace("_", "-").replace(" ", "-")
    aliases = {"followup": "follow-up", "self": "self-assessment", "selfassessment": "self-assessment"}
    key = aliases.get(key, key)
    for kind in ReviewType:
        if key == kind.value:
            return kind.value
    raise ValidationProblem(
        f"review type must be one of {', '.join(t.value for t in ReviewType)}, got {value!r}"
    )


def _status(value: str) -> str:
    for status in ReviewStatus:
        if value.strip().lower() == status.value:
            return status.value
    raise ValidationProblem(
        f"review status must be one of {', '.join(s.value for s in ReviewStatus)}, got {value!r}"
    )


def _check_model(program: Program, scale: Scale) -> None:
    """A practice-specific scale (DACTS for ACT) only rates its practice; others (GOI) rate any."""
    practices = {m.value.upper() for m in ProgramModel}
    scale_model = (scale.model or "").upper()
    if program.model and scale_model in practices and program.model.upper() != scale_model:
        raise ValidationProblem(
            f"{scale.id} {scale.version} measures {scale.model}, "
            f"but {program.name} is an {program.model} program"
        )


def _check_active_dates(active_from: dt.date | None, active_to: dt.date | None) -> None:
    if active_from is not None and active_to is not None and active_to < active_from:
        raise ValidationProblem(f"active_to ({active_to}) is before active_from ({active_from})")


def _check_review_dates(review_date: object, review_end_date: dt.date | None) -> None:
    if not isinstance(review_date, dt.date) or isinstance(review_date, dt.datetime):
        raise ValidationProblem(f"review date must be a date, got {review_date!r}")
    if review_end_date is not None and review_end_date < review_date:
        raise ValidationProblem(f"review end date ({review_end_date}) is before its start ({review_date})")


def _json_number(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


# ---- snapshots for the audit log and views -------------------------------------------------


def _program_fields(p: Program) -> dict[str, Any]:
    return {
        "name": p.name,
        "provider": None if p.provider is None else p.provider.name,
        "region": p.region,
        "model": p.model,
        "active_from": p.active_from,
        "active_to": p.active_to,
    }


def _review_fields(r: Review) -> dict[str, Any]:
    return {
        "program_id": r.program_id,
        "scale": f"{r.scale_id} {r.scale_version}",
        "scale_hash": r.scale_hash,
        "review_date": r.review_date,
        "review_end_date": r.review_end_date,
        "review_type": r.review_type,
        "strengths": r.strengths,
        "summary": r.summary,
        "recommendations": r.recommendations,
    }


def _rating_fields(row: RaterRating) -> dict[str, Any]:
    return {"rating": row.rating, "inputs": row.inputs, "note": row.note, "data_sources": row.data_sources}


def _consensus_fields(row: ConsensusRating) -> dict[str, Any]:
    return {
        "rating": row.rating,
        "inputs": row.inputs,
        "evidence": row.evidence,
        "recommendation": row.recommendation,
        "data_sources": row.data_sources,
        "not_rated_reason": row.not_rated_reason,
    }


def _program_view(p: Program) -> ProgramView:
    return ProgramView(
        id=p.id,
        name=p.name,
        provider=None if p.provider is None else p.provider.name,
        region=p.region,
        model=p.model,
        active_from=p.active_from,
        active_to=p.active_to,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def _rating_view(row: RaterRating, item: Item) -> RatingView:
    given = _given_rating(row)
    return RatingView(
        rater=row.rater,
        item_id=row.item_id,
        rating=row.rating,
        source=row.rating_source,
        inputs=None if row.inputs is None else dict(row.inputs),
        note=row.note,
        data_sources=list(row.data_sources or []),
        pending=_pending(item, given, row.inputs),
        version=row.version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _consensus_view(row: ConsensusRating, item: Item) -> ConsensusView:
    given = _given_rating(row)
    return ConsensusView(
        item_id=row.item_id,
        rating=row.rating,
        source=row.rating_source,
        inputs=None if row.inputs is None else dict(row.inputs),
        evidence=row.evidence,
        recommendation=row.recommendation,
        data_sources=list(row.data_sources or []),
        not_rated_reason=row.not_rated_reason,
        pending=None if row.not_rated_reason else _pending(item, given, row.inputs),
        version=row.version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _review_view(s: Session, review: Review, scale: Scale) -> ReviewView:
    raters = [r.rater for r in review.raters]
    ratings: dict[str, dict[str, RatingView]] = {name: {} for name in raters}
    for row in _rater_rows(s, review.id):
        ratings.setdefault(row.rater, {})[row.item_id] = _rating_view(row, scale.item(row.item_id))
    order = {item_id: i for i, item_id in enumerate(scale.item_ids)}
    for name in ratings:
        ratings[name] = dict(sorted(ratings[name].items(), key=lambda kv: order[kv[0]]))
    consensus = {
        row.item_id: _consensus_view(row, scale.item(row.item_id))
        for row in sorted(_consensus_rows(s, review.id), key=lambda r: order[r.item_id])
    }
    amended_by = s.scalar(select(Review.id).where(Review.amendment_of == review.id))
    return ReviewView(
        id=review.id,
        program=_program_view(review.program),
        scale_id=review.scale_id,
        scale_version=review.scale_version,
        scale_hash=review.scale_hash,
        review_date=review.review_date,
        review_end_date=review.review_end_date,
        review_type=review.review_type,
        status=review.status,
        version=review.version,
        raters=raters,
        ratings=ratings,
        consensus=consensus,
        strengths=review.strengths,
        summary=review.summary,
        recommendations=review.recommendations,
        amendment_of=review.amendment_of,
        amendment_number=review.amendment_number,
        amendment_reason=review.amendment_reason,
        amended_by=amended_by,
        created_at=review.created_at,
        created_by=review.created_by,
        finalized_at=review.finalized_at,
        finalized_by=review.finalized_by,
        final_score=None if review.final_score is None else dict(review.final_score),
    )


def _audit_record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at=row.at,
        actor=row.actor,
        review_id=row.review_id,
        program_id=row.program_id,
        entity=row.entity,
        field=row.field,
        old_value=None if row.old_value is None else json.loads(row.old_value),
        new_value=None if row.new_value is None else json.loads(row.new_value),
    )
