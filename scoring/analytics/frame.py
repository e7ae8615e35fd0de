"""Preparing the ratings frame: checked against RATING_COLUMNS, coerced, one row per review;
and the small helpers the results share."""

from __future__ import annotations

import ctypes
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray

from scales.loader import ScaleRegistry
from scales.schema import Item, Scale
from scoring.analytics.columns import RATING_COLUMNS, REQUIRED_COLUMNS, REVIEW_COLUMNS


@dataclass(frozen=True, eq=False)
class PreparedRatings:
    """The ratings frame checked and coerced (`prepare_ratings`), with its reviews."""

    rows: pd.DataFrame  # RATING_COLUMNS, coerced
    reviews: pd.DataFrame  # REVIEW_COLUMNS, one row per review, by review_date then review_id
    # Each row's review as a position in `reviews`, when prepare_ratings found it on the way
    # (None: the scorer looks it up).
    review_code: np.ndarray | None = None


def prepare_ratings(
    ratings: pd.DataFrame, *, program_id: int | None = None, scale_id: str | None = None
) -> PreparedRatings:
    """Check the frame against RATING_COLUMNS, keep the wanted rows, coerce the types."""
    if not isinstance(ratings, pd.DataFrame):
        raise TypeError(f"ratings must be a pandas DataFrame, got {type(ratings).__name__}")
    if len(ratings) == 0:
        frame = pd.DataFrame({col: pd.Series([], dtype=object) for col in RATING_COLUMNS})
    else:
        missing = [col for col in RATING_COLUMNS if col not in ratings.columns]
        if missing:
            raise ValueError(f"the ratings frame lacks column(s): {', '.join(missing)}")
        frame = ratings
    if program_id is not None:
        frame = frame.loc[frame["program_id"] == program_id]
    if scale_id is not None:
        frame = frame.loc[frame["scale_id"] == scale_id]

    for col in REQUIRED_COLUMNS:
        if _has_missing(frame[col]):
            raise ValueError(f"column {col} has missing values")
    try:
        rating = frame["rating"].astype("Int64")
    except (TypeError, ValueError) as exc:
        raise ValueError("column rating must hold whole numbers or NA") from exc
    try:
        review_date = pd.to_datetime(frame["review_date"])
    except (TypeError, ValueError) as exc:
        raise ValueError("column review_date must hold dates") from exc
    rows = pd.DataFrame(
        {
            "review_id": _integers(frame["review_id"], "review_id"),
            "program_id": _integers(frame["program_id"], "program_id"),
            "program": frame["program"],
            "provider": frame["provider"],
            "region": frame["region"],
            "scale_id": frame["scale_id"].astype(str),
            "scale_version": frame["scale_version"].astype(str),
            "review_date": review_date,
            "item_id": frame["item_id"].astype(str),
            "rating": rating,
            "evidence": frame["evidence"],
        },
        copy=False,  # no copy of every column into one block: half a gigabyte for the agency's ratings
    ).reset_index(drop=True)
    reviews, review_code = _reviews_of(rows)
    return PreparedRatings(rows=rows, reviews=reviews, review_code=review_code)


def _has_missing(column: pd.Series) -> bool:
    if isinstance(column.array, ArrowStringArray):  # Arrow counts its nulls already
        return bool(pa.array(column.array).null_count)
    return bool(column.isna().any())


def _reviews_of(rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray | None]:
    """One row per review, by review_date then review_id; the review columns must agree on
    every row of a review. Sorting once and comparing neighbours keeps this linear. With it,
    each row's review as a position in that frame when the rows came grouped by review."""
    review_id = rows["review_id"].to_numpy()
    same = review_id[1:] == review_id[:-1]
    # Each review's rows are together when no review starts two runs (the runs' ids are few).
    runs = review_id[np.concatenate([[True], ~same])] if len(review_id) else review_id
    if len(review_id) and len(pd.unique(runs)) == len(runs):
        order = None  # each review's rows are together already (as the loader gives them)
        ordered_ids = review_id
    else:
        order = np.argsort(review_id, kind="stable")
        ordered_ids = review_id[order]
        same = ordered_ids[1:] == ordered_ids[:-1]
    if same.any():
        for col in REVIEW_COLUMNS[1:]:
            values = _comparable(rows[col])
            if order is not None:
                values = values.take(pa.array(order)) if isinstance(values, pa.Array) else values[order]
            differs = _neighbours_differ(values, same)
            if differs.any():
                bad = ordered_ids[1:][differs][0]
                raise ValueError(
                    f"review {bad}: its rows disagree on {col}; the review columns "
                    f"({', '.join(REVIEW_COLUMNS[1:])}) must be the same on every row of a review"
                )
    starts = np.concatenate([[True], ~same]) if len(review_id) else np.zeros(0, dtype=bool)
    first = np.flatnonzero(starts) if order is None else order[starts]
    sorter = _date_order(review_id[first], rows["review_date"].to_numpy()[first])
    reviews = rows[list(REVIEW_COLUMNS)]
    reviews = reviews.take(first if sorter is None else first[sorter]).reset_index(drop=True)
    for col in ("program", "provider", "region"):
        reviews[col] = text_column(reviews[col])
    review_code = None
    if order is None:  # run j is the review at position where_run[j] of `reviews`
        lengths = np.diff(first, append=len(review_id))
        if sorter is None:
            review_code = np.repeat(np.arange(len(first)), lengths)
        else:
            where_run = np.empty(len(first), dtype="int64")
            where_run[sorter] = np.arange(len(first))
            review_code = np.repeat(where_run, lengths)
    return reviews, review_code


