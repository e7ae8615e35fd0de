"""The fast paths of the analytics reads give exactly what the plain ways give: the stored
subscales texts read at once (services.final_sums.subscale_columns) against one text at a time,
the mean of subscale means in integers against Fractions, the packed subscale sums against their
counts and sums, and the review_totals frame made from its arrays against the dict constructor
(and never sharing the caller's arrays)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from scoring.analytics import exact_means, result_frame
from scoring.rounding import round_half_up
from services.analytics_scores import _Packing
from services.final_sums import subscale_columns
from storage.final_sums import parse_subscales


def _one_by_one(texts: list[str]) -> dict[str, np.ndarray]:
    subs = [parse_subscales(text) for text in texts]
    columns: dict[str, np.ndarray] = {}
    for sub_id in dict.fromkeys(s for found in subs for s in found):
        columns[f"rated_{sub_id}"] = np.asarray([f.get(sub_id, (0, 0))[0] for f in subs], dtype="int64")
        columns[f"sum_{sub_id}"] = np.asarray([f.get(sub_id, (0, 0))[1] for f in subs], dtype="int64")
    return columns


@pytest.mark.parametrize(
    "texts",
    [
        ["H=11/38;O=7/23;S=10/36", "H=0/0;O=1/5;S=10/50", "H=007/0038;O=7/23;S=10/36"],
        ["H=11/38"],
        ["H=11/38;O=7/23", "H=11/38;O=7/23;S=1/2"],  # another subscale
        ["H=11/38;O=7/23", "O=7/23;H=11/38"],  # another order
        ["H1=2/3;H2=4/5", "H1=6/7;H2=8/9"],  # ids holding digits
        ["\u00e9=1/2", "\u00e9=3/4"],  # not ASCII
        ["H=1/2", "H=123456789012345678/9"],  # 18 digits
        ["H=1/2;O=3/4", "H=1/2;O=3/4\nH=5/6;O=7/8"],  # a newline inside a text
        ["", ""],
        [],
    ],
)
def test_subscale_columns_as_one_text_at_a_time(texts: list[str]) -> None:
    got, expected = subscale_columns(texts), _one_by_one(texts)
    assert list(got) == list(expected)
    for name, values in expected.items():
        assert got[name].dtype == values.dtype and np.array_equal(got[name], values), name


@pytest.mark.parametrize("texts", [["H=1/2", "H=/12"], ["H=1/2", "5H=/2"], ["H=1/2", "H=3/4x"]])
def test_a_malformed_text_is_refused_as_before(texts: list[str]) -> None:
    with pytest.raises(ValueError):
        _one_by_one(texts)
    with pytest.raises(ValueError):
        subscale_columns(texts)


def _by_fractions(sums: np.ndarray, counts: np.ndarray, precision: int) -> tuple[list[int], list[bool]]:
    values, oks = [], []
    for row_sums, row_counts in zip(sums.tolist(), counts.tolist(), strict=True):
        means = [Fraction(s, c) for s, c in zip(row_sums, row_counts, strict=True) if c > 0]
        if means:
            mean = sum(means, Fraction(0)) / len(means)
            values.append(int(round_half_up(mean, precision).scaleb(precision)))
            oks.append(True)
        else:
            values.append(0)
            oks.append(False)
    return values, oks


@pytest.mark.parametrize("precision", [0, 1, 2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_mean_of_means_in_integers_is_the_fractions(precision: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 7))
    counts = rng.integers(0, 12, size=(400, k))
    sums = counts * rng.integers(0, 6, size=(400, k)) + rng.integers(0, 3, size=(400, k)) * (counts > 0)
    sums[:5] = -sums[:5]  # negative sums round away from zero too
    found = exact_means.mean_of_means_in_integers(sums, counts, 10**precision)
    assert found is not None
    expected = _by_fractions(sums, counts, precision)
    assert found[0].tolist() == expected[0] and found[1].tolist() == expected[1]


def test_mean_of_means_ties_round_half_up() -> None:
    # (1/2 + 2/2) / 2 = 0.75 -> 0.8 at one decimal; (1/4 + 0/1) / 2 = 0.125 -> 0.13 at two
    sums, counts = np.array([[1, 2], [1, 0]]), np.array([[2, 2], [4, 1]])
    assert exact_means.mean_of_means_in_integers(sums, counts, 10)[0].tolist() == [8, 1]  # type: ignore[index]
    assert exact_means.mean_of_means_in_integers(sums, counts, 100)[0].tolist() == [75, 13]  # type: ignore[index]


def test_mean_of_means_too_large_for_int64_is_left_to_the_fractions() -> None:
    sums, counts = np.full((2, 12), 10**6), np.full((2, 12), 97)
    assert exact_means.mean_of_means_in_integers(sums, counts, 100) is None


def test_packed_sums_unpack_to_each_subscales_count_and_sum() -> None:
    packing = _Packing(unit=256, bits=13, groups=(("H", "O", "S", "F"), ("G",)))
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 29, size=(50, 5))
    sums = np.minimum(counts * 5, rng.integers(0, 256, size=(50, 5)))
    fields = counts * packing.unit + sums
    packed: list[list[object]] = [[], []]
    for row in fields.tolist():
        packed[0].append(sum(v << (13 * place) for place, v in enumerate(row[:4])))
        packed[1].append(row[4])
    packed[1][0] = None  # a review with no rating in the group
    got = packing.unpack(packed)
    for i, sub_id in enumerate(("H", "O", "S", "F", "G")):
        expected_counts, expected_sums = counts[:, i].copy(), sums[:, i].copy()
        if sub_id == "G":
            expected_counts[0] = expected_sums[0] = 0
        assert got[f"rated_{sub_id}"].tolist() == expected_counts.tolist()
        assert got[f"sum_{sub_id}"].tolist() == expected_sums.tolist()


def _columns(n: int) -> dict[str, object]:
    return {
        "review_id": np.arange(n, dtype="int64"),
        "program_id": np.arange(n, dtype="int64") % 3,
        "program": np.array([None if i % 4 == 0 else f"p{i}" for i in range(n)], dtype=object),
        "provider": [None] * n,  # not an array: the dict constructor's way
        "region": np.array(["r"] * n, dtype=object),
        "scale_id": np.array(["dacts"] * n, dtype=object),
        "scale_version": np.array(["1.0"] * n, dtype=object),
        "review_date": np.array([dt.date(2024, 1, 1 + i % 28) for i in range(n)], dtype="datetime64[ns]"),
        "rated": np.full(n, 28, dtype="int64"),
        "complete": np.ones(n, dtype=bool),
        "total_mean": np.linspace(1, 5, n),
        "band": np.array([None if i % 3 else "Fair" for i in range(n)], dtype=object),
        "band_level": np.array([-1 if i % 3 else 1 for i in range(n)], dtype="int64"),
        "sub_H": np.where(np.arange(n) % 5 == 0, np.nan, 2.5),
        "scale_hash": pd.array(["sha256:x"] * n, dtype=str),
    }


@pytest.mark.parametrize("n", [0, 1, 7, 100])
def test_totals_frame_is_the_dict_constructors_frame(n: int) -> None:
    columns = _columns(n)
    frame = result_frame.totals_frame(columns)
    plain = dict(columns)
    index = pd.RangeIndex(n)
    for col in ("program", "provider", "region", "band"):
        plain[col] = pd.Series(plain[col], index=index, dtype=object)
    for col in ("scale_id", "scale_version"):
        plain[col] = pd.array(plain[col], dtype=str)
    level = np.asarray(plain["band_level"], dtype="int64")
    plain["band_level"] = pd.arrays.IntegerArray(np.where(level >= 0, level, 0), level < 0)
    expected = pd.DataFrame(plain, index=index)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert [b.dtype for b in frame._mgr.blocks] == [b.dtype for b in expected._mgr.blocks]


def test_totals_frame_shares_no_array_with_its_caller() -> None:
    columns = _columns(5)
    frame = result_frame.totals_frame(columns)
    frame.loc[0, "review_id"] = 99
    frame.loc[1, "total_mean"] = 0.0
    frame.loc[2, "program"] = "changed"
    frame.loc[3, "review_date"] = pd.Timestamp("2030-01-01")
    frame.loc[4, "scale_hash"] = "other"
    frame.loc[0, "complete"] = False
    fresh = _columns(5)
    for name, values in columns.items():
        assert list(values) == list(fresh[name]) or (  # type: ignore[call-overload]
            name in ("total_mean", "sub_H") and np.allclose(values, fresh[name], equal_nan=True)  # type: ignore[call-overload]
        ), name
