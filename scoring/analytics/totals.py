"""The vectorised scorer: every review's subscale means, totals and band at once, exactly as
`scoring.review.score_ratings` scores one review (held to it by tests/unit/test_scorers_agree.py).

Subscale means and the total mean exclude unrated items, a sum scale is banded only when every
item is rated, and a mean is rounded half-up to the scale's precision with integer arithmetic
before it meets the bands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR
from fractions import Fraction
from functools import cached_property
from typing import Any, Final

import numpy as np
import pandas as pd

from scales.loader import ScaleRegistry
from scales.schema import Scale, TotalMethod
from scoring.analytics.columns import REVIEW_COLUMNS, SUBSCALE_COLUMNS
from scoring.analytics.exact_means import mean_of_means_in_integers
from scoring.analytics.frame import PreparedRatings, prepare_ratings
from scoring.analytics.result_frame import totals_frame
from scoring.rounding import round_half_up, to_decimal


def review_totals(ratings: pd.DataFrame, registry: ScaleRegistry) -> pd.DataFrame:
    """One row per review: its review columns, then rated, items, complete, total_sum,
    total_mean, mean_of_subscale_means, banded_value, band, band_level (0 = lowest band) and
    one `sub_<subscale id>` column per subscale mean. Ordered by review_date, then review_id.

    Raises ValueError for a frame that breaks `RATING_COLUMNS`, and
    scales.UnknownScaleError for a scale version the registry does not have.
    """
    data = prepare_ratings(ratings)
    return score_reviews(data, registry).totals


def subscale_means(ratings: pd.DataFrame, registry: ScaleRegistry) -> pd.DataFrame:
    """One row per (review, subscale): mean of the rated items (NaN when none), rated, items."""
    data = prepare_ratings(ratings)
    return score_reviews(data, registry).subscales


def totals_from_sums(sums: pd.DataFrame | Mapping[str, Any], registry: ScaleRegistry) -> pd.DataFrame:
    """`review_totals` from each review's rating sums and counts instead of its rows: the frame
    of `score_sums`."""
    return totals_frame(score_sums(sums, registry))


def score_sums(sums: pd.DataFrame | Mapping[str, Any], registry: ScaleRegistry) -> dict[str, np.ndarray]:
    """`review_totals` from each review's rating sums and counts instead of its rows.

    `sums` (a frame, or a mapping of column name -> values) has one row per review: the
    REVIEW_COLUMNS, `rated` and `total_sum` (how many items were rated and the sum of their
    ratings), and `rated_<id>` and `sum_<id>` for each subscale id (a missing pair counts as
    nothing rated). Sums are what a database adds up cheaply
    (services.analytics_data.review_scores). The result is exactly review_totals of the rows
    they came from, as a mapping of column name -> array (`totals_from_sums` makes the frame;
    here band_level is -1 where there is no band).
    Extra columns are ignored. Works on plain arrays, so one program's reviews take a fraction
    of a millisecond (a pandas frame alone costs more).
    """
    missing = [col for col in (*REVIEW_COLUMNS, "rated", "total_sum") if col not in sums]
    if missing:
        raise ValueError(f"the sums frame lacks column(s): {', '.join(missing)}")
    ids = np.asarray(sums["review_id"], dtype="int64")
    n = len(ids)
    dates = sums["review_date"]
    if not (isinstance(dates, np.ndarray) and dates.dtype.kind == "M"):
        dates = pd.to_datetime(dates) if n else dates
    dates = np.asarray(dates, dtype="datetime64[ns]")
    order = np.lexsort((ids, dates)) if n else np.zeros(0, dtype="int64")
    ordered = bool(n < 2 or (order[1:] > order[:-1]).all())

    def arranged(values: Any, dtype: Any = None) -> np.ndarray:
        array = (
            values.to_numpy(dtype=dtype) if isinstance(values, pd.Series) else np.asarray(values, dtype=dtype)
        )
        return array if ordered else array[order]

    base = {
        "review_id": arranged(ids),
        "program_id": arranged(sums["program_id"], "int64"),
        "program": arranged(sums["program"], object),
        "provider": arranged(sums["provider"], object),
        "region": arranged(sums["region"], object),
        "scale_id": arranged(sums["scale_id"], object),
        "scale_version": arranged(sums["scale_version"], object),
        "review_date": arranged(dates),
    }
    scale_code, scales = _scale_codes_of(base["scale_id"], base["scale_version"], registry)
    scale_list = list(scales.values())
    sub_ids = tuple(dict.fromkeys(sub.id for scale in scale_list for sub in scale.subscales))

    def counts(name: str) -> np.ndarray:
        if name not in sums:
            return np.zeros(n, dtype="int64")
        values = sums[name]
        if isinstance(values, pd.Series):
            values = values.to_numpy(dtype="float64", na_value=0)
        if not (isinstance(values, np.ndarray) and values.dtype.kind in "iu"):
            values = np.nan_to_num(np.asarray(values, dtype="float64"))
        return arranged(values.astype("int64", copy=False))

    sub_sum = np.column_stack([counts(f"sum_{s}") for s in sub_ids]) if sub_ids else np.zeros((n, 0), "int64")
    sub_count = (
        np.column_stack([counts(f"rated_{s}") for s in sub_ids]) if sub_ids else np.zeros((n, 0), "int64")
    )
    return _totals(
        base, scale_list, scale_code, counts("total_sum"), counts("rated"), sub_ids, sub_sum, sub_count
    )


@dataclass(frozen=True, eq=False)
class _ItemIndex:
    """Where each row's item sits: `key` indexes the tables of (scale version, item id) pairs,
    from which come its position in its scale version, its index into the concatenated item
    lists of the scales being scored (names and subscales), and its subscale's code."""

    key: np.ndarray
    positions: np.ndarray  # (scale version, item id) -> position in the scale version
    offsets: np.ndarray  # scale version -> where its items start in names and subscales
    row_subscale: np.ndarray  # each row's subscale as an index into the scored subscale ids
    names: tuple[str, ...]
    subscales: tuple[str, ...]

    @cached_property
    def position(self) -> np.ndarray:
        return self.positions.ravel()[self.key]

    @cached_property
    def at(self) -> np.ndarray:
        return (self.positions + self.offsets[:, None]).ravel()[self.key]


