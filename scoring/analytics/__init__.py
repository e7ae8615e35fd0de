"""Drift over time and comparison across programs: pure functions on frames of finalized reviews.

Every function takes the same long frame, `ratings`, with one row per (finalized review, item);
its columns are documented in `RATING_COLUMNS` and checked on entry. No I/O, no database, no
Streamlit: the pages and reports build the frame from storage and draw what these return.

Scores agree exactly with `scoring.review.score_ratings`: subscale means and the total mean
exclude unrated items, a sum scale is banded only when every item is rated, and a mean is
rounded half-up to the scale's precision with integer arithmetic before it meets the bands.

Reviews on different versions of the same scale are compared only on the item ids both
versions define; every result that does so carries a note that says which versions and how
many items.

The work is vectorised (groupby, merge, pivot). Python loops run only over scale versions,
bands and distinct (sum, count) combinations, never over reviews or programs.

The package: `columns` (the frames' columns), `frame` (checking and coercing the ratings frame),
`totals` (the vectorised scorer), `drift`, `series` (one program over time) and `overview`
(every program's latest review). Import the names from here.
"""

from scoring.analytics.columns import (
    DRIFT_COLUMNS,
    LOW_RATING,
    RATING_COLUMNS,
    REVIEW_COLUMNS,
    DateLike,
    Direction,
)
from scoring.analytics.drift import BandChange, DriftReport, drift
from scoring.analytics.overview import AgencyOverview, agency_overview
from scoring.analytics.result_frame import totals_frame
from scoring.analytics.series import ItemSeries, ProgramSeries, item_series, program_series
from scoring.analytics.totals import (
    review_totals,
    score_sums,
    subscale_means,
    totals_from_sums,
)

__all__ = [
    "DRIFT_COLUMNS",
    "LOW_RATING",
    "RATING_COLUMNS",
    "REVIEW_COLUMNS",
    "AgencyOverview",
    "BandChange",
    "DateLike",
    "Direction",
    "DriftReport",
    "ItemSeries",
    "ProgramSeries",
    "agency_overview",
    "drift",
    "item_series",
    "program_series",
    "review_totals",
    "score_sums",
    "subscale_means",
    "totals_frame",
    "totals_from_sums",
]
