"""The consensus: the rating the raters agree on per item, or why an item was not rated.

One row per item with a version number, so two people saving the same item at once cannot
both win: the second is refused (StaleWriteError) and told who saved first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain import checks
from domain.checks import UNSET, Unset
from domain.vocabulary import EVIDENCE_LENGTH, REASON_LENGTH, RECOMMENDATION_LENGTH
from scales.schema import Item
from services import access
from services.access import Action, Actor
from services.audit import AuditLog, consensus_fields
from services.database import Database
from services.errors import StaleWriteError, ValidationProblem
from services.rows import actor_name, lock_review, require_editable, review_scale, scale_item, stale_message
from services.scores import resolve
from services.views import ConsensusView, consensus_view
from storage.models import ConsensusRating, Review, ReviewStatus

__all__ = ["consensus_row", "mark_not_rated", "mark_unrated_not_rated", "save_consensus"]


def save_consensus(
    db: Database,
    review_id: int,
    item_id: str,
    *,
    expected_version: int,
    actor: Actor,
    rating: int | Unset | None = UNSET,
    inputs: Mapping[str, object] | Unset | None = UNSET,
    evidence: str | Unset | None = UNSET,
    recommendation: str | Unset | None = UNSET,
    data_sources: Sequence[str] | Unset | None = UNSET,
    not_rated_reason: str | Unset | None = UNSET,
    override_reason: str | Unset | None = UNSET,
) -> ConsensusView:
    """Save the consensus on one item, refusing a stale write.

    `expected_version` is the item's ConsensusView.version when the caller loaded it (0 if
    it had none). If someone has saved the item since, StaleWriteError says who and when,
    and nothing is written. Giving a rating clears a not-rated reason. A rating of a computed
    item that differs from what its numbers give needs `override_reason`.
    """
    who = actor_name(actor, Action.EDIT_REVIEW)
    with db.writing() as s:
        review = lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        require_editable(review)
        scale = review_scale(db, review)
        item = scale_item(scale, item_id)
        log = AuditLog(s, who, review_id=review.id)
        row = consensus_row(s, review, item, expected_version, log)
        before = consensus_fields(row)
        if rating is not UNSET or inputs is not UNSET or override_reason is not UNSET:
            resolved = resolve(item, scale, row, rating, inputs, override_reason)
            row.rating, row.rating_source, row.inputs = resolved.rating, resolved.source, resolved.inputs
            row.override_reason = resolved.override_reason
            if resolved.rating is not None and not_rated_reason is UNSET:
                row.not_rated_reason = None
        if evidence is not UNSET:
            row.evidence = checks.optional_text(evidence, "evidence", EVIDENCE_LENGTH)
        if recommendation is not UNSET:
            row.recommendation = checks.optional_text(recommendation, "recommendation", RECOMMENDATION_LENGTH)
        if data_sources is not UNSET:
            row.data_sources = checks.data_sources(data_sources)
        if not_rated_reason is not UNSET:
            row.not_rated_reason = checks.optional_text(not_rated_reason, "not-rated reason", REASON_LENGTH)
            if row.not_rated_reason is not None and row.rating is not None:
                raise ValidationProblem(
                    f"item {item.id} has consensus rating {row.rating}; clear the rating to mark it not rated"
                )
        _finish_change(s, review, row, before, item, log)
        return consensus_view(row, item)


def mark_not_rated(
    db: Database, review_id: int, item_id: str, reason: str, *, expected_version: int, actor: Actor
) -> ConsensusView:
    """Record that the item is deliberately not rated, and why (clears its rating and inputs)."""
    reason = checks.required_text(reason, "reason the item is not rated", REASON_LENGTH)
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


def mark_unrated_not_rated(db: Database, review_id: int, reason: str, *, actor: Actor) -> list[str]:
    """Mark every item that has neither a consensus rating nor a not-rated reason "not rated",
    with one reason, in one transaction (each item audited); the ids marked, in scale order."""
    who = actor_name(actor, Action.EDIT_REVIEW)
    reason = checks.required_text(reason, "reason the items are not rated")
    with db.writing() as s:
        review = lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        require_editable(review)
        scale = review_scale(db, review)
        rows = {
            row.item_id: row
            for row in s.scalars(select(ConsensusRating).where(ConsensusRating.review_id == review.id))
        }
        log = AuditLog(s, who, review_id=review.id)
        marked = []
        for item in scale.items:
            found = rows.get(item.id)
            if found is not None and (found.rating is not None or found.not_rated_reason):
                continue
            row = consensus_row(s, review, item, 0 if found is None else found.version, log)
            before = consensus_fields(row)
            row.rating = row.rating_source = row.inputs = row.override_reason = None
            row.not_rated_reason = reason
            _finish_change(s, review, row, before, item, log)
            marked.append(item.id)
        return marked


def consensus_row(
    s: Session, review: Review, item: Item, expected_version: int, log: AuditLog
) -> ConsensusRating:
    """The item's consensus row (a new one when it has none), checked against the version the
    caller loaded (0: none); StaleWriteError when it has changed since."""
    row = s.scalars(
        select(ConsensusRating)
        .where(ConsensusRating.review_id == review.id, ConsensusRating.item_id == item.id)
        .with_for_update()
    ).one_or_none()
    current = 0 if row is None else row.version
    if expected_version != current:
        raise StaleWriteError(stale_message(f"consensus[{item.id}]", row, expected_version, item.id))
    if row is None:
        row = ConsensusRating(review_id=review.id, item_id=item.id, updated_by=log.actor, updated_at=log.at)
        s.add(row)
    return row


def _finish_change(
    s: Session, review: Review, row: ConsensusRating, before: dict[str, Any], item: Item, log: AuditLog
) -> None:
    """Log what changed, and move a draft review on to consensus (its first consensus)."""
    after = consensus_fields(row)
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
