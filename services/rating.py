"""Raters rating items, and what their ratings say: scores so far and agreement between raters.

Each rater has their own rows, so two raters saving at once never touch the same row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select

from domain import checks
from domain.checks import UNSET, Unset
from domain.vocabulary import EVIDENCE_LENGTH
from scoring import Agreement, ReviewScore, agreement
from services import access, blind
from services.access import Action, Actor
from services.audit import AuditLog, rating_fields
from services.database import Database
from services.errors import StaleWriteError
from services.rows import (
    actor_name,
    assigned_rater,
    consensus_rows,
    load_review,
    lock_review,
    rater_rows,
    require_editable,
    review_scale,
    scale_item,
    stale_message,
)
from services.scores import resolve, score_rows
from services.views import RatingView, rating_view
from storage.models import ConsensusRating, RaterRating

__all__ = ["compare_raters", "live_score", "rater_scores", "save_rating"]


def save_rating(
    db: Database,
    review_id: int,
    rater: str,
    item_id: str,
    *,
    actor: Actor,
    rating: int | Unset | None = UNSET,
    inputs: Mapping[str, object] | Unset | None = UNSET,
    note: str | Unset | None = UNSET,
    data_sources: Sequence[str] | Unset | None = UNSET,
    expected_version: int | None = None,
    override_reason: str | Unset | None = UNSET,
) -> RatingView:
    """Save what one rater says about one item; fields left UNSET keep their saved value.

    A computed item's inputs give its rating; inputs that are not all entered yet are
    saved and the item stays unrated until they are. A bad number or a rating that
    disagrees with the inputs is refused (ValidationProblem) and nothing is written.
    Each rater has their own row, so raters never overwrite each other; pass
    `expected_version` to also guard against the same rater saving from two windows.
    Who may rate as whom, and the lock once a rater submitted: services.blind. A rating of a
    computed item that differs from what its numbers give needs `override_reason`.
    """
    actor_name(actor, Action.EDIT_REVIEW)
    with db.writing() as s:
        review = lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        require_editable(review)
        scale = review_scale(db, review)
        item = scale_item(scale, item_id)
        rater = assigned_rater(review, rater)
        who = blind.require_may_rate(review, actor, rater)
        row = s.scalars(
            select(RaterRating).where(
                RaterRating.review_id == review.id, RaterRating.rater == rater, RaterRating.item_id == item.id
            )
        ).one_or_none()
        entity = f"rating[{item.id}][rater={rater}]"
        if expected_version is not None and (0 if row is None else row.version) != expected_version:
            raise StaleWriteError(stale_message(entity, row, expected_version, item.id))
        log = AuditLog(s, who, review_id=review.id)
        if row is None:
            row = RaterRating(review_id=review.id, rater=rater, item_id=item.id, updated_by=who)
            s.add(row)
        before = rating_fields(row)
        if rating is not UNSET or inputs is not UNSET or override_reason is not UNSET:
            resolved = resolve(item, scale, row, rating, inputs, override_reason)
            row.rating, row.rating_source, row.inputs = resolved.rating, resolved.source, resolved.inputs
            row.override_reason = resolved.override_reason
        if note is not UNSET:
            row.note = checks.optional_text(note, "note", EVIDENCE_LENGTH)
        if data_sources is not UNSET:
            row.data_sources = checks.data_sources(data_sources)
        after = rating_fields(row)
        changed = [key for key in after if after[key] != before[key]]
        if not changed and row.id is not None:
            return rating_view(row, item)
        for key in changed:
            log(entity, key, before[key], after[key])
        row.updated_at, row.updated_by = log.at, who
        s.flush()
        return rating_view(row, item)


def live_score(db: Database, review_id: int, rater: str | None = None, *, actor: Actor) -> ReviewScore:
    """The score from the consensus ratings so far, or from one rater's ratings."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = load_review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        scale = review_scale(db, review)
        if rater is None:
            rows: Iterable[ConsensusRating | RaterRating] = consensus_rows(s, review.id)
        else:
            name = assigned_rater(review, rater)
            blind.require_visible(review, actor, name)
            rows = rater_rows(s, review.id, name)
        return score_rows(scale, rows)


def rater_scores(db: Database, review_id: int, *, actor: Actor) -> dict[str, ReviewScore]:
    """Each rater's own score of the review, by rater (once the consensus is open)."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = load_review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        blind.require_consensus_open(review)
        scale = review_scale(db, review)
        return {r.rater: score_rows(scale, rater_rows(s, review.id, r.rater)) for r in review.raters}


def compare_raters(db: Database, review_id: int, rater_a: str, rater_b: str, *, actor: Actor) -> Agreement:
    """Agreement between two raters: exact and within-one figures, and every item they differ on
    (once the consensus is open: services.blind)."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = load_review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        blind.require_consensus_open(review)
        scale = review_scale(db, review)
        a, b = assigned_rater(review, rater_a), assigned_rater(review, rater_b)
        ratings_a = {row.item_id: row.rating for row in rater_rows(s, review.id, a)}
        ratings_b = {row.item_id: row.rating for row in rater_rows(s, review.id, b)}
        return agreement(scale.item_ids, ratings_a, ratings_b)
