"""The review_totals frame made of its columns' arrays (scoring.analytics.score_sums' result)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd


def totals_frame(columns: Mapping[str, Any]) -> pd.DataFrame:
    """The review_totals frame of `score_sums`' columns (extra columns are kept)."""
    given = dict(columns)
    columns = dict(given)
    n = len(columns["review_id"])
    index = pd.RangeIndex(n)  # one index for every Series: none to align
    for col in _TEXT:  # text that may be missing: None, not NaN
        values = columns[col]
        if not (isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1):
            columns[col] = pd.Series(values, index=index, dtype=object)
    for col in ("scale_id", "scale_version"):  # arrays, not Series: cheaper for a few reviews
        columns[col] = pd.array(columns[col], dtype=str)
    level = np.asarray(columns["band_level"], dtype="int64")
    columns["band_level"] = pd.arrays.IntegerArray(np.where(level >= 0, level, 0), level < 0)
    arrays = [
        _block_array(values, n, made=values is not given.get(name), text=name in _TEXT)
        for name, values in columns.items()
    ]
    if any(array is None for array in arrays):  # the dict constructor, with the texts as objects
        for col in _TEXT:
            columns[col] = pd.Series(columns[col], index=index, dtype=object)
        return pd.DataFrame(columns, index=index)
    # Every column is already what its block holds, so the frame is made of them as they are,
    # without the dict constructor's per-column checks (half of a 100-review frame's making).
    names = pd.Index(list(columns))
    return pd.DataFrame._from_arrays(arrays, columns=names, index=index, verify_integrity=False)


_TEXT: Final = ("program", "provider", "region", "band")
"""The frame's text that may be missing (None, not NaN): kept as Python objects."""


def _block_array(values: Any, n: int, *, made: bool, text: bool) -> Any:
    """`values` as a frame's block takes it, or None (the dict constructor then): a 1-D numpy
    array of length `n` (numbers, booleans, dates in ns; objects for `text` alone: the dict
    constructor would make other objects str), which the frame copies when it stacks the columns
    of one dtype, or an extension array, copied unless `made` here (a frame holds it as it is,
    and must not share the caller's)."""
    if isinstance(values, pd.api.extensions.ExtensionArray):
        if len(values) != n:
            return None
        return values if made else values.copy()
    if isinstance(values, pd.Series):
        if len(values) != n:
            return None
        if isinstance(values.dtype, np.dtype):
            return _block_array(values.to_numpy(), n, made=made, text=text)
        return values.array if made else values.array.copy()
    if not isinstance(values, np.ndarray) or values.ndim != 1 or len(values) != n:
        return None
    if (
        values.dtype.kind in "iufb"
        or values.dtype == np.dtype("datetime64[ns]")
        or (text and values.dtype == object)
    ):
        return values
    return None