def _date_order(ids: np.ndarray, dates: np.ndarray) -> np.ndarray | None:
    """The order by date, then id, of reviews given once each; None when they are in it
    already (as the loader gives them): checking costs less than sorting."""
    if len(ids) < 2:
        return None
    later = dates[1:] > dates[:-1]
    if (later | ((dates[1:] == dates[:-1]) & (ids[1:] > ids[:-1]))).all():
        return None
    # One lexsort (each review once, so the same order as a stable sort on both).
    return np.lexsort((ids, dates))


def _comparable(column: pd.Series) -> np.ndarray | pa.Array:
    """The column as an array whose neighbours compare cheaply: numbers and datetimes as they
    are, Python objects as they are (compared element by element), Arrow strings as Arrow
    (compared in C, no factorizing), anything else as codes."""
    if column.dtype == object or column.dtype.kind in "iufbmM":
        return column.to_numpy()
    if isinstance(column.array, ArrowStringArray):
        found = pa.array(column.array)
        return found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found
    return pd.factorize(column)[0]  # every missing value is -1


def _neighbours_differ(values: np.ndarray | pa.Array, where: np.ndarray) -> np.ndarray:
    """values[i + 1] != values[i] where where[i] holds (False elsewhere); two missing values
    (None, NaN, NA) count as equal."""
    a, b = values[1:], values[:-1]
    if isinstance(a, pa.Array) and isinstance(b, pa.Array):
        ne = pc.not_equal(a, b)
        if a.null_count or b.null_count:
            missing = pc.xor(pc.is_null(a), pc.is_null(b))  # one missing, the other not
            ne = pc.or_(pc.fill_null(ne, False), missing)
        return ne.to_numpy(zero_copy_only=False) & where
    if values.dtype == object and len(values):
        # One object is equal to itself: only pairs of two objects need Python's comparison
        # (services.analytics_data gives each review's text as one object: then none does).
        values = np.ascontiguousarray(values)
        address = _addresses(values)  # valid while `values` holds the objects
        at = np.flatnonzero(where & (address[1:] != address[:-1]))
        if 4 * len(at) > len(values):  # mostly pairs of two objects: compare them all at once
            return _values_differ(values[1:], values[:-1]) & where
        ne = np.zeros(len(values) - 1, dtype=bool)
        if len(at):
            ne[at] = _values_differ(values[1:][at], values[:-1][at])
        return ne
    return _values_differ(a, b) & where


def _values_differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise a != b, two missing values counting as equal."""
    try:
        ne = np.asarray(a != b, dtype=bool)
    except (TypeError, ValueError):  # an NA compared: its truth value is ambiguous
        codes, _ = pd.factorize(np.concatenate([a, b]))
        return codes[: len(a)] != codes[len(a) :]
    if a.dtype == object and ne.any():
        at = np.flatnonzero(ne)
        ne[at[pd.isna(a[at]) & pd.isna(b[at])]] = False
    return ne


def _addresses(values: np.ndarray) -> np.ndarray:
    """The objects of a contiguous object array as their addresses (it holds pointers to
    them), read as integers so that numpy compares them in C: equal addresses are one object.
    A view of the array's memory: valid while the array lives."""
    pointers = (ctypes.c_void_p * len(values)).from_address(values.ctypes.data)
    return np.frombuffer(memoryview(pointers), dtype=np.uintp)


def _integers(column: pd.Series, name: str) -> pd.Series:
    try:
        return column.astype("int64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column {name} must hold whole numbers") from exc


def text_column(column: pd.Series) -> pd.Series:
    """Text that may be missing, with every missing value as None."""
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = None
    return pd.Series(values, index=column.index, dtype=object)


def program_ratings(
    ratings: pd.DataFrame, program_id: int, scale_id: str | None
) -> tuple[PreparedRatings, str | None]:
    """One program's rows of one scale (by default the scale of its latest review), and that scale."""
    data = prepare_ratings(ratings, program_id=program_id)
    if scale_id is None:
        if data.reviews.empty:
            return data, None
        scale_id = str(data.reviews["scale_id"].iloc[-1])
    if (data.reviews["scale_id"] != scale_id).any():
        reviews = data.reviews.loc[data.reviews["scale_id"] == scale_id].reset_index(drop=True)
        data = PreparedRatings(rows=data.rows.loc[data.rows["scale_id"] == scale_id], reviews=reviews)
    return data, scale_id


def empty_frame(columns: Iterable[str]) -> pd.DataFrame:
    """A frame with these columns and no rows (object columns, as the results have them)."""
    return pd.DataFrame({col: pd.Series([], dtype=object) for col in columns})


def versions_in_order(registry: ScaleRegistry, scale_id: str, present: pd.Series) -> tuple[str, ...]:
    """The versions in `present`, oldest first by the registry's version order."""
    wanted = set(present.astype(str))
    return tuple(s.version for s in registry.versions(scale_id) if s.version in wanted)


def item_union(scales_newest_first: list[Scale]) -> pd.DataFrame:
    """Items of the newest version in its order, then items only older versions have."""
    first: dict[str, Item] = {}
    for scale in scales_newest_first:
        for item in scale.items:
            first.setdefault(item.id, item)
    return pd.DataFrame(
        [
            (item.id, item.name, item.subscale, sum(s.has_item(item.id) for s in scales_newest_first))
            for item in first.values()
        ],
        columns=["item_id", "item_name", "subscale", "in_versions"],
    )


def and_list(words: Iterable[Hashable]) -> str:
    """Words for a note: "a", "a and b", "a, b and c"."""
    text = [str(w) for w in words]
    return text[0] if len(text) == 1 else f"{', '.join(text[:-1])} and {text[-1]}"


def no_reviews_note(scale_id: str | None) -> str:
    """The note of a result for a program with no finalized review (of the scale)."""
    what = f"{scale_id} reviews" if scale_id else "reviews"
    return f"No finalized {what} of this program."
