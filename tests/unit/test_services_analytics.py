"""services.analytics gives the pages every analytics name they use (they import services only),
the very objects of scoring.analytics and services.analytics_data."""

from __future__ import annotations

import scoring.analytics as scoring_analytics
import services.analytics as page_api
import services.analytics_data as analytics_data

PAGE_NAMES = {
    # app_pages/views/compare.py and drift.py
    "LOW_RATING",
    "AgencyOverview",
    "agency_overview",
    "DriftReport",
    "ItemSeries",
    "ProgramSeries",
    "drift",
    "item_series",
    "program_series",
    # from services.analytics_data: compare.py, drift.py, shared.py
    "review_date_spans",
    "drift_overview",
    "data_version",
    "finalized_ratings",
    "scale_problems",
}


def test_every_name_the_pages_use_is_there_and_is_the_original() -> None:
    assert set(page_api.__all__) >= PAGE_NAMES
    for name in page_api.__all__:
        source = scoring_analytics if hasattr(scoring_analytics, name) else analytics_data
        assert getattr(page_api, name) is getattr(source, name), name


def test_analytics_data_keeps_its_public_names() -> None:
    for name in ("review_scores", "ReviewScores", "PACK", "scale_problems", "FRAME_COLUMNS", "OVERVIEW_COLUMNS"):
        assert hasattr(analytics_data, name), name


def test_per_review_counts_and_joins_as_a_groupby_does() -> None:
    import pandas as pd

    rows = pd.DataFrame(
        {
            "review_id": [3, 3, 5, 9, 9, 9],
            "item_id": ["H2", "H1", "O4", "S1", "S3", "S2"],
            "change": [-1, -2, -1, -3, -1, -2],
        }
    )
    expected = rows.groupby("review_id").agg(
        falls=("item_id", "size"), fallen_items=("item_id", ", ".join), largest_fall=("change", "min")
    )
    got = analytics_data._per_review(rows, "falls", "fallen_items", smallest="largest_fall")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert list(got["fallen_items"]) == ["H2, H1", "O4", "S1, S3, S2"]  # row order, not sorted
    assert analytics_data._per_review(rows.iloc[:0], "falls", "fallen_items", smallest="largest_fall").empty