@dataclass(frozen=True, eq=False)
class ScoredReviews:
    """Every review of `data` scored. Totals are computed at once; the rows with their items'
    names and the long subscale frame only when a caller asks for them."""

    data: PreparedRatings
    scales: dict[tuple[str, str], Scale]
    totals: pd.DataFrame
    items: _ItemIndex
    sub_ids: tuple[str, ...]
    sub_sum: np.ndarray  # reviews x sub_ids, in data.reviews order
    sub_count: np.ndarray

    @cached_property
    def rows(self) -> pd.DataFrame:
        """data.rows with item_name, subscale and position."""
        rows, items = self.data.rows, self.items
        names = np.array(items.names, dtype=object)[items.at] if items.names else np.array([], dtype=object)
        subs = (
            np.array(items.subscales, dtype=object)[items.at] if items.names else np.array([], dtype=object)
        )
        return rows.assign(
            item_name=pd.Series(names, index=rows.index, dtype=object),
            subscale=pd.Series(subs, index=rows.index, dtype=object),
            position=items.position,
        )

    @cached_property
    def subscales(self) -> pd.DataFrame:
        review_ids = pd.Index(self.data.reviews["review_id"], name="review_id")
        columns = pd.Index(list(self.sub_ids), name="subscale")
        sums = pd.DataFrame(self.sub_sum, index=review_ids, columns=columns)
        counts = pd.DataFrame(self.sub_count, index=review_ids, columns=columns)
        return _subscale_frame(self.data.reviews, self.scales, sums, counts)


