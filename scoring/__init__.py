"""Pure scoring functions: no I/O, no database, no Streamlit.

Drift and agency analytics live in `scoring.analytics` (import it directly: it needs pandas,
which the command line should not pay for on every start).
"""

from scoring.agreement import Agreement, Difference, agreement
from scoring.items import Computation, ItemEntry, ItemRatingError, ItemScore, compute, rate_item
from scoring.review import (
    InvalidReviewError,
    ReviewScore,
    SubscaleScore,
    TotalScore,
    rate_items,
    score_ratings,
    score_review,
)

__all__ = [
    "Agreement",
    "Computation",
    "Difference",
    "InvalidReviewError",
    "ItemEntry",
    "ItemRatingError",
    "ItemScore",
    "ReviewScore",
    "SubscaleScore",
    "TotalScore",
    "agreement",
    "compute",
    "rate_item",
    "rate_items",
    "score_ratings",
    "score_review",
]
