"""The review workflow: programs, reviews, two raters, consensus, finalizing, amendments.

Every call takes `actor` (a services.access.Actor: who is acting, in which role) and is
refused with AccessDenied when services.access.POLICY does not allow it; reads keep to the
actor's scope. Every mutating call runs in its own committed transaction and writes its audit
rows (naming `actor.name`) in that same transaction. Calls return frozen
dataclasses (never ORM objects), so the UI can keep them after the session has closed.

Workflow: start_review (draft) -> raters save_rating -> compare_raters -> save_consensus /
mark_not_rated (status becomes consensus) -> finalize (final, immutable) -> amend (a new
review that copies the final one; the final one is never edited).

This module is the review aggregate itself (starting, reading, changing, listing a review and
its history); the other steps live with their aggregate: services.programs, services.rating,
services.consensus and services.lifecycle, over services.rows, services.views and
services.audit. The block at the end re-exports their public names, so `svc.save_rating(...)`
keeps working for every caller.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased

from domain import checks, vocabulary
from domain.checks import UNSET, Unset
from domain.vocabulary import FINDINGS_LENGTH, SUMMARY_LENGTH, Role
from services import access, blind, consensus, lifecycle, programs, rating, views
from services.access import Action, Actor
from services.assignments import assign_reviewer, load_user, reviewer_user
from services.audit import AuditLog, AuditRecord, audit_record, review_fields
from services.database import Database
from services.errors import ScaleChangedError, StaleWriteError, ValidationProblem
from services.integrity_gate import gate
from services.lifecycle import check_integrity
from services.rows import (
    actor_name,
    add_rater_row,
    check_model,
    clock,
    consensus_rows,
    load_program,
    load_review,
    lock_review,
    new_review,
    registry_scale,
    require_editable,
    review_scale,
)
from services.scores import score_rows
from services.views import ReviewSummary, ReviewView, review_view
from storage.models import AuditEntry, ConsensusRating, Program, Review, ReviewStatus, ReviewType

__all__ = [
    "UNSET",
    "AuditRecord",
    "ConsensusView",
    "ProgramView",
    "RatingState",
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
    "mark_unrated_not_rated",
    "open_consensus",
    "program_audit_trail",
    "rater_scores",
    "rating_state",
    "reopen_ratings",
    "review_json",
    "save_consensus",
    "save_rating",
    "set_review_text",
    "start_review",
    "submit_ratings",
    "update_program",
    "update_review",
]


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
    who = actor_name(actor, Action.START_REVIEW)
    if reviewers:
        access.require(actor, Action.MANAGE_USERS)
    scale = registry_scale(db, scale_id, version)
    kind = checks.review_type(review_type)
    checks.check_review_dates(review_date, review_end_date)
    names = checks.rater_names(raters)
    if not names:
        raise ValidationProblem("a review needs at least one rater")
    with db.writing() as s:
        program = load_program(s, program_id)
        access.require_program(actor, Action.START_REVIEW, program.id)
        check_model(program, scale)
        log = AuditLog(s, who, program_id=program.id)
        review = new_review(s, program, scale, review_date, review_end_date, kind, log)
        log("review", "created", None, review_fields(review))
        for rater in names:
            add_rater_row(s, review, rater, log)
        assignees = [reviewer_user(s, email) for email in reviewers]
        if actor.role == Role.REVIEWER and actor.user_id is not None:
            assignees.insert(0, load_user(s, actor.user_id))
        for user in dict.fromkeys(assignees):
            assign_reviewer(s, review, user, log)
        return review_view(s, review, scale)


def add_rater(db: Database, review_id: int, rater: str, *, actor: Actor) -> ReviewView:
    """Add a rater to a review that is not final."""
    who = actor_name(actor, Action.EDIT_REVIEW)
    (name,) = checks.rater_names([rater])
    with db.writing() as s:
        review = lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        require_editable(review)
        scale = review_scale(db, review)
        if name.casefold() in {r.rater.casefold() for r in review.raters}:
            raise ValidationProblem(f"{name} is already a rater on review {review.id}")
        add_rater_row(s, review, name, AuditLog(s, who, review_id=review.id))
        return review_view(s, review, scale, blind.visible_raters(review, actor))


def get_review(db: Database, review_id: int, *, actor: Actor) -> ReviewView:
    """The review with every rater's ratings and the consensus so far.

    Raises ScaleChangedError when the scale file it was rated on has changed since.
    """
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = load_review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        check_integrity(s, review)
        return review_view(s, review, review_scale(db, review), blind.visible_raters(review, actor))


def update_review(
    db: Database,
    review_id: int,
    *,
    actor: Actor,
    expected_version: int | None = None,
    review_date: dt.date | Unset = UNSET,
    review_end_date: dt.date | Unset | None = UNSET,
    review_type: str | Unset = UNSET,
    strengths: str | Unset | None = UNSET,
    summary: str | Unset | None = UNSET,
    recommendations: str | Unset | None = UNSET,
) -> ReviewView:
    """Change review-level fields; with `expected_version`, refuse if the review changed since."""
    who = actor_name(actor, Action.EDIT_REVIEW)
    with db.writing() as s:
        review = lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        require_editable(review)
        scale = review_scale(db, review)
        if expected_version is not None and review.version != expected_version:
            raise StaleWriteError(
                f"review {review.id} was changed at {clock(review.updated_at)} since you loaded it; "
                "reload to see the change"
            )
        before = review_fields(review)
        if review_date is not UNSET:
            review.review_date = review_date
        if review_end_date is not UNSET:
            review.review_end_date = review_end_date
        if review_date is not UNSET or review_end_date is not UNSET:  # a stored review's texts stay editable
            checks.check_review_dates(review.review_date, review.review_end_date)
        if review_type is not UNSET:
            review.review_type = checks.review_type(review_type)
        if strengths is not UNSET:
            review.strengths = checks.optional_text(strengths, "strengths", FINDINGS_LENGTH)
        if summary is not UNSET:
            review.summary = checks.optional_text(summary, "summary", SUMMARY_LENGTH)
        if recommendations is not UNSET:
            review.recommendations = checks.optional_text(recommendations, "recommendations", FINDINGS_LENGTH)
        after = review_fields(review)
        log = AuditLog(s, who, review_id=review.id)
        changed = [key for key in after if after[key] != before[key]]
        for key in changed:
            log("review", key, before[key], after[key])
        if changed:
            review.updated_at = log.at
            s.flush()
        return review_view(s, review, scale, blind.visible_raters(review, actor))


def set_review_text(
    db: Database,
    review_id: int,
    *,
    actor: Actor,
    strengths: str | Unset | None = UNSET,
    summary: str | Unset | None = UNSET,
    recommendations: str | Unset | None = UNSET,
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


Statuses = str | Collection[str] | None  # a status, or any of several


def _listed(
    actor: Actor, program_id: int | None, status: Statuses, review_id: int | None = None
) -> list[ColumnElement[bool]]:
    """The conditions of list_reviews and count_reviews: what the actor may open, filtered."""
    conditions: list[ColumnElement[bool]] = []
    visible = access.review_filter(actor)
    if visible is not None:
        conditions.append(visible)
    if program_id is not None:
        conditions.append(Review.program_id == program_id)
    if status is not None:
        wanted = [status] if isinstance(status, str) else status
        conditions.append(Review.status.in_([checks.review_status(x) for x in wanted]))
    if review_id is not None:
        conditions.append(Review.id == review_id)
    return conditions


def count_reviews(
    db: Database, *, actor: Actor, program_id: int | None = None, status: Statuses = None
) -> int:
    """How many reviews list_reviews gives with the same filters (for paging through them)."""
    query = select(func.count(Review.id)).where(*_listed(actor, program_id, status))
    with db.reading() as s:
        return int(s.scalar(query) or 0)


def list_reviews(
    db: Database,
    *,
    actor: Actor,
    program_id: int | None = None,
    status: Statuses = None,
    review_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ReviewSummary]:
    """Reviews the actor may open, newest first, each with its total and band (final ones as
    they were finalized); `limit` and `offset` give one page of them, `review_id` that one.

    One query of plain columns: a final review's total and band are read out of its stored
    score by the database (JSON paths), not by decoding 4 KB of JSON per review in Python (20,000
    reviews took 7 s that way); only open reviews, a few, are scored from their ratings. The
    integrity gate checks the listed final reviews in the same read: one that fails keeps its
    place, with no score and its warning as `problem`. The page's ids are read without joining
    the programs (the conditions are on reviews): joined, SQLite read all 20,000 reviews."""
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
        .where(*_listed(actor, program_id, status, review_id))
        .order_by(Review.review_date.desc(), Review.id.desc())
    )
    listed = select(Review.id).where(*_listed(actor, program_id, status, review_id))
    if limit is not None or offset:  # the page's ids first, so only its scores are read out
        listed = (
            listed.order_by(Review.review_date.desc(), Review.id.desc()).limit(limit).offset(offset or None)
        )
        query = query.where(Review.id.in_(listed.scalar_subquery()))
    with db.reading() as s:
        summaries = [ReviewSummary(**row._mapping) for row in s.execute(query)]
        open_ids = [r.id for r in summaries if r.items is None]  # no stored score: not final yet
        live = _open_scores(db, s, open_ids) if open_ids else {}
        # The integrity gate: a final review whose ratings no longer match their seal stays
        # listed, marked, with no score (never the edited one).
        checked = gate(s, listed) if any(r.status == ReviewStatus.FINAL for r in summaries) else None
    for review_id, dropped in (checked.left_out if checked else {}).items():
        live[review_id] = {**UNSCORED, "problem": dropped.message}
    return [dataclasses.replace(r, **live[r.id]) if r.id in live else r for r in summaries]


UNSCORED: dict[str, Any] = dict.fromkeys(("total_mean", "total_sum", "rated", "items", "band"))


def _open_scores(db: Database, s: Session, open_ids: list[int]) -> dict[int, dict[str, Any]]:
    """ReviewSummary's score fields of reviews not final yet, from their consensus so far (or
    the problem that keeps one from being scored)."""
    live: dict[int, dict[str, Any]] = {}
    consensus: dict[int, list[ConsensusRating]] = {}
    for row in s.scalars(select(ConsensusRating).where(ConsensusRating.review_id.in_(open_ids))):
        consensus.setdefault(row.review_id, []).append(row)
    for review in s.scalars(select(Review).where(Review.id.in_(open_ids))):
        try:
            scored = score_rows(review_scale(db, review), consensus.get(review.id, [])).to_dict()
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
    return live


def audit_trail(
    db: Database, review_id: int, *, actor: Actor, include_earlier: bool = True
) -> list[AuditRecord]:
    """Every recorded change of the review, oldest first; with `include_earlier`, also those of
    the reviews it amends (an amendment's history starts with the review it copied).

    Read only: no service changes or deletes audit rows (and the database refuses both)."""
    access.require(actor, Action.READ_HISTORY)
    with db.reading() as s:
        review = load_review(s, review_id)
        access.require_review(s, actor, Action.READ_HISTORY, review)
        ids = [review.id]
        previous = review.amendment_of
        while include_earlier and previous is not None:
            ids.append(previous)
            previous = s.scalar(select(Review.amendment_of).where(Review.id == previous))
        rows = s.scalars(select(AuditEntry).where(AuditEntry.review_id.in_(ids)).order_by(AuditEntry.id))
        hidden = {r.rater for r in review.raters} - blind.visible_raters(review, actor)
        # What a rater entered stays out of the others' sight until the consensus opens.
        secret = tuple(f"[rater={name}]" for name in hidden)
        return [audit_record(row) for row in rows if not (secret and row.entity.endswith(secret))]


def program_audit_trail(db: Database, program_id: int, *, actor: Actor) -> list[AuditRecord]:
    """The program's own recorded changes (not its reviews'), oldest first."""
    access.require(actor, Action.READ_HISTORY)
    with db.reading() as s:
        load_program(s, program_id)
        access.require_program(actor, Action.READ_PROGRAMS, program_id)
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.program_id == program_id, AuditEntry.review_id.is_(None))
            .order_by(AuditEntry.id)
        )
        return [audit_record(row) for row in rows]


def review_json(db: Database, review_id: int, *, actor: Actor) -> dict[str, Any]:
    """`fidelity score --json`'s shape (ReviewScore.to_dict()) plus the review's ids, status and
    dates, and per item the consensus evidence, recommendation and not-rated reason."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = load_review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        check_integrity(s, review)
        scale = review_scale(db, review)
        visible = blind.visible_raters(review, actor)
        view = review_view(s, review, scale, visible)
        global_id = review.global_id
        result = score_rows(scale, consensus_rows(s, review.id)).to_dict()
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
        "global_id": global_id,
        "program_id": view.program.id,
        "program": view.program.name,
        "status": view.status,
        "review_date": view.review_date.isoformat(),
        "review_end_date": None if view.review_end_date is None else view.review_end_date.isoformat(),
        "review_type": view.review_type,
        "raters": view.raters,
        # Each rater's ratings, only those the actor may see now (services.blind).
        "rater_ratings": {
            rater: {item_id: _rating_json(r) for item_id, r in items.items()}
            for rater, items in view.ratings.items()
            if rater in visible
        },
        "amendment_of": view.amendment_of,
        "amendment_number": view.amendment_number,
        "amended_by": view.amended_by,
        "finalized_at": None if view.finalized_at is None else view.finalized_at.isoformat(),
        "strengths": view.strengths,
        "summary": view.summary,
        "recommendations": view.recommendations,
        **result,
    }