def score_reviews(data: PreparedRatings, registry: ScaleRegistry) -> ScoredReviews:
    """Every review's totals from its rows, vectorised: each row is given a review code and a
    subscale code, and one bincount per figure adds up the ratings (no groupby, no merge)."""
    reviews, rows = data.reviews, data.rows
    n = len(reviews)
    scale_code, scales = _scale_codes(reviews, registry)
    scale_list = list(scales.values())
    review_code = data.review_code
    if review_code is None or len(review_code) != len(rows):
        review_code = pd.Index(reviews["review_id"]).get_indexer(rows["review_id"])
    sub_ids = tuple(dict.fromkeys(sub.id for scale in scale_list for sub in scale.subscales))
    items = _item_index(rows, scale_list, scale_code, review_code, sub_ids)
    rating = rows["rating"]
    rated = rating.notna().to_numpy(dtype=bool)
    value = rating.to_numpy(dtype="int64", na_value=0)
    k = len(sub_ids)
    cell = review_code * k + items.row_subscale if len(rows) else np.zeros(0, dtype="int64")
    sub_sum = _add_up(cell, value, n * k).reshape(n, k)
    sub_count = np.bincount(cell, weights=rated, minlength=n * k).astype("int64").reshape(n, k)
    # Every item is in exactly one subscale of its scale: the total is the subscales' sum.
    total_sum = sub_sum.sum(axis=1)
    n_rated = sub_count.sum(axis=1)

    base = {col: reviews[col].to_numpy() for col in REVIEW_COLUMNS}
    totals = totals_frame(
        _totals(base, scale_list, scale_code, total_sum, n_rated, sub_ids, sub_sum, sub_count)
    )
    return ScoredReviews(
        data=data,
        scales=scales,
        totals=totals,
        items=items,
        sub_ids=sub_ids,
        sub_sum=sub_sum,
        sub_count=sub_count,
    )


def _scale_codes(
    reviews: pd.DataFrame, registry: ScaleRegistry
) -> tuple[np.ndarray, dict[tuple[str, str], Scale]]:
    """Each review's scale version as a code into the returned scales, in order of appearance."""
    return _scale_codes_of(reviews["scale_id"].to_numpy(), reviews["scale_version"].to_numpy(), registry)


