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


def test_each_rating_row_gets_its_reviews_columns_in_the_reviews_order() -> None:
    import datetime as dt

    day = dt.date(2026, 3, 2)
    # The reviews read in their order (date, id); their ratings in id then rating-id order.
    reviews = [
        (7, 1, "Riverside", None, "North", "dacts", "1.0", day, "sha:a"),
        (4, 2, "Lakeside", "Acme", None, "iddt", "2.0", day + dt.timedelta(days=1), "sha:b"),
        (9, 1, "Riverside", None, "North", "dacts", "1.0", day + dt.timedelta(days=2), "sha:a"),
    ]
    rated = [
        (3, "H1", 5, None),  # a review the first read did not see (made final in between): dropped
        (4, "IS1", None, "not rated"),
        (4, "IS2", 2, None),
        (7, "H2", 4, "staff"),
        (7, "H1", 3, None),
    ]  # review 9 has no rating row: no row, as the inner join gave
    frame = analytics_data._review_rows(reviews, list(analytics_data.REVIEW_COLUMNS), rated)
    assert list(frame.columns) == list(analytics_data.FRAME_COLUMNS)
    assert list(zip(frame["review_id"], frame["item_id"], strict=True)) == [
        (7, "H2"), (7, "H1"), (4, "IS1"), (4, "IS2"),
    ]  # fmt: skip
    assert list(frame["program"]) == ["Riverside", "Riverside", "Lakeside", "Lakeside"]
    assert list(frame["provider"]) == [None, None, "Acme", "Acme"]
    assert list(frame["scale_version"]) == ["1.0", "1.0", "2.0", "2.0"]
    assert frame["rating"].isna().tolist() == [False, False, True, False]
    assert frame["rating"].dropna().tolist() == [4, 3, 2]
    assert frame["rating"].dtype == "Int64" and frame["review_date"].dtype.kind == "M"
    assert list(frame["evidence"]) == ["staff", None, "not rated", None]
    assert analytics_data._review_rows([], list(analytics_data.REVIEW_COLUMNS), []).empty
