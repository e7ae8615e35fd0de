"""The review columns must agree on every row of a review (scoring.analytics' input contract):
a frame whose rows disagree is refused, whichever column, however the text is held (one object
per review, as services.analytics_data gives it, or one per row) and in whatever row order; text
that only looks different (another object, a missing value written otherwise) is accepted."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scales import Scale, ScaleRegistry
from scoring.analytics import REVIEW_COLUMNS, review_totals

# (review id, date, program id): review 2 is the latest, review 3 falls between the others.
REVIEWS = ((1, "2025-01-15", 1), (2, "2025-03-01", 1), (3, "2025-02-01", 2))
CHANGED_ROW = 28 + 5  # review 2's sixth row (DACTS has 28 items)
OTHER_VALUE: dict[str, Any] = {
    "program_id": 99,
    "program": "Another ACT",
    "provider": "Another Care",
    "region": None,  # missing on one row, "North" on the others
    "scale_id": "iddt",
    "scale_version": "0.9",
    "review_date": date(2025, 3, 2),
}


def text(value: str, shared: dict[str, str] | None) -> str:
    """`value` as the one object `shared` keeps for it, or (None) as a new object each time."""
    if shared is None:
        fresh = "".join(list(value))
        assert fresh is not value or len(value) < 2
        return fresh
    return shared.setdefault(value, value)


def ratings(dacts: Scale, *, one_object: bool) -> pd.DataFrame:
    shared: dict[str, str] | None = {} if one_object else None
    rows = [
        {
            "review_id": review_id,
            "program_id": program_id,
            "program": text(f"Program {program_id}", shared),
            "provider": text("North Care", shared),
            "region": text("North", shared),
            "scale_id": "dacts",
            "scale_version": "1.0",
            "review_date": date.fromisoformat(day),
            "item_id": item_id,
            "rating": 1 + (position + review_id) % 5,
            "evidence": None,
        }
        for review_id, day, program_id in REVIEWS
        for position, item_id in enumerate(dacts.item_ids)
    ]
    frame = pd.DataFrame(rows)
    frame["rating"] = frame["rating"].astype("Int64")
    for column in ("program", "provider", "region"):  # Python objects, as the read gives them
        frame[column] = object_column([row[column] for row in rows])
    return frame


def object_column(values: list[Any]) -> pd.Series:
    held = np.empty(len(values), dtype=object)
    held[:] = values
    return pd.Series(held, dtype=object)


def with_value(frame: pd.DataFrame, column: str, row: int, value: Any) -> pd.DataFrame:
    values = list(frame[column])
    values[row] = value
    changed = frame.copy()
    changed[column] = object_column(values) if frame[column].dtype == object else values
    return changed


@pytest.mark.parametrize("one_object", [True, False], ids=["one object per review", "one per row"])
@pytest.mark.parametrize("shuffled", [False, True], ids=["grouped", "shuffled"])
@pytest.mark.parametrize("column", REVIEW_COLUMNS[1:])
def test_a_review_whose_rows_disagree_is_refused(
    dacts: Scale, registry: ScaleRegistry, column: str, shuffled: bool, one_object: bool
) -> None:
    frame = ratings(dacts, one_object=one_object)
    if column in ("program", "provider", "region"):
        values = frame[column].to_numpy()
        assert values.dtype == object
        assert (values[1] is values[0]) == one_object
    frame = with_value(frame, column, CHANGED_ROW, OTHER_VALUE[column])
    if shuffled:
        frame = frame.sample(frac=1.0, random_state=7).reset_index(drop=True)
    message = (
        f"review 2: its rows disagree on {column}; the review columns "
        f"({', '.join(REVIEW_COLUMNS[1:])}) must be the same on every row of a review"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        review_totals(frame, registry)


@pytest.mark.parametrize("shuffled", [False, True], ids=["grouped", "shuffled"])
def test_equal_text_held_otherwise_is_accepted(dacts: Scale, registry: ScaleRegistry, shuffled: bool) -> None:
    expected = review_totals(ratings(dacts, one_object=True), registry)
    # One row's name a new object with the same text (Python compares those few), every row's
    # its own object (compared all at once), and one review's region missing as None, NaN and NA.
    one_row = with_value(ratings(dacts, one_object=True), "program", CHANGED_ROW, text("Program 1", None))
    every_row = ratings(dacts, one_object=False)
    missing = ratings(dacts, one_object=True)
    region = list(missing["region"])
    region[28:56] = [None, np.nan, pd.NA, float("nan")] * 7
    missing["region"] = object_column(region)

    def arranged(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sample(frac=1.0, random_state=7).reset_index(drop=True) if shuffled else frame

    for frame in (one_row, every_row):
        pd.testing.assert_frame_equal(review_totals(arranged(frame), registry), expected)
    got = review_totals(arranged(missing), registry)
    assert got.loc[got["review_id"] == 2, "region"].tolist() == [None]
    pd.testing.assert_frame_equal(got.drop(columns="region"), expected.drop(columns="region"))


def test_reviews_come_by_date_then_id_whatever_the_row_order(dacts: Scale, registry: ScaleRegistry) -> None:
    frame = ratings(dacts, one_object=True)
    by_date = review_totals(frame, registry)
    assert by_date["review_id"].tolist() == [1, 3, 2]
    backwards = frame.iloc[::-1].reset_index(drop=True)
    pd.testing.assert_frame_equal(review_totals(backwards, registry), by_date)
    # Two reviews on one day: by id.
    same_day = frame.assign(review_date=date(2025, 1, 15))
    assert review_totals(same_day, registry)["review_id"].tolist() == [1, 2, 3]
    assert review_totals(same_day.iloc[::-1], registry)["review_id"].tolist() == [1, 2, 3]
