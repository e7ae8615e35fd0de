"""The frames' columns: the input contract (RATING_COLUMNS) and the columns of every result."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Final, Literal, TypeAlias

import pandas as pd

from scales.schema import TotalMethod

RATING_COLUMNS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "review_id": "int: the finalized review; a review has one row per item",
        "program_id": "int: the program (team) reviewed",
        "program": "str: the program's name",
        "provider": "str: the agency that runs the program",
        "region": "str | None: the program's region",
        "scale_id": "str: the scale the review used, e.g. 'dacts'",
        "scale_version": "str: the version of that scale the review used, e.g. '1.0'",
        "review_date": "datetime64 or date: the date of the review",
        "item_id": "str: an item id of that scale version, e.g. 'H1'",
        "rating": "nullable Int64: the item's rating; NA (or no row at all) means not rated",
        "evidence": "str | None: the reviewer's note on the item",
    }
)
"""The input contract: column name -> what it holds. Extra columns are ignored.

The review columns (everything but item_id, rating and evidence) must agree on every row of a
review; a review rates an item at most once; every item id belongs to the review's scale version.
"""

REVIEW_COLUMNS: Final[tuple[str, ...]] = (
    "review_id",
    "program_id",
    "program",
    "provider",
    "region",
    "scale_id",
    "scale_version",
    "review_date",
)

LOW_RATING: Final = 3
"""Items rated below this on two reviews in a row are reported as consecutive lows."""

Direction = Literal["fell", "rose", "same", "unknown"]
DateLike: TypeAlias = date | datetime | pd.Timestamp | str

REQUIRED_COLUMNS: Final = ("review_id", "program_id", "scale_id", "scale_version", "review_date", "item_id")
"""The RATING_COLUMNS that may hold no missing value."""
TOTAL_COLUMNS: Final = (
    *REVIEW_COLUMNS,
    "rated",
    "items",
    "complete",
    "total_sum",
    "total_mean",
    "mean_of_subscale_means",
    "banded_value",
    "band",
    "band_level",
)
"""Columns of review_totals (before the `sub_<subscale id>` columns)."""
SUBSCALE_COLUMNS: Final = (
    "review_id",
    "program_id",
    "scale_id",
    "scale_version",
    "review_date",
    "subscale",
    "subscale_name",
    "mean",
    "rated",
    "items",
)
"""Columns of subscale_means: one row per (review, subscale)."""
DRIFT_COLUMNS: Final[tuple[str, ...]] = (
    "item_id",
    "item_name",
    "subscale",
    "previous_rating",
    "rating",
    "change",
    "previous_review_id",
    "previous_review_date",
    "previous_scale_version",
    "review_id",
    "review_date",
    "scale_version",
    "previous_evidence",
    "evidence",
)
"""Columns of DriftReport.compared, falls, consecutive_low and all_falls: one row per item and
pair of reviews, with both ratings, change = rating - previous_rating, and both evidences."""
SERIES_COLUMNS: Final = (
    "review_id",
    "review_date",
    "scale_version",
    "measure",
    "measure_name",
    "value",
    "band",
)
"""Columns of ProgramSeries.values."""
ITEM_MEAN_COLUMNS: Final = ("item_id", "item_name", "subscale", "mean", "n", "low")
"""Columns of AgencyOverview.item_means."""
TOTAL_MEASURES: Final[Mapping[TotalMethod, str]] = {
    TotalMethod.MEAN_OF_ITEMS: "Total mean",
    TotalMethod.MEAN_OF_SUBSCALE_MEANS: "Mean of subscale means",
    TotalMethod.SUM: "Total (sum of item ratings)",
}

