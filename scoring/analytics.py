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
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from scales.loader import ScaleRegistry
from scales.schema import Item, Scale, TotalMethod
from scoring.rounding import round_half_up, to_decimal

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
DateLike = date | datetime | pd.Timestamp | str

_REQUIRED_COLUMNS = ("review_id", "program_id", "scale_id", "scale_version", "review_date", "item_id")
_TOTAL_COLUMNS = (
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
_SUBSCALE_COLUMNS = (
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
_SERIES_COLUMNS = ("review_id", "review_date", "scale_version", "measure", "measure_name", "value", "band")
_ITEM_MEAN_COLUMNS = ("item_id", "item_name", "subscale", "mean", "n", "low")
_TOTAL_MEASURES = {
    TotalMethod.MEAN_OF_ITEMS: "Total mean",
    TotalMethod.MEAN_OF_SUBSCALE_MEANS: "Mean of subscale means",
    TotalMethod.SUM: "Total (sum of item ratings)",
}


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BandChange:
    """How the band moved from the previous review to the latest one."""

    previous_band: str | None
    band: str | None
    direction: Direction  # "unknown" when either review has no band (an incomplete sum scale)
    previous_value: float | None  # the totals the bands read, rounded as the scale says
    value: float | None


@dataclass(frozen=True, eq=False)
class DriftReport:
    """A program's latest review against its previous review of the same scale.

    `compared`, `falls`, `consecutive_low` and `all_falls` have the columns DRIFT_COLUMNS: the
    item, both ratings, `change` (rating - previous_rating), both reviews' ids, dates and
    versions, and the evidence from both. Only items rated on both reviews are compared.
    """

    program_id: int
    scale_id: str | None
    review_id: int | None
    previous_review_id: int | None
    review_date: pd.Timestamp | None
    previous_review_date: pd.Timestamp | None
    scale_version: str | None
    previous_scale_version: str | None
    shared_items: tuple[str, ...]  # item ids both versions define, in the latest version's order
    not_shared: tuple[str, ...]  # item ids only one of the two versions defines
    compared: pd.DataFrame  # every shared item rated on both reviews
    falls: pd.DataFrame  # items whose rating fell, largest fall first
    consecutive_low: pd.DataFrame  # items rated below LOW_RATING on both reviews
    band_change: BandChange | None
    all_falls: pd.DataFrame  # falls of every consecutive pair of reviews, oldest pair first
    note: str

    @property
    def mixed_versions(self) -> bool:
        return (
            self.previous_scale_version is not None
            and self.scale_version is not None
            and self.previous_scale_version != self.scale_version
        )


@dataclass(frozen=True, eq=False)
class ProgramSeries:
    """A program's totals and subscale means over its reviews of one scale, for a line chart.

    `values`: review_id, review_date, scale_version, measure ("Total" or a subscale id),
    measure_name ("Total" or the subscale's name), value, band (on the Total rows). The
    Total is the value the bands read, rounded as the scale says (the total mean for DACTS,
    the sum for IDDT and GOI, NaN for a sum scale review with unrated items).
    `thresholds`: label, min, max of the bands, in the Total's units.
    """

    program_id: int
    scale_id: str | None
    values: pd.DataFrame
    thresholds: pd.DataFrame
    total_measure: str  # what "Total" is, e.g. "Total mean"
    total_is_mean: bool  # True when the Total shares the subscale means' 1..5 axis
    versions: tuple[str, ...]
    note: str


@dataclass(frozen=True, eq=False)
class ItemSeries:
    """Item x review matrix of a program's ratings of one scale (NA = not rated or not an item).

    Rows follow the scale's item order (the latest version's, then items only older versions
    have); columns are review ids in date order, described by `reviews`.
    """

    program_id: int
    scale_id: str | None
    matrix: pd.DataFrame
    items: pd.DataFrame  # item_id, item_name, subscale, in the matrix's row order
    reviews: pd.DataFrame  # review_id, review_date, scale_version, band, in column order
    note: str


@dataclass(frozen=True, eq=False)
class AgencyOverview:
    """Every program's latest review of one scale, ranked, with the state's weak spots.

    `programs`: one row per program (the review_totals columns plus `rank`), best first:
    total mean descending, then program name. `distribution`: band, band_level, programs,
    share, in band order (every band, plus a row with band None when some have none).
    `item_means`: item_id, item_name, subscale, mean, n (programs that rated it), low (rated
    below LOW_RATING), lowest mean first. `item_matrix`: item x program_id ratings, items in
    scale order and programs in rank order. `below_full`: the programs whose latest review is
    not in the scale's top band (or has no band).
    """

    scale_id: str
    programs: pd.DataFrame
    distribution: pd.DataFrame
    item_means: pd.DataFrame
    item_matrix: pd.DataFrame
    below_full: pd.DataFrame
    versions: tuple[str, ...]
    shared_items: tuple[str, ...]  # the items item_means and item_matrix use
    note: str


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------


def review_totals(ratings: pd.DataFrame, registry: ScaleRegistry) -> pd.DataFrame:
    """One row per review: its review columns, then rated, items, complete, total_sum,
    total_mean, mean_of_subscale_means, banded_value, band, band_level (0 = lowest band) and
    one `sub_<subscale id>` column per subscale mean. Ordered by review_date, then review_id.

    Raises ValueError for a frame that breaks `RATING_COLUMNS`, and
    scales.UnknownScaleError for a scale version the registry does not have.
    """
    data = _prepare(ratings)
    return _score(data, registry).totals


def subscale_means(ratings: pd.DataFrame, registry: ScaleRegistry) -> pd.DataFrame:
    """One row per (review, subscale): mean of the rated items (NaN when none), rated, items."""
    data = _prepare(ratings)
    return _score(data, registry).subscales


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


def program_series(
    ratings: pd.DataFrame, registry: ScaleRegistry, program_id: int, *, scale_id: str | None = None
) -> ProgramSeries:
    """Total and subscale means of one program over its reviews of one scale (by default the
    scale of its latest review), with the band thresholds to draw."""
    data, scale_id = _program_data(ratings, program_id, scale_id)
    if data.reviews.empty or scale_id is None:
        return ProgramSeries(
            program_id=program_id,
            scale_id=scale_id,
            values=_empty(_SERIES_COLUMNS),
            thresholds=_empty(("label", "min", "max")),
            total_measure="Total",
            total_is_mean=True,
            versions=(),
            note=_no_reviews_note(scale_id),
        )
    scored = _score(data, registry)
    totals, subs = scored.totals, scored.subscales
    latest = scored.scales[_latest_key(data.reviews)]
    total_rows = pd.DataFrame(
        {
            "review_id": totals["review_id"],
            "review_date": totals["review_date"],
            "scale_version": totals["scale_version"],
            "measure": "Total",
            "measure_name": "Total",
            "value": totals["banded_value"],
            "band": totals["band"],
            "_order": -1,
        }
    )
    sub_order = {sub.id: i for i, sub in enumerate(latest.subscales)}
    sub_rows = pd.DataFrame(
        {
            "review_id": subs["review_id"],
            "review_date": subs["review_date"],
            "scale_version": subs["scale_version"],
            "measure": subs["subscale"],
            "measure_name": subs["subscale_name"],
            "value": subs["mean"],
            "band": None,
            "_order": subs["subscale"].map(sub_order).fillna(len(sub_order)),
        }
    )
    values = (
        pd.concat([total_rows, sub_rows], ignore_index=True)
        .sort_values(["review_date", "review_id", "_order", "measure"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    values["band"] = _object(values["band"])
    thresholds = pd.DataFrame(
        [(band.label, band.min, band.max) for band in latest.scoring.bands], columns=["label", "min", "max"]
    )
    versions = _versions_in_order(registry, scale_id, data.reviews["scale_version"])
    note = ""
    if len(versions) > 1:
        note = (
            f"Reviews use {scale_id} {_and(versions)}: each total is scored on its own version's items; "
            f"band thresholds are those of {scale_id} {latest.version}."
        )
    return ProgramSeries(
        program_id=program_id,
        scale_id=scale_id,
        values=values,
        thresholds=thresholds,
        total_measure=_TOTAL_MEASURES[latest.scoring.method],
        total_is_mean=latest.scoring.method is not TotalMethod.SUM,
        versions=versions,
        note=note,
    )


def item_series(
    ratings: pd.DataFrame, registry: ScaleRegistry, program_id: int, *, scale_id: str | None = None
) -> ItemSeries:
    """The item x review matrix of one program's ratings of one scale (by default the scale of
    its latest review), for a heatmap."""
    data, scale_id = _program_data(ratings, program_id, scale_id)
    if data.reviews.empty or scale_id is None:
        return ItemSeries(
            program_id=program_id,
            scale_id=scale_id,
            matrix=pd.DataFrame(dtype="Int64"),
            items=_empty(("item_id", "item_name", "subscale")),
            reviews=_empty(("review_id", "review_date", "scale_version", "band")),
            note=_no_reviews_note(scale_id),
        )
    scored = _score(data, registry)
    versions = _versions_in_order(registry, scale_id, data.reviews["scale_version"])
    ordered = [registry.get(scale_id, v) for v in reversed(versions)]  # newest first
    items = _item_union(ordered)
    reviews = scored.totals.loc[:, ["review_id", "review_date", "scale_version", "band"]].reset_index(
        drop=True
    )
    matrix = (
        data.rows.pivot(index="item_id", columns="review_id", values="rating")
        .reindex(index=items["item_id"], columns=reviews["review_id"])
        .astype("Int64")
    )
    note = ""
    if len(versions) > 1:
        only = items.loc[items["in_versions"] < len(versions), "item_id"].tolist()
        note = f"Reviews use {scale_id} {_and(versions)}; {len(items) - len(only)} items are in every version"
        note += f" (not in every version: {', '.join(only)})." if only else "."
    return ItemSeries(
        program_id=program_id,
        scale_id=scale_id,
        matrix=matrix,
        items=items.loc[:, ["item_id", "item_name", "subscale"]],
        reviews=reviews,
        note=note,
    )


def drift(
    ratings: pd.DataFrame,
    registry: ScaleRegistry,
    program_id: int,
    *,
    scale_id: str | None = None,
    low_below: int = LOW_RATING,
) -> DriftReport:
    """What changed between a program's latest review and its previous one of the same scale.

    Reviews are ordered by review_date, then review_id. The scale is `scale_id`, or by default
    the scale of the program's latest review. Reviews on different versions are compared only
    on the item ids both versions define, and the note says so.
    """
    data, scale_id = _program_data(ratings, program_id, scale_id)
    n_reviews = len(data.reviews)
    if n_reviews < 2 or scale_id is None:
        return _short_drift(program_id, scale_id, data.reviews)

    scored = _score(data, registry)
    rows = scored.rows
    reviews = data.reviews.loc[:, ["review_id", "review_date", "scale_version"]].reset_index(drop=True)
    previous = reviews.shift(1).rename(columns=lambda c: f"previous_{c}")
    pairs = pd.concat([reviews, previous], axis=1).iloc[1:]
    pairs["previous_review_id"] = pairs["previous_review_id"].astype("int64")

    rated = rows.loc[rows["rating"].notna()]
    current = rated.loc[
        :, ["review_id", "item_id", "item_name", "subscale", "position", "rating", "evidence"]
    ]
    current = current.merge(pairs, on="review_id", how="inner")
    before = rated.loc[:, ["review_id", "item_id", "rating", "evidence"]].rename(
        columns={
            "review_id": "previous_review_id",
            "rating": "previous_rating",
            "evidence": "previous_evidence",
        }
    )
    compared_all = current.merge(before, on=["previous_review_id", "item_id"], how="inner")
    compared_all["change"] = (compared_all["rating"] - compared_all["previous_rating"]).astype("Int64")

    last, prev = reviews.iloc[-1], reviews.iloc[-2]
    last_id, prev_id = int(last["review_id"]), int(prev["review_id"])
    compared = _pair_frame(
        compared_all.loc[compared_all["review_id"] == last_id].sort_values("position", kind="stable")
    )
    falls = _pair_frame(
        compared_all.loc[(compared_all["review_id"] == last_id) & (compared_all["change"] < 0)].sort_values(
            ["change", "position"], kind="stable"
        )
    )
    low = compared.loc[(compared["rating"] < low_below) & (compared["previous_rating"] < low_below)]
    all_falls = _pair_frame(
        compared_all.loc[compared_all["change"] < 0].sort_values(
            ["review_date", "review_id", "change", "position"], kind="stable"
        )
    )

    totals = scored.totals.set_index("review_id")
    band_change = _band_change(totals.loc[prev_id], totals.loc[last_id])

    scale_now = scored.scales[(scale_id, str(last["scale_version"]))]
    scale_before = scored.scales[(scale_id, str(prev["scale_version"]))]
    before_ids = set(scale_before.item_ids)
    now_ids = set(scale_now.item_ids)
    shared = tuple(i for i in scale_now.item_ids if i in before_ids)
    not_shared = tuple(i for i in scale_before.item_ids if i not in now_ids) + tuple(
        i for i in scale_now.item_ids if i not in before_ids
    )
    note = _drift_note(scale_before, scale_now, prev, last, shared, len(compared))
    return DriftReport(
        program_id=program_id,
        scale_id=scale_id,
        review_id=last_id,
        previous_review_id=prev_id,
        review_date=last["review_date"],
        previous_review_date=prev["review_date"],
        scale_version=str(last["scale_version"]),
        previous_scale_version=str(prev["scale_version"]),
        shared_items=shared,
        not_shared=not_shared,
        compared=compared,
        falls=falls,
        consecutive_low=low.reset_index(drop=True),
        band_change=band_change,
        all_falls=all_falls,
        note=note,
    )


def agency_overview(
    ratings: pd.DataFrame,
    registry: ScaleRegistry,
    scale_id: str,
    *,
    region: str | Collection[str] | None = None,
    provider: str | Collection[str] | None = None,
    date_from: DateLike | None = None,
    date_to: DateLike | None = None,
) -> AgencyOverview:
    """The latest review of `scale_id` of each program, among reviews in the window.

    `region` and `provider` take one name or several; `date_from` and `date_to` are inclusive.
    Totals and bands are each scored on the review's own scale version; when the latest reviews
    use different versions, item means and the item matrix use only the item ids every one of
    those versions defines, and the note says so.
    """
    data = _prepare(ratings, scale_id=scale_id)
    reviews = data.reviews
    if region is not None:
        reviews = reviews.loc[reviews["region"].isin(_names(region))]
    if provider is not None:
        reviews = reviews.loc[reviews["provider"].isin(_names(provider))]
    if date_from is not None:
        reviews = reviews.loc[reviews["review_date"].dt.normalize() >= pd.Timestamp(date_from).normalize()]
    if date_to is not None:
        reviews = reviews.loc[reviews["review_date"].dt.normalize() <= pd.Timestamp(date_to).normalize()]
    latest = reviews.drop_duplicates("program_id", keep="last")  # reviews are in date order
    if latest.empty:
        return _empty_overview(scale_id, registry)

    data = _Data(rows=data.rows.loc[data.rows["review_id"].isin(latest["review_id"])], reviews=latest)
    scored = _score(data, registry)
    totals = scored.totals
    programs = totals.assign(_name=totals["program"].astype(object).where(totals["program"].notna(), ""))
    programs = programs.sort_values(
        ["total_mean", "_name", "program_id"],
        ascending=[False, True, True],
        na_position="last",
        kind="stable",
    ).drop(columns="_name")
    programs.insert(0, "rank", np.arange(1, len(programs) + 1))
    programs = programs.reset_index(drop=True)

    versions = _versions_in_order(registry, scale_id, programs["scale_version"])
    reference = registry.get(scale_id, versions[-1])

    tops = pd.Series({v: len(registry.get(scale_id, v).scoring.bands) - 1 for v in versions}, dtype="int64")
    top_level = programs["scale_version"].map(tops)
    below_full = programs.loc[programs["band_level"].isna() | (programs["band_level"] != top_level)]

    distribution = _distribution(programs, [registry.get(scale_id, v) for v in reversed(versions)])

    version_scales = [registry.get(scale_id, v) for v in versions]
    shared = tuple(i for i in reference.item_ids if all(s.has_item(i) for s in version_scales))
    rows = scored.rows.loc[scored.rows["item_id"].isin(shared)]
    item_meta = _item_union([reference]).set_index("item_id").loc[list(shared)]
    item_means = _item_means(rows, item_meta)
    item_matrix = (
        rows.pivot(index="item_id", columns="program_id", values="rating")
        .reindex(index=list(shared), columns=programs["program_id"])
        .astype("Int64")
    )
    note = ""
    if len(versions) > 1:
        left_out = sorted({i for s in version_scales for i in s.item_ids} - set(shared))
        note = (
            f"Latest reviews use {scale_id} {_and(versions)}: item means use the {len(shared)} items "
            f"all these versions share"
            + (f" (left out: {', '.join(left_out)})" if left_out else "")
            + "; each total and band is scored on the review's own version."
        )
    return AgencyOverview(
        scale_id=scale_id,
        programs=programs,
        distribution=distribution,
        item_means=item_means,
        item_matrix=item_matrix,
        below_full=below_full.reset_index(drop=True),
        versions=versions,
        shared_items=shared,
        note=note,
    )


# ---------------------------------------------------------------------------------------------
# Preparing the frame
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Data:
    rows: pd.DataFrame  # RATING_COLUMNS, coerced
    reviews: pd.DataFrame  # REVIEW_COLUMNS, one row per review, by review_date then review_id


@dataclass(frozen=True)
class _ItemIndex:
    """Where each row's item sits: its position in its scale version, and its index into the
    concatenated item lists of the scales being scored (names and subscales)."""

    position: np.ndarray
    at: np.ndarray
    names: tuple[str, ...]
    subscales: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class _Scored:
    """Every review of `data` scored. Totals are computed at once; the rows with their items'
    names and the long subscale frame only when a caller asks for them."""

    data: _Data
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


def _prepare(ratings: pd.DataFrame, *, program_id: int | None = None, scale_id: str | None = None) -> _Data:
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

    for col in _REQUIRED_COLUMNS:
        if frame[col].isna().any():
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
        }
    ).reset_index(drop=True)
    return _Data(rows=rows, reviews=_reviews_of(rows))


def _reviews_of(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per review, by review_date then review_id; the review columns must agree on
    every row of a review. Sorting once and comparing neighbours keeps this linear."""
    review_id = rows["review_id"].to_numpy()
    grouped = review_id[1:] != review_id[:-1]
    if len(review_id) and np.count_nonzero(grouped) + 1 == len(pd.unique(review_id)):
        order = None  # each review's rows are together already (as the loader gives them)
        ordered_ids = review_id
    else:
        order = np.argsort(review_id, kind="stable")
        ordered_ids = review_id[order]
    same = ordered_ids[1:] == ordered_ids[:-1]
    if same.any():
        for col in REVIEW_COLUMNS[1:]:
            values = _comparable(rows[col])
            values = values if order is None else values[order]
            differs = _differs(values[1:], values[:-1], same)
            if differs.any():
                bad = ordered_ids[1:][differs][0]
                raise ValueError(
                    f"review {bad}: its rows disagree on {col}; the review columns "
                    f"({', '.join(REVIEW_COLUMNS[1:])}) must be the same on every row of a review"
                )
    starts = np.concatenate([[True], ~same]) if len(review_id) else np.zeros(0, dtype=bool)
    first = np.flatnonzero(starts) if order is None else order[starts]
    reviews = rows.loc[first, list(REVIEW_COLUMNS)]
    for col in ("program", "provider", "region"):
        reviews[col] = _object(reviews[col])
    return reviews.sort_values(["review_date", "review_id"], kind="stable").reset_index(drop=True)


def _comparable(column: pd.Series) -> np.ndarray:
    """The column as an array whose neighbours compare cheaply: numbers and datetimes as they
    are, Python objects as they are (compared element by element), anything else as codes."""
    if column.dtype == object or column.dtype.kind in "iufbmM":
        return column.to_numpy()
    return pd.factorize(column)[0]  # every missing value is -1


def _differs(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Element-wise a != b where `where` holds (False elsewhere); two missing values (None,
    NaN, NA) count as equal."""
    try:
        ne = np.asarray(a != b, dtype=bool) & where
    except (TypeError, ValueError):  # an NA compared: its truth value is ambiguous
        codes, _ = pd.factorize(np.concatenate([a, b]))
        return (codes[: len(a)] != codes[len(a) :]) & where
    if a.dtype == object and ne.any():
        at = np.flatnonzero(ne)
        ne[at[pd.isna(a[at]) & pd.isna(b[at])]] = False
    return ne


def _integers(column: pd.Series, name: str) -> pd.Series:
    try:
        return column.astype("int64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column {name} must hold whole numbers") from exc


def _object(column: pd.Series) -> pd.Series:
    """Text that may be missing, with every missing value as None."""
    return pd.Series(column.to_numpy(dtype=object, na_value=None), index=column.index, dtype=object)


def _program_data(ratings: pd.DataFrame, program_id: int, scale_id: str | None) -> tuple[_Data, str | None]:
    data = _prepare(ratings, program_id=program_id)
    if scale_id is None:
        if data.reviews.empty:
            return data, None
        scale_id = str(data.reviews["scale_id"].iloc[-1])
    if (data.reviews["scale_id"] != scale_id).any():
        reviews = data.reviews.loc[data.reviews["scale_id"] == scale_id].reset_index(drop=True)
        data = _Data(rows=data.rows.loc[data.rows["scale_id"] == scale_id], reviews=reviews)
    return data, scale_id


# ---------------------------------------------------------------------------------------------
# Scoring many reviews at once
# ---------------------------------------------------------------------------------------------


def _score(data: _Data, registry: ScaleRegistry) -> _Scored:
    """Every review's totals from its rows, vectorised: each row is given a review code and a
    subscale code, and one bincount per figure adds up the ratings (no groupby, no merge)."""
    reviews, rows = data.reviews, data.rows
    n = len(reviews)
    scale_code, scales = _scale_codes(reviews, registry)
    scale_list = list(scales.values())
    review_code = pd.Index(reviews["review_id"]).get_indexer(rows["review_id"])
    items = _item_index(rows, scale_list, scale_code[review_code], review_code, n)

    sub_ids = tuple(dict.fromkeys(sub.id for scale in scale_list for sub in scale.subscales))
    sub_of = {sub_id: i for i, sub_id in enumerate(sub_ids)}
    item_sub = np.array([sub_of[s] for s in items.subscales], dtype="int64")
    rating = rows["rating"]
    rated = rating.notna().to_numpy(dtype=bool)
    value = rating.to_numpy(dtype="int64", na_value=0)
    total_sum = _add_up(review_code, value, n)
    n_rated = np.bincount(review_code[rated], minlength=n).astype("int64")
    k = len(sub_ids)
    cell = review_code * k + item_sub[items.at] if len(rows) else np.zeros(0, dtype="int64")
    sub_sum = _add_up(cell, value, n * k).reshape(n, k)
    sub_count = np.bincount(cell[rated], minlength=n * k).astype("int64").reshape(n, k)

    base = {col: reviews[col].to_numpy() for col in REVIEW_COLUMNS}
    totals = totals_frame(
        _totals(base, scale_list, scale_code, total_sum, n_rated, sub_ids, sub_sum, sub_count)
    )
    return _Scored(
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
    if len(scale_ids) <= 64:  # one program's reviews: a dict beats factorizing
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
    keys = pd.Series(scale_ids).astype(str) + "\x00" + pd.Series(versions).astype(str)
    found, uniques = pd.factorize(keys)
    for text in uniques:
        sid, ver = str(text).split("\x00", 1)
        scales[(sid, ver)] = registry.get(sid, ver)
    return np.asarray(found, dtype="int64"), scales


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


def totals_frame(columns: Mapping[str, Any]) -> pd.DataFrame:
    """The review_totals frame of `score_sums`' columns (extra columns are kept)."""
    columns = dict(columns)
    for col in ("program", "provider", "region"):  # text that may be missing: None, not NaN
        columns[col] = pd.Series(columns[col], dtype=object)
    for col in ("scale_id", "scale_version"):
        columns[col] = pd.Series(columns[col], dtype=str)
    columns["band"] = pd.Series(columns["band"], dtype=object)
    level = np.asarray(columns["band_level"], dtype="int64")
    columns["band_level"] = pd.arrays.IntegerArray(np.where(level >= 0, level, 0), level < 0)
    return pd.DataFrame(columns)


def _item_index(
    rows: pd.DataFrame,
    scale_list: list[Scale],
    row_scale: np.ndarray,
    review_code: np.ndarray,
    n_reviews: int,
) -> _ItemIndex:
    """Each row's item in its scale version. Refuses an item id the review's scale version does
    not have, and an item rated twice in one review."""
    codes, uniques = pd.factorize(rows["item_id"])
    n_unique = max(len(uniques), 1)
    lookup = np.full((max(len(scale_list), 1), n_unique), -1, dtype="int64")
    offsets = np.zeros(max(len(scale_list), 1), dtype="int64")
    names: list[str] = []
    subscales: list[str] = []
    unique_ids = [str(u) for u in uniques]
    for code, scale in enumerate(scale_list):
        index = {item.id: pos for pos, item in enumerate(scale.items)}
        lookup[code, : len(unique_ids)] = [index.get(u, -1) for u in unique_ids]
        offsets[code] = len(names)
        names += [item.name for item in scale.items]
        subscales += [item.subscale for item in scale.items]
    position = lookup[row_scale, codes] if len(rows) else np.zeros(0, dtype="int64")
    unknown = position < 0
    if unknown.any():
        bad = rows.iloc[int(np.argmax(unknown))]
        raise ValueError(
            f"review {bad['review_id']}: item {bad['item_id']} is not an item of "
            f"{bad['scale_id']} {bad['scale_version']}"
        )
    key = review_code.astype("int64") * n_unique + codes
    if n_reviews * n_unique <= 4 * len(rows) + 1_000_000:
        seen = np.bincount(key, minlength=n_reviews * n_unique)
        twice = seen[key] > 1
    else:
        twice = pd.Index(key).duplicated(keep=False)
    if twice.any():
        bad = rows.iloc[int(np.argmax(twice))]
        raise ValueError(f"review {bad['review_id']} rates item {bad['item_id']} more than once")
    return _ItemIndex(
        position=position, at=offsets[row_scale] + position, names=tuple(names), subscales=tuple(subscales)
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
    return out.loc[:, list(_SUBSCALE_COLUMNS)].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Helpers for the results
# ---------------------------------------------------------------------------------------------


def _empty(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series([], dtype=object) for col in columns})


def _pair_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return _empty(DRIFT_COLUMNS)
    out = frame.loc[:, list(DRIFT_COLUMNS)].reset_index(drop=True)
    out["previous_evidence"] = _object(out["previous_evidence"])
    out["evidence"] = _object(out["evidence"])
    return out


def _latest_key(reviews: pd.DataFrame) -> tuple[str, str]:
    last = reviews.iloc[-1]
    return str(last["scale_id"]), str(last["scale_version"])


def _versions_in_order(registry: ScaleRegistry, scale_id: str, present: pd.Series) -> tuple[str, ...]:
    """The versions in `present`, oldest first by the registry's version order."""
    wanted = set(present.astype(str))
    return tuple(s.version for s in registry.versions(scale_id) if s.version in wanted)


def _item_union(scales_newest_first: list[Scale]) -> pd.DataFrame:
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


def _and(words: Iterable[Hashable]) -> str:
    words = [str(w) for w in words]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _names(value: str | Collection[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _day(value: pd.Timestamp) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _no_reviews_note(scale_id: str | None) -> str:
    what = f"{scale_id} reviews" if scale_id else "reviews"
    return f"No finalized {what} of this program."


def _short_drift(program_id: int, scale_id: str | None, reviews: pd.DataFrame) -> DriftReport:
    """The report for a program with no review, or only one, of the scale."""
    only = reviews.iloc[-1] if len(reviews) == 1 else None
    if only is None:
        note = _no_reviews_note(scale_id) + " Drift needs two reviews."
    else:
        note = (
            f"Only one {scale_id} review ({_day(only['review_date'])}): drift needs two reviews "
            "of the same scale."
        )
    return DriftReport(
        program_id=program_id,
        scale_id=scale_id,
        review_id=None if only is None else int(only["review_id"]),
        previous_review_id=None,
        review_date=None if only is None else only["review_date"],
        previous_review_date=None,
        scale_version=None if only is None else str(only["scale_version"]),
        previous_scale_version=None,
        shared_items=(),
        not_shared=(),
        compared=_empty(DRIFT_COLUMNS),
        falls=_empty(DRIFT_COLUMNS),
        consecutive_low=_empty(DRIFT_COLUMNS),
        band_change=None,
        all_falls=_empty(DRIFT_COLUMNS),
        note=note,
    )


def _band_change(before: pd.Series, after: pd.Series) -> BandChange:
    def value(row: pd.Series) -> float | None:
        return None if pd.isna(row["banded_value"]) else float(row["banded_value"])

    def label(row: pd.Series) -> str | None:
        return None if pd.isna(row["band"]) else str(row["band"])

    direction: Direction = "unknown"
    if not pd.isna(before["band_level"]) and not pd.isna(after["band_level"]):
        a, b = int(before["band_level"]), int(after["band_level"])
        direction = "fell" if b < a else "rose" if b > a else "same"
    return BandChange(
        previous_band=label(before),
        band=label(after),
        direction=direction,
        previous_value=value(before),
        value=value(after),
    )


def _drift_note(
    before: Scale, now: Scale, prev: pd.Series, last: pd.Series, shared: tuple[str, ...], compared: int
) -> str:
    dates = f"the review of {_day(last['review_date'])} against that of {_day(prev['review_date'])}"
    if before.version == now.version:
        note = f"{now.id} {now.version}: {dates}, on all {len(shared)} items."
    else:
        only_before = [i for i in before.item_ids if not now.has_item(i)]
        only_now = [i for i in now.item_ids if not before.has_item(i)]
        left_out = [f"{', '.join(only_before)} only in {before.version}"] if only_before else []
        left_out += [f"{', '.join(only_now)} only in {now.version}"] if only_now else []
        note = f"{now.id} {before.version} and {now.version} compared on the {len(shared)} items they share"
        note += f" ({'; '.join(left_out)})" if left_out else ""
        note += f": {dates}."
    unrated = len(shared) - compared
    if unrated:
        note += f" {unrated} of these items {'was' if unrated == 1 else 'were'} not rated on both reviews."
    return note


def _distribution(programs: pd.DataFrame, scales_newest_first: list[Scale]) -> pd.DataFrame:
    labels = list(dict.fromkeys(b.label for s in scales_newest_first for b in s.scoring.bands))
    counts = programs["band"].value_counts()
    frame = pd.DataFrame(
        {
            "band": pd.Series(labels, dtype=object),
            "band_level": np.arange(len(labels), dtype="int64"),
            "programs": [int(counts.get(label, 0)) for label in labels],
        }
    )
    unbanded = int(programs["band"].isna().sum())
    if unbanded:
        extra = pd.DataFrame(
            {"band": pd.Series([None], dtype=object), "band_level": [-1], "programs": [unbanded]}
        )
        frame = pd.concat([frame, extra], ignore_index=True)
    frame["band_level"] = pd.array(frame["band_level"].where(frame["band_level"] >= 0), dtype="Int64")
    total = int(frame["programs"].sum())
    frame["share"] = frame["programs"] / total if total else np.nan
    return frame


def _item_means(rows: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    rated = rows.loc[rows["rating"].notna()]
    grouped = rated.groupby("item_id")["rating"]
    stats = pd.DataFrame(
        {
            "mean": grouped.sum().astype("float64") / grouped.count(),
            "n": grouped.count(),
            "low": (rated["rating"] < LOW_RATING).groupby(rated["item_id"]).sum(),
        }
    ).reindex(items.index)
    out = items.loc[:, ["item_name", "subscale"]].copy()
    out["mean"] = stats["mean"].astype("float64")
    out["n"] = stats["n"].fillna(0).astype("int64")
    out["low"] = stats["low"].fillna(0).astype("int64")
    out["_pos"] = np.arange(len(out))
    out = out.rename_axis("item_id").reset_index()
    out = out.sort_values(["mean", "_pos"], na_position="last", kind="stable")
    return out.loc[:, list(_ITEM_MEAN_COLUMNS)].reset_index(drop=True)


def _empty_overview(scale_id: str, registry: ScaleRegistry) -> AgencyOverview:
    try:
        scales = [registry.get(scale_id)]
    except LookupError:
        scales = []
    empty_programs = _empty(("rank", *_TOTAL_COLUMNS))
    return AgencyOverview(
        scale_id=scale_id,
        programs=empty_programs,
        distribution=_distribution(_empty(("band",)), scales),
        item_means=_empty(_ITEM_MEAN_COLUMNS),
        item_matrix=pd.DataFrame(dtype="Int64"),
        below_full=empty_programs.copy(),
        versions=(),
        shared_items=(),
        note=f"No finalized {scale_id} reviews match the filters.",
    )