def _scale_codes_of(
    scale_ids: np.ndarray, versions: np.ndarray, registry: ScaleRegistry
) -> tuple[np.ndarray, dict[tuple[str, str], Scale]]:
    scales: dict[tuple[str, str], Scale] = {}
    n = len(scale_ids)
    if n > 64 and (scale_ids == scale_ids[0]).all() and (versions == versions[0]).all():
        # One scale version (the dashboard of a scale): no factorizing, no per-review loop.
        text = (str(scale_ids[0]), str(versions[0]))
        scales[text] = registry.get(*text)
        return np.zeros(n, dtype="int64"), scales
    if n <= 64:  # one program's reviews: a dict beats factorizing
        code_of: dict[tuple[Any, Any], int] = {}
        found: list[int] = []
        for key in zip(scale_ids, versions, strict=True):
            code = code_of.get(key)
            if code is None:
                text = (str(key[0]), str(key[1]))
                if text not in scales:
                    scales[text] = registry.get(*text)
                code = code_of[key] = list(scales).index(text)
            found.append(code)
        return np.asarray(found, dtype="int64"), scales
    # Each column factorized alone, then the pairs of codes (no text made per review).
    id_code, id_values = pd.factorize(scale_ids)
    version_code, version_values = pd.factorize(versions)
    found, pairs = pd.factorize(id_code.astype("int64") * len(version_values) + version_code)
    code_of_pair: list[int] = []
    for pair in pairs:
        text = (str(id_values[pair // len(version_values)]), str(version_values[pair % len(version_values)]))
        if text not in scales:  # two values may read the same as text (1 and "1")
            scales[text] = registry.get(*text)
        code_of_pair.append(list(scales).index(text))
    return np.asarray(code_of_pair, dtype="int64")[found], scales


def _add_up(index: np.ndarray, value: np.ndarray, size: int) -> np.ndarray:
    """Integer sums of `value` per `index` (0..size-1); exact below 2**53."""
    return np.rint(np.bincount(index, weights=value, minlength=size)).astype("int64")


def _totals(
    base: Mapping[str, np.ndarray],
    scale_list: list[Scale],
    scale_code: np.ndarray,
    total_sum: np.ndarray,
    n_rated: np.ndarray,
    sub_ids: tuple[str, ...],
    sub_sum: np.ndarray,
    sub_count: np.ndarray,
) -> dict[str, Any]:
    """The review_totals columns from each review's rating sums and counts (total and per
    subscale, as arrays in the order of `base`, the REVIEW_COLUMNS as arrays): exact rounding and
    bands per scale version. band_level -1 means no band."""
    n = len(base["review_id"])
    n_items = np.zeros(n, dtype="int64")
    scaled = np.zeros(n, dtype="int64")
    factor = np.ones(n, dtype="int64")
    banded = np.zeros(n, dtype=bool)
    band = np.full(n, None, dtype=object)
    level = np.full(n, -1, dtype="int64")
    column_of = {sub_id: i for i, sub_id in enumerate(sub_ids)}
    single = len(scale_list) == 1  # the usual case: whole arrays, no masked copies
    for code, scale in enumerate(scale_list):
        mask: Any = slice(None) if single else scale_code == code
        cols = [column_of[sub.id] for sub in scale.subscales]
        if single and cols == list(range(len(sub_ids))):
            sums, counts = sub_sum, sub_count
        else:
            sums, counts = sub_sum[mask][:, cols], sub_count[mask][:, cols]
        value, ok = _scaled_total(scale, total_sum[mask], n_rated[mask], sums, counts)
        lv = _band_levels(scale, value, ok)
        labels = np.array([b.label for b in scale.scoring.bands] + [None], dtype=object)
        scaled[mask], banded[mask], level[mask], band[mask] = value, ok, lv, labels[lv]
        n_items[mask] = len(scale.items)
        factor[mask] = 10**scale.scoring.precision

    # Integer counts divided by at least 1: nothing to warn about, so no np.errstate (which
    # costs more than these divisions for one program's reviews).
    total_mean = np.where(n_rated > 0, total_sum / np.maximum(n_rated, 1), np.nan)
    has = sub_count > 0
    means = np.where(has, sub_sum / np.maximum(sub_count, 1), np.nan)
    n_means = has.sum(axis=1)
    mean_of_means = np.where(
        n_means > 0, np.where(has, means, 0.0).sum(axis=1) / np.maximum(n_means, 1), np.nan
    )
    extra: dict[str, Any] = {
        "rated": n_rated,
        "items": n_items,
        "complete": n_rated == n_items,
        "total_sum": total_sum,
        "total_mean": total_mean,
        "mean_of_subscale_means": mean_of_means if sub_ids else np.full(n, np.nan),
        "banded_value": np.where(banded, scaled / factor, np.nan),
        "band": band,
        "band_level": level,  # -1: no band (NA in the frame)
    }
    for i, sub_id in enumerate(sub_ids):
        extra[f"sub_{sub_id}"] = means[:, i]
    return {**{col: base[col] for col in REVIEW_COLUMNS}, **extra}


def _item_index(
    rows: pd.DataFrame,
    scale_list: list[Scale],
    scale_code: np.ndarray,
    review_code: np.ndarray,
    sub_ids: tuple[str, ...],
) -> _ItemIndex:
    """Each row's item in its review's scale version (`scale_code` per review, `review_code`
    per row). Refuses an item id the review's scale version does not have, and an item rated
    twice in one review."""
    codes, uniques = pd.factorize(rows["item_id"])
    n_unique = max(len(uniques), 1)
    n_scales = max(len(scale_list), 1)
    positions = np.full((n_scales, n_unique), -1, dtype="int64")
    sub_table = np.full((n_scales, n_unique), -1, dtype="int64")
    offsets = np.zeros(n_scales, dtype="int64")
    names: list[str] = []
    subscales: list[str] = []
    unique_ids = [str(u) for u in uniques]
    sub_code = {sub_id: i for i, sub_id in enumerate(sub_ids)}
    for code, scale in enumerate(scale_list):
        index = {item.id: (pos, sub_code[item.subscale]) for pos, item in enumerate(scale.items)}
        found = [index.get(u, (-1, -1)) for u in unique_ids]
        positions[code, : len(unique_ids)] = [f[0] for f in found]
        sub_table[code, : len(unique_ids)] = [f[1] for f in found]
        offsets[code] = len(names)
        names += [item.name for item in scale.items]
        subscales += [item.subscale for item in scale.items]
    if len(scale_list) == 1:  # one scale version (the usual case): the item code is the key
        key = codes.astype("int64", copy=False)
    else:
        key = scale_code[review_code] * n_unique + codes
    row_subscale = sub_table.ravel()[key] if len(rows) else np.zeros(0, dtype="int64")
    unknown = row_subscale < 0
    if unknown.any():
        bad = rows.iloc[int(np.argmax(unknown))]
        raise ValueError(
            f"review {bad['review_id']}: item {bad['item_id']} is not an item of "
            f"{bad['scale_id']} {bad['scale_version']}"
        )
    n_reviews = len(scale_code)
    pair = review_code.astype("int64", copy=False) * n_unique + codes
    if n_reviews * n_unique <= 4 * len(rows) + 1_000_000:
        seen = np.bincount(pair, minlength=n_reviews * n_unique)
        twice = seen[pair] > 1 if len(seen) and seen.max() > 1 else None
    else:
        twice = pd.Index(pair).duplicated(keep=False)
    if twice is not None and twice.any():
        bad = rows.iloc[int(np.argmax(twice))]
        raise ValueError(f"review {bad['review_id']} rates item {bad['item_id']} more than once")
    return _ItemIndex(
        key=key,
        positions=positions,
        offsets=offsets,
        row_subscale=row_subscale,
        names=tuple(names),
        subscales=tuple(subscales),
    )


def _scaled_total(
    scale: Scale,
    total_sum: np.ndarray,
    n_rated: np.ndarray,
    sums: np.ndarray,
    counts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The total the bands read, rounded half-up to the scale's precision, as an integer
    count of 10**-precision; and whether there is one. Exactly as score_ratings does it.
    `sums` and `counts` are reviews x the scale's subscales, in the scale's order."""
    scoring = scale.scoring
    factor = 10**scoring.precision
    if scoring.method is TotalMethod.SUM:
        # A sum over some items is not comparable with the published bands.
        return total_sum * factor, n_rated == len(scale.items)
    if scoring.method is TotalMethod.MEAN_OF_ITEMS:
        ok = n_rated > 0
        n = np.where(ok, n_rated, 1)
        # round half-up (ties away from zero) of sum/n to `precision` decimals, in integers
        value = np.sign(total_sum) * ((2 * np.abs(total_sum) * factor + n) // (2 * n))
        return np.where(ok, value, 0), ok
    # Mean of subscale means: exact Fractions, once per distinct combination of
    # (subscale sums, subscale counts); there are few of them however many reviews there are.
    if len(total_sum) == 0:
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype=bool)
    k = sums.shape[1]
    exact = mean_of_means_in_integers(sums, counts, factor)
    if exact is not None:
        return exact
    combos, inverse = np.unique(np.hstack([sums, counts]), axis=0, return_inverse=True)
    values = np.zeros(len(combos), dtype="int64")
    oks = np.zeros(len(combos), dtype=bool)
    for j, combo in enumerate(combos):
        means = [Fraction(int(s), int(c)) for s, c in zip(combo[:k], combo[k:], strict=True) if c > 0]
        if means:
            mean = sum(means, Fraction(0)) / len(means)
            values[j] = int(round_half_up(mean, scoring.precision).scaleb(scoring.precision))
            oks[j] = True
    inverse = inverse.reshape(-1)
    return values[inverse], oks[inverse]


def _band_levels(scale: Scale, value: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Index of the first band whose [min, max] holds the value (-1: none), like score_ratings.

    `value` counts 10**-precision, so `value >= min` is `value >= ceil(min * 10**p)` and
    `value <= max` is `value <= floor(max * 10**p)`, with the bounds read exactly as Decimals.
    """
    lows, highs = _band_bounds(scale)
    if not len(lows):
        return np.full(len(value), -1, dtype="int64")
    # reviews x bands at once (a loop over the bands cost more for one program's reviews)
    value = np.asarray(value)[:, None]
    hits = (value >= lows) & (value <= highs) & np.asarray(ok, dtype=bool)[:, None]
    return np.where(hits.any(axis=1), hits.argmax(axis=1), -1).astype("int64", copy=False)


_BOUNDS: dict[int, tuple[Scale, tuple[np.ndarray, np.ndarray]]] = {}
_OPEN_LOW: Final = np.iinfo("int64").min
_OPEN_HIGH: Final = np.iinfo("int64").max


def _band_bounds(scale: Scale) -> tuple[np.ndarray, np.ndarray]:
    """The bands' lowest and highest values in counts of 10**-precision (an open end: the
    int64 limit), read once per scale object: the Decimal work cost more than the comparisons."""
    found = _BOUNDS.get(id(scale))
    if found is not None and found[0] is scale:
        return found[1]
    precision = scale.scoring.precision
    lows = [
        _OPEN_LOW
        if band.min is None
        else int(to_decimal(band.min).scaleb(precision).to_integral_value(rounding=ROUND_CEILING))
        for band in scale.scoring.bands
    ]
    highs = [
        _OPEN_HIGH
        if band.max is None
        else int(to_decimal(band.max).scaleb(precision).to_integral_value(rounding=ROUND_FLOOR))
        for band in scale.scoring.bands
    ]
    bounds = (np.array(lows, dtype="int64"), np.array(highs, dtype="int64"))
    _BOUNDS[id(scale)] = (scale, bounds)  # holds the scale, so its id is not reused
    return bounds


def _subscale_frame(
    reviews: pd.DataFrame,
    scales: Mapping[tuple[str, str], Scale],
    sub_sum: pd.DataFrame,
    sub_count: pd.DataFrame,
) -> pd.DataFrame:
    catalogue = pd.DataFrame(
        [
            (sid, ver, sub.id, sub.name, len(sub.items), pos)
            for (sid, ver), scale in scales.items()
            for pos, sub in enumerate(scale.subscales)
        ],
        columns=["scale_id", "scale_version", "subscale", "subscale_name", "items", "_pos"],
    )
    base = reviews.loc[:, ["review_id", "program_id", "scale_id", "scale_version", "review_date"]]
    out = base.merge(catalogue, on=["scale_id", "scale_version"], how="inner")
    stats = pd.DataFrame({"sum": sub_sum.stack(), "count": sub_count.stack()})
    stats.index = stats.index.set_names(["review_id", "subscale"])
    out = out.merge(stats.reset_index(), on=["review_id", "subscale"], how="left")
    rated = out["count"].fillna(0).astype("int64")
    out["rated"] = rated
    out["mean"] = np.where(rated > 0, out["sum"].astype("float64") / rated.where(rated > 0, 1), np.nan)
    out = out.sort_values(["review_date", "review_id", "_pos"], kind="stable")
    return out.loc[:, list(SUBSCALE_COLUMNS)].reset_index(drop=True)
