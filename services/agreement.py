"""Agreement between raters: one review's figures (Consensus page, PDF) and the agency's
(Analytics → Agreement), read from the raters' own ratings.

The agency figures read final reviews only (the current version of each, of the programs the
actor's analytics scope covers); imported reviews carry no rater ratings and add nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import and_, select

from scoring.agreement_stats import (
    RATER_COLUMNS,
    ReviewAgreement,
    item_agreement,
    item_agreement_by_year,
    pair_agreement,
    rater_drift,
    review_agreement,
)
from services import access, blind
from services.access import Action, Actor
from services.analytics_query import current_final
from services.database import Database
from services.rows import load_review, rater_rows, review_scale
from storage.models import ConsensusRating, Program, RaterRating, Review

__all__ = ["AgencyAgreement", "agency_agreement", "review_rater_agreement"]


def review_rater_agreement(db: Database, review_id: int, *, actor: Actor) -> ReviewAgreement | None:
    """The review's agreement between its two raters; None unless it has exactly two."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = load_review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        blind.require_consensus_open(review)  # raters rate blind: no comparison before that
        raters = [r.rater for r in review.raters]
        if len(raters) != 2:
            return None
        scale = review_scale(db, review)
        by_rater: dict[str, dict[str, int | None]] = {r: {} for r in raters}
        for row in rater_rows(s, review.id):
            if row.rater in by_rater:
                by_rater[row.rater][row.item_id] = row.rating
        a, b = raters
        return review_agreement(
            scale.item_ids, (a, b), by_rater[a], by_rater[b], scale.rating.min, scale.rating.max
        )


@dataclass(frozen=True)
class AgencyAgreement:
    """The agency's agreement on one scale: the frames of `scoring.agreement_stats`."""

    scale_id: str
    reviews: int  # final reviews with two raters' ratings
    items: pd.DataFrame  # item_agreement: lowest agreement first
    pairs: pd.DataFrame  # pair_agreement
    raters: pd.DataFrame  # rater_drift: per rater and year, against the consensus
    items_by_year: pd.DataFrame  # the lowest-agreement items' exact agreement per year


def agency_agreement(db: Database, scale_id: str, *, actor: Actor, lowest: int = 5) -> AgencyAgreement:
    """Agreement across the final reviews on `scale_id` that the actor's analytics cover."""
    frame = rater_ratings(db, scale_id, actor=actor)
    scale = db.registry.get(scale_id)
    items = item_agreement(frame)
    worst = list(items["item_id"].head(lowest))
    return AgencyAgreement(
        scale_id=scale_id,
        reviews=int(frame["review_id"].nunique()),
        items=items,
        pairs=pair_agreement(frame, scale.rating.min, scale.rating.max),
        raters=rater_drift(frame),
        items_by_year=item_agreement_by_year(frame, worst),
    )


def rater_ratings(db: Database, scale_id: str, *, actor: Actor) -> pd.DataFrame:
    """One row per (final review, item, rater) in the RATER_COLUMNS shape, with the consensus."""
    where = current_final()
    visible = access.program_filter(actor, Action.READ_ANALYTICS)
    if visible is not None:
        where.append(visible)
    query = (
        select(
            Review.id,
            Review.review_date,
            Review.scale_id,
            RaterRating.item_id,
            RaterRating.rater,
            RaterRating.rating,
            ConsensusRating.rating,
        )
        .join(Program, Program.id == Review.program_id)
        .join(RaterRating, RaterRating.review_id == Review.id)
        .outerjoin(
            ConsensusRating,
            and_(ConsensusRating.review_id == Review.id, ConsensusRating.item_id == RaterRating.item_id),
        )
        .where(Review.scale_id == scale_id, *where)
        .order_by(Review.review_date, Review.id, RaterRating.rater, RaterRating.item_id)
    )
    with db.reading() as s:
        rows = s.execute(query).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(RATER_COLUMNS))
    frame["rating"] = frame["rating"].astype("Float64")
    frame["consensus"] = frame["consensus"].astype("Float64")
    return frame
