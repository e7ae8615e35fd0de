"""What the analytics pages use, in one place: the pages import only services (the layers'
contract in pyproject), so the scoring names they need are re-exported here with the database
reads of `services.analytics_data`.

Import it where the page needs it: it brings pandas (the pages that draw analytics only).
"""

from scoring.analytics import (
    LOW_RATING,
    RATING_COLUMNS,
    AgencyOverview,
    BandChange,
    DriftReport,
    ItemSeries,
    ProgramSeries,
    agency_overview,
    drift,
    item_series,
    program_series,
    review_totals,
)
from services.analytics_data import (
    FRAME_COLUMNS,
    OVERVIEW_COLUMNS,
    ReviewScores,
    data_version,
    drift_overview,
    finalized_ratings,
    left_out,
    of_scale,
    review_date_spans,
    review_scores,
    scale_problems,
)

__all__ = [
    "FRAME_COLUMNS",
    "LOW_RATING",
    "OVERVIEW_COLUMNS",
    "RATING_COLUMNS",
    "AgencyOverview",
    "BandChange",
    "DriftReport",
    "ItemSeries",
    "ProgramSeries",
    "ReviewScores",
    "agency_overview",
    "data_version",
    "drift",
    "drift_overview",
    "finalized_ratings",
    "item_series",
    "left_out",
    "of_scale",
    "program_series",
    "review_date_spans",
    "review_scores",
    "review_totals",
    "scale_problems",
]