def _rating_json(r: views.RatingView) -> dict[str, Any]:
    return {
        "global_id": r.global_id,
        "rating": r.rating,
        "source": r.source,
        "inputs": r.inputs,
        "override_reason": r.override_reason,
        "note": r.note,
        "data_sources": r.data_sources,
        "pending": r.pending,
        "version": r.version,
        "updated_at": r.updated_at.isoformat(),
        "updated_by": r.updated_by,
    }


# ================================================================================================
# Re-exports: the public names that moved out of this module to their aggregate's, so
# `from services import reviews as svc; svc.save_rating(...)` keeps working for the app, the
# CLI, the bench and the tests. New code imports them from their own module.
# ================================================================================================

NAME_LENGTH = vocabulary.NAME_LENGTH
ProgramView = views.ProgramView
RatingView = views.RatingView
ConsensusView = views.ConsensusView
create_program = programs.create_program
update_program = programs.update_program
get_program = programs.get_program
find_program = programs.find_program
list_programs = programs.list_programs
list_providers = programs.list_providers
save_rating = rating.save_rating
live_score = rating.live_score
rater_scores = rating.rater_scores
compare_raters = rating.compare_raters
save_consensus = consensus.save_consensus
mark_not_rated = consensus.mark_not_rated
mark_unrated_not_rated = consensus.mark_unrated_not_rated
RatingState = blind.RatingState
rating_state = blind.rating_state
submit_ratings = blind.submit_ratings
reopen_ratings = blind.reopen_ratings
open_consensus = blind.open_consensus
finalize = lifecycle.finalize
amend = lifecycle.amend
integrity_message = lifecycle.integrity_message
