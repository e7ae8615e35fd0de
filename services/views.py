"""What the review services return: frozen views of programs, reviews, ratings and consensus,
and their converters from rows (callers keep them after the session has closed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scales import Scale
from scales.schema import Item
from services.rows import consensus_rows, rater_rows
from services.scores import given_rating, pending
from storage.models import ConsensusRating, Program, RaterRating, Review, ReviewStatus

__all__ = [
    "ConsensusView",
    "ProgramView",
    "RatingView",
    "ReviewSummary",
    "ReviewView",
    "consensus_view",
    "program_view",
    "rating_view",
    "review_view",
]


@dataclass(frozen=True)
class ProgramView:
    """A program (a team delivering one practice)."""

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
    override_reason: str | None = None  # a computed item rated by hand instead, and why
    global_id: str | None = None  # the rating's identity in every installation (migration 0011)


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
    override_reason: str | None = None  # a computed item rated by hand instead, and why

    @property
    def settled(self) -> bool:
        """Rated, or explicitly marked not rated with a reason: what finalizing needs."""
        return self.rating is not None or bool(self.not_rated_reason)


@dataclass(frozen=True)
class ReviewView:
    """A review with every rater's ratings and the consensus so far."""

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
        """Final: it changes only through an amendment."""
        return self.status == ReviewStatus.FINAL

    def consensus_version(self, item_id: str) -> int:
        """The expected_version for saving this item's consensus: 0 when none exists yet."""
        found = self.consensus.get(item_id)
        return 0 if found is None else found.version


@dataclass(frozen=True)
class ReviewSummary:
    """A review in a list: its total and band (final ones as they were finalized)."""

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


def program_view(p: Program) -> ProgramView:
    """The program as callers get it."""
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


def rating_view(row: RaterRating, item: Item) -> RatingView:
    """One rater's row as callers get it (with why its inputs give no rating yet)."""
    given = given_rating(row)
    return RatingView(
        rater=row.rater,
        item_id=row.item_id,
        rating=row.rating,
        source=row.rating_source,
        inputs=None if row.inputs is None else dict(row.inputs),
        note=row.note,
        data_sources=list(row.data_sources or []),
        pending=pending(item, given, row.inputs),
        version=row.version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        override_reason=row.override_reason,
        global_id=row.global_id,
    )


def consensus_view(row: ConsensusRating, item: Item) -> ConsensusView:
    """An item's consensus row as callers get it."""
    given = given_rating(row)
    return ConsensusView(
        item_id=row.item_id,
        rating=row.rating,
        source=row.rating_source,
        inputs=None if row.inputs is None else dict(row.inputs),
        evidence=row.evidence,
        recommendation=row.recommendation,
        data_sources=list(row.data_sources or []),
        not_rated_reason=row.not_rated_reason,
        pending=None if row.not_rated_reason else pending(item, given, row.inputs),
        version=row.version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        override_reason=row.override_reason,
    )


def review_view(s: Session, review: Review, scale: Scale, visible: set[str] | None = None) -> ReviewView:
    """The whole review as callers get it: every rater's ratings (only `visible` raters' when
    given: services.blind) and the consensus, in the scale's item order, read in `s`."""
    raters = [r.rater for r in review.raters]
    ratings: dict[str, dict[str, RatingView]] = {name: {} for name in raters}
    for row in rater_rows(s, review.id):
        if visible is not None and row.rater not in visible:
            continue
        ratings.setdefault(row.rater, {})[row.item_id] = rating_view(row, scale.item(row.item_id))
    order = {item_id: i for i, item_id in enumerate(scale.item_ids)}
    for name in ratings:
        ratings[name] = dict(sorted(ratings[name].items(), key=lambda kv: order[kv[0]]))
    consensus = {
        row.item_id: consensus_view(row, scale.item(row.item_id))
        for row in sorted(consensus_rows(s, review.id), key=lambda r: order[r.item_id])
    }
    amended_by = s.scalar(select(Review.id).where(Review.amendment_of == review.id))
    return ReviewView(
        id=review.id,
        program=program_view(review.program),
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
